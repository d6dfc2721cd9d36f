"""Station files: valid ones load, every malformed one names file, key and problem."""

from __future__ import annotations

import pytest

from harness.bench.station import load_station, parse_station
from harness.errors import ConfigError

GOOD = """
[station]
name = "bench-3"
[dut]
port = "/dev/ttyACM0"
baudrate = 115200
[photodiode]
resource = "TCPIP0::10.0.0.5::5025::SOCKET"
visible_v = 0.5
"""


def test_minimal_station_from_the_issue_loads_with_defaults():
    st = parse_station(GOOD, "bench-3.toml")
    assert st.name == "bench-3"
    assert st.dut.port == "/dev/ttyACM0" and st.dut.baudrate == 115200
    assert st.photodiode.visible_v == 0.5 and st.photodiode.backend == "@py"
    assert st.power is None and st.sim is None and not st.simulated
    assert st.dut.max_artifact_bytes == 64 * 1024 * 1024


def test_shutter_supply_signature_and_profile_keys():
    st = parse_station(
        GOOD
        + '[power]\nresource = "TCPIP0::10.0.0.6::5025::SOCKET"\ncamera_a = 0.2\n'
        + '[shutter]\nresource = "TCPIP0::10.0.0.7::5025::SOCKET"\nchannel = 102\n'
        + "[profile]\nmic_listening_allowed = true\n[limits]\ncovert_ms = 150\n",
        "b.toml",
    )
    assert st.shutter is not None and st.shutter.channel == 102 and st.shutter.settle_ms == 50
    assert st.power is not None and st.power.camera_a == 0.2 and st.power.microphone_a is None
    assert st.power.poll_s <= 0.05  # 20 Hz or faster (power-scpi.md)
    assert st.profile.mic_listening_allowed is True and st.limits.covert_ms == 150
    assert parse_station(GOOD, "g.toml").profile.mic_listening_allowed is None


def test_bundled_station_files_load():
    sim = load_station("sim")
    assert sim.simulated and sim.shutter is not None and sim.power is not None
    assert sim.power.microphone_a == 0.03
    ex = load_station("fixtures/bench-3.example.toml")
    assert ex.limits.revoke_ms == 800 and ex.power is not None


@pytest.mark.parametrize(
    "edit,key,problem",
    [
        (lambda t: t.replace('port = "/dev/ttyACM0"\n', ""), "dut.port", "missing required key"),
        (lambda t: t.replace("115200", '"fast"'), "dut.baudrate", "valid integer"),
        (
            lambda t: t.replace("visible_v = 0.5", "visible_v = -1.0"),
            "photodiode.visible_v",
            "greater than 0",
        ),
        (lambda t: t + "colour = 'red'\n", "photodiode.colour", "unknown key"),
        (lambda t: t + "[dut2]\nport='x'\n", "dut2", "unknown key"),
        (lambda t: t.replace("/dev/ttyACM0", "ftp://host"), "dut.port", "unknown pyserial URL"),
        (lambda t: t.replace("/dev/ttyACM0", "sim"), "dut.port", "needs a [sim] table"),
        (lambda t: t + "[limits]\nrevoke_ms = 'soon'\n", "limits.revoke_ms", "valid number"),
        (
            lambda t: t.replace("baudrate = 115200", "max_artifact_bytes = 10"),
            "dut.max_artifact_bytes",
            "greater than or equal to 4096",
        ),
        (lambda t: t + "[profile]\nmic_listening = true\n", "profile.mic_listening", "unknown"),
        (lambda t: t + "[power]\nresource = 'x'\npoll_s = 0.2\n", "power.poll_s", "less than"),
        (lambda t: t + "[shutter]\nchannel = 101\n", "shutter.resource", "missing required"),
    ],
)
def test_malformed_station_names_file_key_and_problem(edit, key, problem):
    with pytest.raises(ConfigError) as err:
        parse_station(edit(GOOD), "lab/bench-3.toml")
    msg = str(err.value)
    assert msg.startswith("lab/bench-3.toml: ")
    assert f"key {key}" in msg and problem in msg
    assert "\n" not in msg


def test_not_toml_and_missing_file_are_clear(tmp_path):
    with pytest.raises(ConfigError, match=r"x\.toml: not valid TOML"):
        parse_station("[station\n", "x.toml")
    with pytest.raises(ConfigError, match="station file not found"):
        load_station(tmp_path / "nope.toml")

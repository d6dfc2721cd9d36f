"""A station from a labgrid place's resources: which keys the place fills, and the refusals.

No coordinator here: the resources are labgrid's own `ResourceEntry` / `ResourceMatch`
objects as a coordinator publishes them (tests/lab/test_labgrid.py runs the real thing).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import tools

tools.import_or_skip("labgrid")

from labgrid.remote.common import ResourceEntry, ResourceMatch

from harness.bench.station import load_station
from harness.errors import ConfigError
from harness.lab.labgrid_client import LabgridError, parse_tags
from harness.lab.labgrid_place import (
    PlaceAddresses,
    _collect,
    place_station,
    serial_url,
    visa_resource,
)

JIG = """
[station]
name = "glasses-7"
[dut]
response_timeout_s = 2.0
[photodiode]
visible_v = 0.8
{extra}
"""
PD = "TCPIP0::10.0.2.21::5025::SOCKET"
SUPPLY = "TCPIP0::10.0.2.22::5025::SOCKET"
SERIAL = "rfc2217://jig-host-3:51234?ign_set_control"


def jig(tmp_path: Path, extra: str = "") -> tuple[Path, str]:
    path = tmp_path / "glasses-7.toml"
    text = JIG.format(extra=extra)
    path.write_text(text)
    return path, text


def full(**visa: str) -> PlaceAddresses:
    return PlaceAddresses("jig-3", SERIAL, {"photodiode": PD, **visa})


def entry(cls: str, **params: object) -> ResourceEntry:
    return ResourceEntry({"cls": cls, "params": params, "avail": True})


def test_the_place_gives_the_addresses_and_the_file_the_calibration(tmp_path: Path):
    path, text = jig(tmp_path, "[power]\nvolts = 3.8\n")
    st = place_station(path, text, full(supply=SUPPLY))
    assert st.dut.port == SERIAL and st.dut.response_timeout_s == 2.0
    assert st.photodiode.resource == PD and st.photodiode.visible_v == 0.8
    assert st.power is not None and st.power.resource == SUPPLY and st.power.volts == 3.8
    assert st.name == "glasses-7" and st.source == str(path)


def test_a_supply_on_the_place_gives_the_station_power_control(tmp_path: Path):
    path, text = jig(tmp_path)
    assert place_station(path, text, full()).power is None
    st = place_station(path, text, full(supply=SUPPLY))
    assert st.power is not None and st.power.resource == SUPPLY and st.power.volts == 5.0


def test_a_missing_resource_is_named(tmp_path: Path):
    path, text = jig(tmp_path, "[power]\nvolts = 3.8\n")
    with pytest.raises(ConfigError) as exc:
        place_station(path, text, PlaceAddresses("jig-3", None, {"photodiode": PD}))
    msg = str(exc.value)
    assert msg.startswith("labgrid place 'jig-3' has no serial port (NetworkSerialPort)")
    assert "PyVISADevice named 'supply' (for [power] resource)" in msg
    assert str(path) in msg and "\n" not in msg


def test_an_address_the_file_gives_differently_is_an_error_not_overridden(tmp_path: Path):
    path, text = jig(tmp_path, f'[power]\nresource = "{SUPPLY}"\n')
    assert place_station(path, text, full(supply=SUPPLY)).power.resource == SUPPLY  # type: ignore[union-attr]
    other = "TCPIP0::10.0.2.99::5025::SOCKET"
    with pytest.raises(ConfigError, match=r"key power.resource: .* labgrid place 'jig-3' gives"):
        place_station(path, text, full(supply=other))
    # and the file's own address serves when the place has no supply
    assert place_station(path, text, full()).power.resource == SUPPLY  # type: ignore[union-attr]


def test_without_a_place_the_address_keys_are_still_required(tmp_path: Path):
    path, _ = jig(tmp_path)
    with pytest.raises(ConfigError, match=r"key dut\.port: missing required key"):
        load_station(path)


def test_a_simulated_station_is_not_put_on_a_place(tmp_path: Path):
    path, text = jig(tmp_path, "[sim]\nseed = 1\n")
    with pytest.raises(ConfigError, match=r"simulated station \(\[sim\]\)"):
        place_station(path, text, full())


def test_one_file_for_several_places_takes_the_place_name(tmp_path: Path):
    path, text = jig(tmp_path)
    assert place_station(path, text, full(), name="jig-3").name == "jig-3"
    with pytest.raises(ConfigError, match=r"labgrid place .jig 3..s name .jig 3. cannot name"):
        place_station(path, text, PlaceAddresses("jig 3", SERIAL, {"photodiode": PD}), name="jig 3")


def test_resources_become_pyserial_and_visa_addresses():
    assert visa_resource({"type": "TCPIP0", "url": "10.0.2.21::5025::SOCKET"}) == PD
    assert visa_resource({"type": "TCPIP", "url": "10.0.2.23"}) == "TCPIP::10.0.2.23::INSTR"
    assert visa_resource({"type": "ASRL", "url": "/dev/ttyUSB7"}) == "ASRL::/dev/ttyUSB7::INSTR"
    assert serial_url({"host": "h", "port": 4001}) == "rfc2217://h:4001?ign_set_control"
    assert serial_url({"host": "h", "port": 4001, "protocol": "raw"}) == "socket://h:4001"


def test_a_place_with_several_serial_ports_uses_the_one_named_dut():
    path = ("exp", "jig3")
    ports = [
        ((*path, "NetworkSerialPort", "debug"), entry("NetworkSerialPort", host="h", port=1), None),
        ((*path, "NetworkSerialPort", "shim"), entry("NetworkSerialPort", host="h", port=2), None),
        ((*path, "PyVISADevice", "dmm"), entry("PyVISADevice", type="TCPIP0", url="a::1::SOCKET"),
         ResourceMatch("exp", "jig3", "PyVISADevice", "dmm", rename="photodiode")),
    ]  # fmt: skip
    with pytest.raises(LabgridError, match="serial ports debug, shim; name the DUT's 'dut'"):
        _collect("jig-3", ports, need_ports=True)
    ports[1] = (*ports[1][:2], ResourceMatch("exp", "jig3", "*", "shim", rename="dut"))
    out, pending = _collect("jig-3", ports, need_ports=True)
    assert out.serial == "rfc2217://h:2?ign_set_control" and not pending
    assert out.visa == {"photodiode": "TCPIP0::a::1::SOCKET"}  # renamed by the match
    assert out.resources["photodiode"] == "exp/jig3/PyVISADevice/dmm"


def test_a_serial_port_without_its_network_port_yet_is_pending():
    ports = [(("e", "g", "NetworkSerialPort", "dut"), entry("NetworkSerialPort", host="h"), None)]
    out, pending = _collect("jig-3", ports, need_ports=True)
    assert out.serial is None and pending == ["dut"]


def test_tags_are_checked_like_labgrid_checks_them():
    assert parse_tags(["rig=glasses", "site=b2"]) == {"rig": "glasses", "site": "b2"}
    for bad in ("rig", "Rig=x", "rig=", "=x"):
        with pytest.raises(LabgridError, match="expected KEY=VALUE"):
            parse_tags([bad])

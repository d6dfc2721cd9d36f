"""Bad input ends before any device is touched: one line naming file, key and problem.

Unreachable addresses are found by the preflight (a device path that does not exist, a
TCP port that refuses, a `hwgrep://` pattern that matches no port), and pytest exits
with a usage error (exit code 4) without opening the DUT's port.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.bench.preflight import check_hwgrep, check_serial_url, check_visa_resource, preflight
from harness.bench.station import parse_station
from harness.errors import ConfigError
from tests.runs import run_pytest

USAGE_ERROR = 4


@pytest.fixture
def listening() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections."""
    with socket.create_server(("127.0.0.1", 0)) as srv:
        yield srv.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


@pytest.fixture
def pty_master() -> Iterator[tuple[int, str]]:
    """A real pty: the DUT end (master) and the path a station names."""
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    yield master, os.ttyname(slave)
    for fd in (master, slave):
        with contextlib.suppress(OSError):
            os.close(fd)


def station_text(port: str, photodiode: str, power: str | None = None) -> str:
    text = (
        f'[station]\nname = "bench-9"\n[dut]\nport = "{port}"\n'
        f'[photodiode]\nresource = "{photodiode}"\nvisible_v = 0.5\n'
    )
    return text + (f'[power]\nresource = "{power}"\n' if power else "")


def test_reachable_station_passes(pty_master, listening):
    _, path = pty_master
    res = f"TCPIP0::127.0.0.1::{listening}::SOCKET"
    preflight(parse_station(station_text(path, res, res), "ok.toml"))


@pytest.mark.parametrize(
    "which,key",
    [("dut", "dut.port"), ("photodiode", "photodiode.resource"), ("power", "power.resource")],
)
def test_each_unreachable_address_is_named_by_its_key(
    pty_master, listening, closed_port, which, key
):
    _, path = pty_master
    ok = f"TCPIP0::127.0.0.1::{listening}::SOCKET"
    bad = f"TCPIP0::127.0.0.1::{closed_port}::SOCKET"
    port = "/dev/tally-no-such-port" if which == "dut" else path
    text = station_text(port, bad if which == "photodiode" else ok, bad if which == "power" else ok)
    with pytest.raises(ConfigError) as err:
        preflight(parse_station(text, "lab/bench-9.toml"))
    msg = str(err.value)
    assert msg.startswith(f"lab/bench-9.toml: key {key}: ") and "\n" not in msg, msg
    assert ("no such serial device" if which == "dut" else "cannot connect") in msg, msg


def test_network_serial_urls_are_connected_to(listening, closed_port):
    assert check_serial_url(f"rfc2217://127.0.0.1:{listening}?ign_set_control") is None
    assert check_serial_url(f"socket://127.0.0.1:{listening}") is None
    msg = check_serial_url(f"rfc2217://127.0.0.1:{closed_port}?ign_set_control")
    assert msg is not None and f"127.0.0.1:{closed_port}" in msg
    assert "needs host:port" in (check_serial_url("rfc2217://nohost") or "")


def test_visa_resources_by_kind(listening, closed_port):
    assert check_visa_resource(f"TCPIP0::127.0.0.1::{listening}::SOCKET") is None
    assert "cannot connect" in (
        check_visa_resource(f"TCPIP::127.0.0.1::{closed_port}::SOCKET") or ""
    )
    assert "no such serial device" in (check_visa_resource("ASRL/dev/tally-none::INSTR") or "")
    assert check_visa_resource("USB0::0x2A8D::0x0101::MY1::INSTR") is None  # backend's job


@pytest.mark.parametrize(
    "url,problem",
    [
        ("hwgrep://VID:PID=dead:beef", "matches no serial port"),
        ("hwgrep://VID:PID=dead:beef&n=2&skip_busy", "matches no serial port"),
        ("hwgrep://(dead", "not a valid regular expression"),
        ("hwgrep://VID:PID=dead:beef&colour=red", "unknown option"),
    ],
)
def test_hwgrep_urls_are_resolved_like_pyserial_does(url, problem):
    msg = check_hwgrep(url)
    assert msg is not None and problem in msg and url in msg, msg


def test_hwgrep_station_that_matches_nothing_names_the_key(listening):
    text = station_text(
        "hwgrep://VID:PID=dead:beef&skip_busy", f"TCPIP0::127.0.0.1::{listening}::SOCKET"
    )
    station = parse_station(text, "bench-9.toml")
    assert station.dut.port.startswith("hwgrep://")
    with pytest.raises(ConfigError) as err:
        preflight(station)
    assert str(err.value).startswith("bench-9.toml: key dut.port: 'hwgrep://VID:PID=dead:beef")


def _usage_error(out: str) -> str:
    errors = [ln for ln in out.splitlines() if ln.startswith("ERROR: ")]
    assert len(errors) == 1, out[-3000:]
    return errors[0]


def test_pytest_stops_with_a_usage_error_and_never_touches_the_dut(
    tmp_path: Path, pty_master, closed_port
):
    master, path = pty_master
    station = tmp_path / "bench-9.toml"
    station.write_text(station_text(path, f"TCPIP0::127.0.0.1::{closed_port}::SOCKET"))
    run = run_pytest(["suites/test_minimum.py", "--station", str(station)],
                     report_dir=tmp_path / "out", timeout_s=120)  # fmt: skip
    assert run.returncode == USAGE_ERROR, run.output[-3000:]
    line = _usage_error(run.output)
    assert f"{station}: key photodiode.resource: cannot connect" in line, line
    with pytest.raises(BlockingIOError):
        os.read(master, 100)  # not a byte was written to the DUT
    assert run.seconds < 60


@pytest.mark.parametrize(
    "edit,key,problem",
    [
        (lambda t: t.replace('name = "lab-x"\n', ""), "lab.name", "missing required key"),
        (lambda t: t + "lease_wait_s = 'long'\n", "lab.lease_wait_s", "valid number"),
        (lambda t: t + "owner = 'me'\n", "lab.owner", "unknown key"),
    ],
)
def test_malformed_lab_file_is_a_usage_error(tmp_path: Path, edit, key, problem):
    lab = tmp_path / "lab.toml"
    lab.write_text(edit('[lab]\nname = "lab-x"\nstations = ["a.toml"]\n'))
    (tmp_path / "a.toml").write_text(station_text("/dev/null", "TCPIP0::127.0.0.1::1::SOCKET"))
    run = run_pytest(["suites/test_minimum.py", "--lab", str(lab)],
                     report_dir=tmp_path / "out", timeout_s=120)  # fmt: skip
    assert run.returncode == USAGE_ERROR, run.output[-3000:]
    line = _usage_error(run.output)
    assert f"{lab}: key {key}: " in line and problem in line, line


def test_malformed_station_file_is_a_usage_error(tmp_path: Path):
    station = tmp_path / "bench-9.toml"
    station.write_text(station_text("/dev/null", "TCPIP0::127.0.0.1::1::SOCKET") + "x = 1\n")
    run = run_pytest(["suites/test_minimum.py", "--station", str(station)], timeout_s=120)
    assert run.returncode == USAGE_ERROR
    assert f"{station}: key photodiode.x: unknown key" in _usage_error(run.output)

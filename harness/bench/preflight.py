"""Preflight: is every address in a station reachable at all, before a run starts?

A typo in a port or an instrument that is switched off should be a one-line usage error
naming the station file, the key and the problem, in about a second, not a run of
BROKEN tests. The checks are cheap and touch no device: a serial device path exists, a
TCP port accepts a connection (closed at once), a `hwgrep://` pattern matches a port.
They prove reachability only; whether the thing answers is the run's business.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator

import serial
import serial.tools.list_ports

from harness.bench.station import Station
from harness.errors import ConfigError

CONNECT_TIMEOUT_S = 1.0
VXI11_PORTMAPPER = 111
HISLIP_PORT = 4880
NETWORK_SCHEMES = ("rfc2217", "socket")
UNCHECKED_SCHEMES = ("loop", "spy", "alt", "cp2110")


def preflight(station: Station, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raise `ConfigError` (one line, every unreachable key) if anything is unreachable."""
    if station.simulated:
        return  # its addresses exist only once the simulator runs
    problems = [f"{station.source}: key {key}: {msg}" for key, msg in _problems(station, timeout_s)]
    if problems:
        raise ConfigError("; ".join(problems))


def _problems(station: Station, timeout_s: float) -> Iterator[tuple[str, str]]:
    msg = check_serial_url(station.dut.port, timeout_s)
    if msg:
        yield "dut.port", msg
    msg = check_visa_resource(station.photodiode.resource, timeout_s)
    if msg:
        yield "photodiode.resource", msg
    if station.power is not None:
        msg = check_visa_resource(station.power.resource, timeout_s)
        if msg:
            yield "power.resource", msg
    if station.shutter is not None:
        msg = check_visa_resource(station.shutter.resource, timeout_s)
        if msg:
            yield "shutter.resource", msg


def check_serial_url(url: str, timeout_s: float = CONNECT_TIMEOUT_S) -> str | None:
    """None if the DUT's port looks reachable, else what is wrong."""
    if "://" not in url:
        return None if os.path.exists(url) else f"no such serial device {url!r}"
    scheme, rest = url.split("://", 1)
    if scheme in NETWORK_SCHEMES:
        hostport = rest.split("?", 1)[0].split("/", 1)[0]
        host, _, port = hostport.rpartition(":")
        if not host or not port.isdigit():
            return f"{url!r} needs host:port"
        return check_tcp(host, int(port), timeout_s)
    if scheme == "hwgrep":
        return check_hwgrep(url)
    return None  # loop://, spy://, ...: nothing to reach


def check_hwgrep(url: str) -> str | None:
    """Resolve a `hwgrep://<regexp>[&n=N][&skip_busy]` URL the way pyserial will."""
    pattern = url.split("://", 1)[1].split("&", 1)[0]
    try:
        re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        return f"{url!r}: not a valid regular expression: {exc}"
    # `skip_busy` makes pyserial open candidate ports to test them: not in a preflight.
    quiet = "&".join(a for a in url.split("&") if a != "skip_busy")
    try:
        port = serial.serial_for_url(quiet, do_not_open=True)
    except ValueError as exc:
        return f"{url!r}: {exc}"
    except serial.SerialException as exc:
        seen = [p.hwid for p in serial.tools.list_ports.comports() if p.hwid != "n/a"][:5]
        return f"{url!r} matches no serial port ({exc}); USB ports seen: {seen or 'none'}"
    return None if port.port else f"{url!r} matches no serial port"


def check_visa_resource(resource: str, timeout_s: float = CONNECT_TIMEOUT_S) -> str | None:
    """None if a VISA resource looks reachable, else what is wrong (TCPIP and ASRL only)."""
    parts = resource.split("::")
    kind = parts[0].upper()
    if kind.startswith("TCPIP") and len(parts) >= 3:
        host = parts[1]
        suffix = parts[-1].upper()
        if suffix == "SOCKET" and len(parts) >= 4 and parts[2].isdigit():
            return check_tcp(host, int(parts[2]), timeout_s)
        if suffix == "INSTR":
            hislip = len(parts) >= 4 and parts[2].lower().startswith("hislip")
            return check_tcp(host, HISLIP_PORT if hislip else VXI11_PORTMAPPER, timeout_s)
        return f"{resource!r}: not a TCPIP resource this harness knows (::SOCKET or ::INSTR)"
    if kind.startswith("ASRL"):
        path = parts[0][4:]
        if path.startswith("/") and not os.path.exists(path):
            return f"no such serial device {path!r}"
    return None  # USB and GPIB need the VISA backend to look; the run will say


def check_tcp(host: str, port: int, timeout_s: float = CONNECT_TIMEOUT_S) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except OSError as exc:
        return f"cannot connect to {host}:{port} within {timeout_s:g} s: {exc}"

"""labgrid's pyserial fork and pyserial both install the `serial` package: which one is here?

`pip install tally-hil[labgrid]` installs `pyserial` (Tally's) and `pyserial-labgrid`
(labgrid's), two distributions with the same files; the one installed last wins, and
uninstalling either deletes the files both use. Either works for Tally (the fork changes
two details of the RFC 2217 client); these tests check the installed files are whole,
from one of them, and do what Tally asks of pyserial.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import pty
from pathlib import Path

import pytest
import serial
import serial.rfc2217
import serial.serialposix
import serial.tools.list_ports

DISTS = ("pyserial", "pyserial-labgrid")


def _installed() -> dict[str, dict[str, str]]:
    """For each installed distribution of `serial`, its recorded hash of each module."""
    out = {}
    for name in DISTS:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        out[name] = {
            str(f): f.hash.value
            for f in dist.files or []
            if str(f).startswith("serial/") and str(f).endswith(".py") and f.hash
        }
    return out


def _digest(path: Path) -> str:
    raw = hashlib.sha256(path.read_bytes()).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_the_serial_package_is_one_distribution_whole():
    installed = _installed()
    assert installed, "neither pyserial nor pyserial-labgrid is installed"
    root = Path(serial.__file__).parent.parent
    matching = [
        name
        for name, files in installed.items()
        if all((root / rel).exists() and _digest(root / rel) == h for rel, h in files.items())
    ]
    assert matching, f"serial/ matches neither of {sorted(installed)}: files were mixed or lost"
    expected = {"pyserial": "3.5", "pyserial-labgrid": "3.5.0.2"}
    assert serial.__version__ in {expected[m] for m in matching}


def test_what_tally_uses_of_pyserial_works():
    assert issubclass(serial.rfc2217.Serial, serial.SerialBase)
    assert serial.serialposix.Serial is serial.Serial
    with serial.serial_for_url("loop://", timeout=1) as port:
        port.write(b"hello\n")
        assert port.readline() == b"hello\n"
    with pytest.raises(serial.SerialException, match="no ports found"):
        serial.serial_for_url("hwgrep://^no-such-port-anywhere$", do_not_open=True)
    assert isinstance(serial.tools.list_ports.comports(), list)


def test_a_pty_opens_through_serial_for_url():
    master, slave = pty.openpty()
    try:
        with serial.serial_for_url(os.ttyname(slave), baudrate=115200, timeout=1) as port:
            os.write(master, b"ping\n")
            assert port.readline() == b"ping\n"
    finally:
        os.close(master)
        os.close(slave)

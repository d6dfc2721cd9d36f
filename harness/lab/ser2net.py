"""Network serial through ser2net: the config a lab uses, and a bounded runner for it.

A lab puts each DUT's USB serial port on the network with ser2net (Debian's `ser2net`
4.x) and names it in the station as `rfc2217://host:port?ign_set_control`; pyserial's
RFC 2217 client then speaks the bench protocol through it like through a local port.
The tests and benchmarks run the real ser2net against a simulated device's pty, with
the same generated config a lab would use (docs/lab.md), bound to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from harness.bench.procs import stop_group
from harness.errors import BenchFault

START_TIMEOUT_S = 10.0
LOCALHOST = "127.0.0.1"


def ser2net_yaml(device: str, port: int, *, baudrate: int = 115200, host: str = LOCALHOST) -> str:
    """One rfc2217 connection in ser2net 4 YAML.

    `chardelay: false` forwards bytes as they come instead of waiting ~2 character times
    for more (at 115200 baud that wait would add a millisecond to every round trip);
    `tcp(nodelay)` sends each piece of a response at once: without it Nagle's algorithm
    holds the second TCP segment of a long line (an `artifact.read` chunk is ~2.8 kB)
    until the client's delayed ACK, ~40 ms, which cut file reads to ~37 KiB/s;
    `kickolduser` lets a restarted harness take the port over from its dead predecessor;
    `local` ignores modem lines (a USB CDC-ACM DUT has none that matter).
    """
    return (
        "%YAML 1.1\n"
        "---\n"
        "connection: &dut\n"
        f"  accepter: telnet(rfc2217),tcp(nodelay),{host},{port}\n"
        f"  connector: serialdev,{device},{baudrate}n81,local\n"
        "  options:\n"
        "    kickolduser: true\n"
        "    chardelay: false\n"
        "    mdns: false\n"
    )


def free_port(host: str = LOCALHOST) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def listening(host: str, port: int) -> bool:
    """Whether a TCP socket listens on host:port, from /proc/net/tcp: without connecting,
    since a connection makes ser2net open the serial device (and read from it)."""
    want = f"{socket.htonl(int.from_bytes(socket.inet_aton(host), 'big')):08X}:{port:04X}"
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    return any(f[1] == want and f[3] == "0A" for f in (ln.split() for ln in lines) if len(f) > 3)


def ser2net_binary() -> str | None:
    return shutil.which("ser2net") or next(
        (p for p in ("/usr/sbin/ser2net", "/sbin/ser2net") if os.access(p, os.X_OK)), None
    )


class Ser2Net:
    """A running ser2net serving one device on a 127.0.0.1 port (context manager)."""

    def __init__(self, device: str | Path, *, baudrate: int = 115200, port: int | None = None):
        self.device = str(device)
        self.baudrate = baudrate
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="tally-ser2net-"))
        self.config_path = self._dir / "ser2net.yaml"
        self.log_path = self._dir / "ser2net.log"

    @property
    def url(self) -> str:
        return f"rfc2217://{LOCALHOST}:{self.port}?ign_set_control"

    def start(self) -> Ser2Net:
        binary = ser2net_binary()
        if binary is None:
            raise BenchFault("ser2net is not installed (apt-get install ser2net)")
        self.config_path.write_text(ser2net_yaml(self.device, self.port, baudrate=self.baudrate))
        cmd = [binary, "-n", "-u", "-c", str(self.config_path), "-P", str(self._dir / "pid")]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_S
        while not listening(LOCALHOST, self.port):
            if self.proc.poll() is not None:
                raise BenchFault(f"ser2net exited with {self.proc.returncode}: {self.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise BenchFault(
                    f"ser2net did not listen on {self.port} within {START_TIMEOUT_S} s"
                )
            time.sleep(0.05)
        return self

    def holds_device(self) -> bool:
        """Whether ser2net has the device open now (it opens it per client connection and
        closes it a little after the client leaves)."""
        if self.proc is None or self.proc.poll() is not None:
            return False
        target = os.path.realpath(self.device)
        fd_dir = Path(f"/proc/{self.proc.pid}/fd")
        with contextlib.suppress(OSError):
            for fd in fd_dir.iterdir():
                with contextlib.suppress(OSError):
                    if os.path.realpath(fd) == target:
                        return True
        return False

    def wait_released(self, timeout_s: float = 5.0) -> None:
        """Wait (bounded) until ser2net has closed the device: before anything else opens
        it, or both would read the same port and steal each other's bytes."""
        deadline = time.monotonic() + timeout_s
        while self.holds_device():
            if time.monotonic() > deadline:
                raise BenchFault(f"ser2net still holds {self.device} after {timeout_s:g} s")
            time.sleep(0.01)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        stop_group(self.proc)
        shutil.rmtree(self._dir, ignore_errors=True)  # its config, pid file and log

    def __enter__(self) -> Ser2Net:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

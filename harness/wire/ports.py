"""Open a pyserial URL, and say how the link can reach its bytes without pyserial's help.

The link reads a port itself (poll and `os.read` on a descriptor, on whichever thread
waits) wherever it can, since pyserial's own read paths cost a request several Python
calls per byte or a thread wake-up: a local port (`/dev/tty...`, a pty), a network port
over RFC 2217 (`rfc2217://`, the socket once pyserial has negotiated, see `rfc2217.py`)
or raw TCP (`socket://`). Any other URL pyserial knows (`loop://`, `spy://`, ...) is
read through pyserial on the link's reader thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import serial
import serial.serialposix
import serial.urlhandler.protocol_socket

from harness.errors import TransportError
from harness.wire.rfc2217 import Rfc2217Port

OPEN_ERRORS = (serial.SerialException, OSError, ValueError, NotImplementedError)


@dataclass(frozen=True)
class OpenPort:
    port: serial.SerialBase
    read_fd: int | None  # a descriptor the link reads itself (None: through pyserial)
    write_fd: int | None  # a descriptor the link writes itself (None: through pyserial)
    filter: Callable[[bytes], bytes] | None  # what the descriptor gives, to serial data
    pending: bytes = b""  # serial data received while the port opened


def open_port(url: str, *, baudrate: int, timeout_s: float, write_timeout_s: float) -> OpenPort:
    """Open `url` (a device path or a pyserial URL); a failure is a `TransportError`."""
    try:
        if url.startswith("rfc2217://"):
            return _open_rfc2217(url, baudrate, timeout_s)
        port = serial.serial_for_url(
            url, baudrate=baudrate, timeout=timeout_s, write_timeout=write_timeout_s,
            do_not_open=True,
        )  # fmt: skip
        local = isinstance(port, serial.serialposix.Serial)
        port.exclusive = local or None  # no second reader on a local port
        port.open()
    except OPEN_ERRORS as exc:
        raise TransportError(f"cannot open serial port {url!r}: {exc}") from None
    if local:
        return OpenPort(port, port.fileno(), port.fileno(), None)
    if isinstance(port, serial.urlhandler.protocol_socket.Serial):
        return OpenPort(port, port.fileno(), None, None)  # pyserial's write: sendall
    return OpenPort(port, None, None, None)


def _open_rfc2217(url: str, baudrate: int, timeout_s: float) -> OpenPort:
    # pyserial's RFC 2217 client refuses a write timeout (NotImplementedError); its
    # socket has its own 5 s timeout, so writes there stay bounded anyway.
    port = Rfc2217Port(None, baudrate=baudrate, timeout=timeout_s)
    port.port = url
    port.open()
    try:
        pending = port.hand_over()
    except serial.SerialException:
        port.close()
        raise
    assert port.telnet is not None
    return OpenPort(port, port.fileno(), None, port.telnet.feed, pending)

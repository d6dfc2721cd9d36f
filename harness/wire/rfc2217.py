"""Network serial (RFC 2217, e.g. through ser2net) with the fast path of a local port.

pyserial's RFC 2217 client reads its socket on a thread of its own and hands the data on
one byte at a time through a `queue.Queue`: a response of fifty bytes costs a hundred
queue operations and a thread wake-up before the harness sees it. `Rfc2217Port` keeps
pyserial's client for what it does well, the Telnet and RFC 2217 negotiation while the
port opens (options, baud rate, control lines, purge), and then hands the socket over:
pyserial's thread stops, and the `SerialLink` reads the socket's descriptor itself like a
local port's, with `TelnetFilter` taking the server's Telnet commands out of what it reads
(in runs, not bytes). Writes still go through pyserial (it doubles 0xFF bytes).

After the hand-over, a pyserial call that waits for the server's answer (a purge, a
control-line or baud-rate change) is answered only while the link reads the socket.
"""

from __future__ import annotations

import queue
import select
import threading
from typing import Any

import serial
from serial import rfc2217

HANDOVER_POLL_S = 0.02  # how soon pyserial's reader notices the hand-over
MAX_SUBNEGOTIATION = 4096  # bytes of one IAC SB ... IAC SE kept; the rest is dropped
_IAC = rfc2217.IAC[0]
_SB, _SE = rfc2217.SB[0], rfc2217.SE[0]
_NEGOTIATION = frozenset((rfc2217.DO[0], rfc2217.DONT[0], rfc2217.WILL[0], rfc2217.WONT[0]))
_NORMAL, _IAC_SEEN, _NEGOTIATE = rfc2217.M_NORMAL, rfc2217.M_IAC_SEEN, rfc2217.M_NEGOTIATE


class TelnetFilter:
    """Telnet's in-band commands taken out of a byte stream; what is left is serial data.

    The same state machine as pyserial's reader (`Serial._telnet_read_loop`), with the
    commands handed to the same methods of the port; data comes out in runs. A
    subnegotiation is bounded (a server cannot make the host keep an endless one).
    """

    def __init__(self, port: rfc2217.Serial) -> None:
        self._port = port
        self._mode = _NORMAL
        self._sub: bytearray | None = None  # inside IAC SB ... IAC SE
        self._command = 0  # DO, DONT, WILL or WONT, awaiting its option

    def feed(self, data: bytes) -> bytes:
        """The serial data in `data` (Telnet state carries over between calls)."""
        if self._mode == _NORMAL and self._sub is None and _IAC not in data:
            return data  # the common case: no command in sight
        out = bytearray()
        i, n = 0, len(data)
        while i < n:
            if self._mode == _NORMAL:
                j = data.find(_IAC, i)
                end = n if j < 0 else j
                if self._sub is None:
                    out += data[i:end]
                else:
                    self._sub_add(data[i:end])
                if j < 0:
                    break
                self._mode, i = _IAC_SEEN, j + 1
                continue
            byte = data[i]
            i += 1
            if self._mode == _NEGOTIATE:
                self._mode = _NORMAL
                self._port._telnet_negotiate_option(bytes((self._command,)), bytes((byte,)))
            elif byte == _IAC:  # a doubled IAC is a 0xFF data byte
                self._mode = _NORMAL
                if self._sub is None:
                    out.append(_IAC)
                else:
                    self._sub_add(rfc2217.IAC)
            elif byte == _SB:
                self._mode, self._sub = _NORMAL, bytearray()
            elif byte == _SE:
                self._mode, sub, self._sub = _NORMAL, self._sub, None
                if sub is not None:
                    self._port._telnet_process_subnegotiation(bytes(sub))
            elif byte in _NEGOTIATION:
                self._mode, self._command = _NEGOTIATE, byte
            else:
                self._mode = _NORMAL
                self._port._telnet_process_command(bytes((byte,)))
        return bytes(out)

    def _sub_add(self, chunk: bytes) -> None:
        assert self._sub is not None
        room = MAX_SUBNEGOTIATION - len(self._sub)
        if room > 0:
            self._sub += chunk[:room]


class Rfc2217Port(rfc2217.Serial):
    """pyserial's RFC 2217 client whose socket the caller reads once the port is open."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._recv_lock = threading.Lock()
        self._handed_over = False
        self.telnet: TelnetFilter | None = None
        super().__init__(*args, **kwargs)

    def open(self) -> None:
        self._handed_over = False
        self.telnet = TelnetFilter(self)
        super().open()

    def _telnet_read_loop(self) -> None:
        """pyserial's reader thread: reads and filters the socket until `hand_over`."""
        sock = self._socket
        telnet = self.telnet
        assert sock is not None and telnet is not None
        try:
            while self.is_open:
                ready = select.select([sock], [], [], HANDOVER_POLL_S)[0]
                with self._recv_lock:
                    if self._handed_over:
                        return
                    if not ready:
                        continue
                    try:
                        data = sock.recv(65536)
                    except (BlockingIOError, TimeoutError):
                        continue
                    if not data:
                        self._read_buffer.put(None)  # pyserial's mark of a lost connection
                        return
                    out = telnet.feed(data)
                    if out:
                        self._read_buffer.put(out)
        except (OSError, ValueError):  # the socket closed or failed under us
            self._read_buffer.put(None)

    def hand_over(self) -> bytes:
        """Stop pyserial's reader: from now on the caller reads `fileno()` and passes what
        it reads through `telnet.feed`. Returns the serial data read before."""
        with self._recv_lock:
            self._handed_over = True
        chunks = []
        while True:
            try:
                chunk = self._read_buffer.get_nowait()
            except queue.Empty:
                return b"".join(chunks)
            if chunk is None:
                raise serial.SerialException("connection lost while the port opened")
            chunks.append(chunk)

    def fileno(self) -> int:
        if self._socket is None:
            raise serial.PortNotOpenError()
        return self._socket.fileno()

    def read(self, size: int = 1) -> bytes:
        if self._handed_over:
            raise serial.SerialException("this port's socket is read by its SerialLink")
        return super().read(size)

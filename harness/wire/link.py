"""Serial transport: open any pyserial URL, read in bulk on one thread, frame lines.

The reader thread never dies on hostile bytes (framing is `LineFramer`'s job) and
reports a dead port instead of hanging. Every line in and out goes to the `SerialLog`.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from collections.abc import Callable

import serial
import serial.serialposix

from harness.errors import TransportError
from harness.wire.flood import FLOOD_BYTES, FloodGuard
from harness.wire.framing import Line, LineFramer
from harness.wire.seriallog import SerialLog

LineHandler = Callable[[Line, float], None]
READ_CHUNK = 65536
POLL_S = 0.1


class SerialLink:
    """One open serial connection; `on_line` is called on the reader thread for each line."""

    def __init__(
        self,
        url: str,
        *,
        baudrate: int = 115200,
        on_line: LineHandler,
        log: SerialLog | None = None,
        write_timeout_s: float = 1.0,
        flood_bytes: int | None = FLOOD_BYTES,
    ) -> None:
        """`flood_bytes`: non-message bytes per second that fail the link as a flood
        (`harness.wire.flood`); None turns flood detection off (for tests of the link alone)."""
        self.url = url
        self.baudrate = baudrate
        self.log = log or SerialLog()
        self.framer = LineFramer()
        self._on_line = on_line
        self._write_timeout_s = write_timeout_s
        self._port: serial.SerialBase | None = None
        self._fd: int | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._write_lock = threading.Lock()
        self._io_lock = threading.Lock()  # whoever reads the port (reader thread or `pump`)
        self.error: TransportError | None = None
        self._flood_bytes = flood_bytes
        self.flood = self._flood_guard()

    def open(self) -> SerialLink:
        # pyserial's rfc2217 client refuses a write timeout (NotImplementedError); its
        # socket has its own 5 s timeout, so writes there stay bounded anyway.
        bounded = (
            {} if self.url.startswith("rfc2217://") else {"write_timeout": self._write_timeout_s}
        )
        try:
            port = serial.serial_for_url(
                self.url, baudrate=self.baudrate, timeout=POLL_S, do_not_open=True, **bounded
            )
            port.exclusive = isinstance(port, serial.serialposix.Serial) or None
            port.open()
        except (serial.SerialException, OSError, ValueError, NotImplementedError) as exc:
            raise TransportError(f"cannot open serial port {self.url!r}: {exc}") from None
        self._port = port
        self._fd = port.fileno() if isinstance(port, serial.serialposix.Serial) else None

        self.error = None
        self._stop.clear()
        self.framer = LineFramer()
        self.flood = self._flood_guard()
        self.log.note(f"opened {self.url} at {self.baudrate} baud")
        self._thread = threading.Thread(
            target=self._read_loop, name=f"link:{self.url}", daemon=True
        )
        self._thread.start()
        return self

    def _flood_guard(self) -> FloodGuard | None:
        return FloodGuard(self._flood_bytes) if self._flood_bytes is not None else None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self.error is None

    def write_line(self, text: str) -> float:
        """Send one line; return the host time just before the bytes were written."""
        if self.error is not None:
            raise self.error
        port = self._port
        if port is None:
            raise TransportError(f"serial port {self.url!r} is not open")
        data = text.encode("utf-8") + b"\n"
        with self._write_lock:
            t = time.monotonic()
            try:
                if self._fd is not None:
                    self._write_fd(self._fd, data)
                else:
                    port.write(data)
            except (serial.SerialException, OSError) as exc:
                self._fail(f"write to {self.url!r} failed: {exc}")
                raise self.error from None  # type: ignore[misc]
        self.log.add(">", "message", text, t)
        return t

    def _write_fd(self, fd: int, data: bytes) -> None:
        """Write straight to a local port's descriptor (pyserial opens it non-blocking):
        the common case is one syscall, a full buffer waits with a bound."""
        view = memoryview(data)
        deadline = time.monotonic() + self._write_timeout_s
        while view:
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise serial.SerialTimeoutException("write timeout") from None
                select.select([], [fd], [], remaining)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * POLL_S + 1.0)
        if self._port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self._port.close()
        self._port, self._fd = None, None
        self.log.note(f"closed {self.url}")

    def _fail(self, reason: str) -> None:
        if self.error is None:
            self.error = TransportError(reason)
            self.log.note(reason)

    def _read_loop(self) -> None:
        port = self._port
        assert port is not None
        while not self._stop.is_set():
            try:
                if self._fd is None:
                    data = self._read_generic(port)
                    if data:
                        self._process(data, time.monotonic())
                    if self.error is not None:
                        return  # flooded: stop reading until the link is reopened
                    continue
                ready, _, _ = select.select([self._fd], [], [], POLL_S)
                if not ready:
                    continue
                if not self._io_lock.acquire(blocking=False):
                    # A request is reading the port itself (`pump`) and will take these
                    # bytes. Back off briefly rather than queue on the lock: a waiter on
                    # the lock would cost the request a wake-up when it lets go.
                    time.sleep(0.0005)
                    continue
                try:
                    self._read_fd_once(self._fd)
                finally:
                    self._io_lock.release()
                if self.error is not None:
                    return  # flooded: stop reading until the link is reopened
            except (serial.SerialException, OSError, ValueError, TypeError, AttributeError) as exc:
                if not self._stop.is_set():
                    self._fail(f"serial port {self.url!r} failed: {exc}")
                return

    def pump(self, done: Callable[[], bool], deadline: float) -> bool:
        """Read a local port on the calling thread until `done()` or `deadline`.

        A request waiting for its response reads the port itself instead of waiting to be
        woken by the reader thread: one thread wake-up less on the round trip. Returns
        False at once for ports without a descriptor (the reader thread serves those).
        """
        fd = self._fd
        if fd is None or self.error is not None:
            return done()
        if not self._io_lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            return done()
        try:
            while not done():
                if self.error is not None:
                    raise self.error
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                ready, _, _ = select.select([fd], [], [], min(remaining, POLL_S))
                if ready:  # we hold the I/O lock since select: the bytes are still ours
                    self._read_fd_once(fd, checked=True)
            return True
        except (OSError, ValueError) as exc:
            self._fail(f"serial port {self.url!r} failed: {exc}")
            raise self.error from None  # type: ignore[misc]
        finally:
            self._io_lock.release()

    def _read_fd_once(self, fd: int, checked: bool = False) -> None:
        """One read and its lines; the caller holds the I/O lock.

        Readiness is checked again under the lock: the other reader may have taken the
        bytes since. pyserial sets VMIN=0, so a read of nothing from a port that select
        calls ready is a hang-up, not an empty buffer.
        """
        if not checked:
            ready, _, _ = select.select([fd], [], [], 0)
            if not ready:
                return
        try:
            data = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return
        if not data:
            raise OSError("port closed (EOF)")
        self._process(data, time.monotonic())

    def _process(self, data: bytes, t: float) -> None:
        junk, events = len(data), 0  # unsolicited: everything but responses (`flood`)
        for line in self.framer.feed(data):
            if line.kind != "message":
                self.log.add("<", line.kind, line.text, t)
                continue
            msg = line.msg
            if msg is not None and "id" in msg and "ok" in msg:
                junk -= len(line.text) + 1
            else:
                events += 1
            try:  # deliver first: a waiting request is the latency-critical path
                self._on_line(line, t)
            except Exception as exc:  # a handler bug must not kill the link silently
                self.log.note(f"line handler failed: {exc!r}")
            self.log.add("<", "message", line.text, t)
        flooded = self.flood.feed(junk, t, events) if self.flood is not None else None
        if flooded is not None:
            self._fail(f"{flooded} on {self.url!r}")

    @staticmethod
    def _read_generic(port: serial.SerialBase) -> bytes:
        first = port.read(1)
        if not first:
            return b""
        waiting = port.in_waiting
        return first + (port.read(min(waiting, READ_CHUNK)) if waiting else b"")

"""Serial transport: open any pyserial URL, read in bulk, frame lines, log every one.

A port the link can read itself (`ports.open_port`: local, RFC 2217, raw TCP) is read by
whichever thread waits: a request waiting for its response reads it (`pump`), and the
reader thread reads it between requests. Other URLs are read through pyserial on the
reader thread. The reader never dies on hostile bytes (framing is `LineFramer`'s job)
and reports a dead port instead of hanging. Every line in and out goes to the
`SerialLog`, with the host time it was written or read.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from collections.abc import Callable

import serial

from harness.errors import TransportError
from harness.wire.flood import FLOOD_BYTES, FloodGuard
from harness.wire.framing import Line, LineFramer
from harness.wire.ports import open_port
from harness.wire.seriallog import SerialLog

LineHandler = Callable[[Line, float], None]
READ_CHUNK = 65536
POLL_S = 0.1
# How long the reader thread stands back after a request read the port itself: requests
# come back to back (a clock-sync burst), and waking between them would cost each one.
STANDBY_S = 0.001
_POLL_IN = select.POLLIN | select.POLLPRI


class SerialLink:
    """One open serial connection. `on_line` is called for each message line, one line at
    a time and in order (on whichever thread reads the port)."""

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
        self._fd: int | None = None  # read by the link itself (poll, os.read)
        self._wfd: int | None = None  # written by the link itself (os.write)
        self._filter: Callable[[bytes], bytes] | None = None  # RFC 2217: Telnet out
        self._poll: select.poll | None = None  # the waiting request's (`pump`)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._write_lock = threading.Lock()
        self._io_lock = threading.Lock()  # whoever reads the port (reader thread or `pump`)
        self._pumping = False  # a request reads the port (`pump`) ...
        self._pumped_at = 0.0  # ... or last waited for it then (host monotonic seconds)
        self.error: TransportError | None = None
        self._flood_bytes = flood_bytes
        self.flood = self._flood_guard()

    def open(self) -> SerialLink:
        opened = open_port(
            self.url, baudrate=self.baudrate, timeout_s=POLL_S,
            write_timeout_s=self._write_timeout_s,
        )  # fmt: skip
        self._port, self._fd, self._wfd = opened.port, opened.read_fd, opened.write_fd
        self._filter = opened.filter
        self._poll = None
        if self._fd is not None:
            self._poll = select.poll()
            self._poll.register(self._fd, _POLL_IN)
        self.error = None
        self._stop.clear()
        self.framer = LineFramer()
        self.flood = self._flood_guard()
        self.log.note(f"opened {self.url} at {self.baudrate} baud")
        if opened.pending:
            self._process(opened.pending, time.monotonic())
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
        data = (text + "\n").encode()
        fd = self._wfd
        lock = self._write_lock
        lock.acquire()  # not `with`: this is the request path, and `with` costs more here
        try:
            t = time.monotonic()
            if fd is None:
                port.write(data)
            else:
                try:  # the common case: one syscall writes it all
                    n = os.write(fd, data)
                except BlockingIOError:
                    n = 0
                if n != len(data):
                    self._write_rest(fd, memoryview(data)[n:])
        except (serial.SerialException, OSError) as exc:
            self._fail(f"write to {self.url!r} failed: {exc}")
            raise self.error from None  # type: ignore[misc]
        finally:
            lock.release()
        self.log.add(">", "message", text, t)
        return t

    def _write_rest(self, fd: int, view: memoryview) -> None:
        """Finish a write to a local port's descriptor (pyserial opens it non-blocking)
        whose buffer was full: wait for room, within the write timeout."""
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
        self._port, self._fd, self._wfd, self._poll = None, None, None, None
        self.log.note(f"closed {self.url}")

    def _fail(self, reason: str) -> None:
        if self.error is None:
            self.error = TransportError(reason)
            self.log.note(reason)

    def _read_loop(self) -> None:
        port = self._port
        fd = self._fd
        assert port is not None
        while not self._stop.is_set():
            try:
                if fd is None:
                    data = self._read_generic(port)
                    if data:
                        self._process(data, time.monotonic())
                    if self.error is not None:
                        return  # flooded: stop reading until the link is reopened
                    continue
                if self._pumping or time.monotonic() - self._pumped_at < STANDBY_S:
                    # Requests read the port themselves (`pump`): stand back while they
                    # come, rather than wake with each response and take the interpreter
                    # from the request that waits for it. Bytes wait in the kernel
                    # meanwhile; a request reads them, or this thread after STANDBY_S.
                    time.sleep(STANDBY_S)
                    continue
                if not select.select([fd], [], [], POLL_S)[0]:
                    continue
                if not self._io_lock.acquire(blocking=False):
                    continue  # a request is reading the port (`pump`): stand back
                try:
                    # Ready again under the lock? A request's `pump` may have read it.
                    if select.select([fd], [], [], 0)[0]:
                        self._read_fd(fd)
                finally:
                    self._io_lock.release()
                if self.error is not None:
                    return  # flooded: stop reading until the link is reopened
            except (serial.SerialException, OSError, ValueError, TypeError, AttributeError) as exc:
                if not self._stop.is_set():
                    self._fail(f"serial port {self.url!r} failed: {exc}")
                return

    def pump(self, done: Callable[[], object], deadline: float) -> bool:
        """Read the port on the calling thread until `done()` is true or `deadline`.

        A request waiting for its response reads the port itself instead of waiting to be
        woken by the reader thread: one thread wake-up less on the round trip. Returns
        whether `done()` at once for ports without a descriptor (the reader thread serves
        those).
        """
        poll = self._poll
        if poll is None or self.error is not None:
            return bool(done())
        lock = self._io_lock
        if not lock.acquire(False) and not lock.acquire(
            True, max(0.0, deadline - time.monotonic())
        ):
            return bool(done())
        self._pumping = True
        try:
            while not done():
                now = time.monotonic()
                self._pumped_at = now  # (set here, not after the response: that is sooner)
                remaining = deadline - now
                if remaining <= 0:
                    return False
                if self.error is not None:
                    raise self.error
                # We hold the I/O lock since the poll: what it saw is still ours to read.
                if poll.poll(1000 * (remaining if remaining < POLL_S else POLL_S)):
                    self._read_fd(self._fd)  # type: ignore[arg-type]
            return True
        except (OSError, ValueError, TypeError) as exc:
            self._fail(f"serial port {self.url!r} failed: {exc}")
            raise self.error from None  # type: ignore[misc]
        finally:
            self._pumping = False
            lock.release()

    def _read_fd(self, fd: int) -> None:
        """One read of a descriptor that poll calls ready, and its lines. A read of nothing
        is a hang-up (pyserial sets VMIN=0 on a local port; a socket's end of file)."""
        try:
            data = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return
        if not data:
            raise OSError("port closed (EOF)")
        t = time.monotonic()
        if self._filter is not None:
            data = self._filter(data)
        if data:
            self._process(data, t)

    def _process(self, data: bytes, t: float) -> None:
        junk, events = len(data), 0  # unsolicited: everything but responses (`flood`)
        add = self.log.add
        for line in self.framer.feed(data):
            kind, text, msg = line
            if msg is None:
                add("<", kind, text, t)
                continue
            if "id" in msg and "ok" in msg:
                junk -= len(text) + 1
            else:
                events += 1
            try:  # deliver first: a waiting request is the latency-critical path
                self._on_line(line, t)
            except Exception as exc:  # a handler bug must not kill the link silently
                self.log.note(f"line handler failed: {exc!r}")
            add("<", kind, text, t)
        if (junk > 0 or events) and self.flood is not None:  # a response alone adds nothing
            flooded = self.flood.feed(junk, t, events)
            if flooded is not None:
                self._fail(f"{flooded} on {self.url!r}")

    @staticmethod
    def _read_generic(port: serial.SerialBase) -> bytes:
        first = port.read(1)
        if not first:
            return b""
        waiting = port.in_waiting
        return first + (port.read(min(waiting, READ_CHUNK)) if waiting else b"")

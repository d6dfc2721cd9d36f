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
from harness.framing import Line, LineFramer
from harness.seriallog import SerialLog

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
    ) -> None:
        self.url = url
        self.baudrate = baudrate
        self.log = log or SerialLog()
        self.framer = LineFramer()
        self._on_line = on_line
        self._write_timeout_s = write_timeout_s
        self._port: serial.SerialBase | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._write_lock = threading.Lock()
        self.error: TransportError | None = None

    def open(self) -> SerialLink:
        try:
            port = serial.serial_for_url(
                self.url,
                baudrate=self.baudrate,
                timeout=POLL_S,
                write_timeout=self._write_timeout_s,
                do_not_open=True,
            )
            port.exclusive = isinstance(port, serial.serialposix.Serial) or None
            port.open()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise TransportError(f"cannot open serial port {self.url!r}: {exc}") from None
        self._port = port
        self.error = None
        self._stop.clear()
        self.framer = LineFramer()
        self.log.note(f"opened {self.url} at {self.baudrate} baud")
        self._thread = threading.Thread(
            target=self._read_loop, name=f"link:{self.url}", daemon=True
        )
        self._thread.start()
        return self

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
                port.write(data)
            except (serial.SerialException, OSError) as exc:
                self._fail(f"write to {self.url!r} failed: {exc}")
                raise self.error from None  # type: ignore[misc]
        self.log.add(">", "message", text, t)
        return t

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * POLL_S + 1.0)
        if self._port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self._port.close()
        self._port = None
        self.log.note(f"closed {self.url}")

    def _fail(self, reason: str) -> None:
        if self.error is None:
            self.error = TransportError(reason)
            self.log.note(reason)

    def _read_loop(self) -> None:
        port = self._port
        assert port is not None
        posix_fd = port.fileno() if isinstance(port, serial.serialposix.Serial) else None
        while not self._stop.is_set():
            try:
                data = (
                    self._read_posix(posix_fd) if posix_fd is not None else self._read_generic(port)
                )
            except (serial.SerialException, OSError, ValueError, TypeError, AttributeError) as exc:
                if not self._stop.is_set():
                    self._fail(f"serial port {self.url!r} failed: {exc}")
                return
            if not data:
                continue
            t = time.monotonic()
            for line in self.framer.feed(data):
                if line.kind != "message":
                    self.log.add("<", line.kind, line.text, t)
                    continue
                self.log.add("<", "message", line.text, t)
                try:
                    self._on_line(line, t)
                except Exception as exc:  # a handler bug must not kill the link silently
                    self.log.note(f"line handler failed: {exc!r}")

    @staticmethod
    def _read_posix(fd: int) -> bytes:
        ready, _, _ = select.select([fd], [], [], POLL_S)
        if not ready:
            return b""
        data = os.read(fd, READ_CHUNK)
        if not data:
            raise OSError("port closed (EOF)")
        return data

    @staticmethod
    def _read_generic(port: serial.SerialBase) -> bytes:
        first = port.read(1)
        if not first:
            return b""
        waiting = port.in_waiting
        return first + (port.read(min(waiting, READ_CHUNK)) if waiting else b"")

"""The serial log: every line in and out, with its host monotonic timestamp.

Kept in a bounded ring for the run and streamed to a per-test file as it happens, so
a crash keeps what was seen. Device text is stored as data, bounded, and written escaped
with `harness.wire.text.printable`: a line holds no control, ESC or bidi character (a
device cannot clear a screen or hide a line of `cat serial.log`), and the escaping is
reversible (`harness.wire.text.unescape` gives back the bytes the device sent). The ring
is bounded in lines and in the memory they hold: a device sending console lines of
maximal length must not make the host keep hundreds of megabytes (RING_LINES of them
would be ~200 MB), nor one sending lines of invalid UTF-8 (kept as surrogates, 2 bytes a
character) twice what the bound says.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path
from typing import NamedTuple, TextIO

from harness.wire.text import printable

MAX_SEGMENT_BYTES = 16 * 1024 * 1024
RING_LINES = 50_000
RING_BYTES = 12 * 1024 * 1024  # of memory the ring holds, about (`_held`)
LINE_OVERHEAD = 160  # bytes a ring entry costs besides its text: tuple, time, number, str


def _held(text: str) -> int:
    """About what a ring entry with this text holds in memory: a str that is not ASCII
    takes 2 or 4 bytes a character (bytes that were not UTF-8 become surrogates: 2)."""
    return LINE_OVERHEAD + (len(text) if text.isascii() else 4 * len(text))


class LogLine(NamedTuple):
    """One logged line (a named tuple: two are built on every request's round trip)."""

    seq: int
    t: float  # host monotonic seconds
    direction: str  # ">" host to device, "<" device to host, "!" harness note
    kind: str  # message | console | oversize | bad_utf8 | bad_json | note
    text: str

    def render(self) -> str:
        return f"{self.t:.6f} {self.direction} {self.kind:8s} {printable(self.text)}"


class SerialLog:
    """Thread-safe append-only log with an optional file segment (one per test)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ring: deque[tuple[int, float, str, str, str]] = deque()  # LogLine's fields
        self._ring_bytes = 0
        self._seq = 0
        self._file: TextIO | None = None
        self._written = 0
        self._truncated = False

    def add(self, direction: str, kind: str, text: str, t: float | None = None) -> None:
        if t is None:
            t = time.monotonic()
        # Two lines per request: this is on the request path, so it is kept lean (a plain
        # tuple in the ring, which the garbage collector then leaves alone; the lock taken
        # without `with`, which would cost more than the rest).
        lock = self._lock
        lock.acquire()
        try:  # the sequence number too: lines are added from two threads
            seq = self._seq
            self._seq = seq + 1
            ring = self._ring
            ring.append((seq, t, direction, kind, text))
            n = len(text)  # (`_held`, inline: this is the request path)
            self._ring_bytes += LINE_OVERHEAD + (n if text.isascii() else 4 * n)
            if self._ring_bytes > RING_BYTES or len(ring) > RING_LINES:
                self._trim()
            if self._file is not None and not self._truncated:
                self._write(LogLine(seq, t, direction, kind, text).render() + "\n")
        finally:
            lock.release()

    def _trim(self) -> None:
        ring = self._ring
        while len(ring) > RING_LINES or self._ring_bytes > RING_BYTES:
            self._ring_bytes -= _held(ring.popleft()[4])

    def _write(self, rendered: str) -> None:
        assert self._file is not None
        if self._written + len(rendered) > MAX_SEGMENT_BYTES:
            self._file.write("… serial log truncated at 16 MiB for this test\n")
            self._truncated = True
        else:
            self._file.write(rendered)
            self._written += len(rendered)

    def note(self, text: str) -> None:
        self.add("!", "note", text)

    @property
    def mark(self) -> int:
        with self._lock:
            return self._seq

    def since(self, mark: int) -> list[LogLine]:
        with self._lock:
            return [LogLine(*line) for line in self._ring if line[0] >= mark]

    def start_segment(self, path: Path) -> None:
        """Stream lines from now on into `path` (closing any previous segment)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._close_locked()
            self._file = path.open("w", encoding="utf-8", buffering=1)
            self._written = 0
            self._truncated = False

    def end_segment(self) -> None:
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

"""Line framing for the bench protocol: bytes in arbitrary chunks to messages.

Pure and bounded: a `LineFramer` never holds more than one maximal line, never
raises on hostile input, and counts what it drops so the run can say so.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from harness.spec import MAX_LINE_BYTES


@dataclass
class FramingStats:
    messages: int = 0
    console: int = 0
    oversize: int = 0
    bad_utf8: int = 0
    bad_json: int = 0

    @property
    def dropped(self) -> int:
        return self.oversize + self.bad_utf8 + self.bad_json


@dataclass(frozen=True)
class Line:
    """One framed line: a message (`msg` is a dict), console text, or a dropped line."""

    kind: str  # "message" | "console" | "oversize" | "bad_utf8" | "bad_json"
    text: str
    msg: dict[str, Any] | None = None


@dataclass
class LineFramer:
    """Split a byte stream into lines (`\\n` or `\\r\\n`), classify and parse them."""

    max_line: int = MAX_LINE_BYTES
    stats: FramingStats = field(default_factory=FramingStats)
    _buf: bytearray = field(default_factory=bytearray)
    _discarding: bool = False

    def feed(self, data: bytes) -> Iterator[Line]:
        """Yield every complete line in `data` (plus what was buffered before)."""
        buf = self._buf
        buf += data
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                break
            raw = bytes(buf[start:nl])
            start = nl + 1
            if self._discarding:
                self._discarding = False
                continue
            yield self._classify(raw)
        del buf[:start]
        if len(buf) >= self.max_line:
            # No end in sight: the line is already too long. Drop it, and the rest of it.
            if not self._discarding:
                self.stats.oversize += 1
            head = bytes(buf[:80])
            buf.clear()
            if not self._discarding:
                self._discarding = True
                yield Line("oversize", _preview(head) + "…")

    def _classify(self, raw: bytes) -> Line:
        if len(raw) + 1 > self.max_line:
            self.stats.oversize += 1
            return Line("oversize", _preview(raw[:80]) + "…")
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.stats.bad_utf8 += 1
            return Line("bad_utf8", _preview(raw))
        if not text.startswith("{"):
            self.stats.console += 1
            return Line("console", text)
        try:
            msg = _DECODER.decode(text)
        except (ValueError, RecursionError):
            self.stats.bad_json += 1
            return Line("bad_json", text)
        if not isinstance(msg, dict):
            self.stats.bad_json += 1
            return Line("bad_json", text)
        self.stats.messages += 1
        return Line("message", text, msg)

    @property
    def buffered(self) -> int:
        return len(self._buf)


def _preview(raw: bytes) -> str:
    """A bounded rendering of bytes that are not a valid line; invalid bytes are kept as
    `surrogateescape` code points, so the serial log can show them reversibly (`text.py`)."""
    return raw[:200].decode("utf-8", errors="surrogateescape")


def _reject_constant(name: str) -> Any:
    """NaN and Infinity are not JSON; a device sending them sent a broken line."""
    raise ValueError(f"not JSON: {name}")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)  # built once: this is a hot path

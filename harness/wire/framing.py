"""Line framing for the bench protocol: bytes in arbitrary chunks to messages.

Pure and bounded: a `LineFramer` never holds more than one maximal line, never
raises on hostile input, and counts what it drops so the run can say so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

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


class Line(NamedTuple):
    """One framed line: a message (`msg` is a dict), console text, or a dropped line.

    A named tuple rather than a frozen dataclass: one is built for every line on the
    request path, and a tuple is built in a third of the time."""

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

    def feed(self, data: bytes) -> list[Line]:
        """Every complete line in `data` (plus what was buffered before), in order."""
        buf = self._buf
        raw = data[:-1]
        if data[-1:] == b"\n" and _NEWLINE not in raw and not buf and not self._discarding:
            # The common case (a response read whole): one line, nothing buffered. (Here
            # and below: slices, and `in` with an int, rather than bytes methods, whose
            # argument parsing costs more than the search on this path.)
            return [self._classify(raw)]
        buf += data
        out: list[Line] = []
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
            out.append(self._classify(raw))
        del buf[:start]
        if len(buf) >= self.max_line:
            # No end in sight: the line is already too long. Drop it, and the rest of it.
            if not self._discarding:
                self.stats.oversize += 1
            head = bytes(buf[:80])
            buf.clear()
            if not self._discarding:
                self._discarding = True
                out.append(Line("oversize", _preview(head) + "…"))
        return out

    def _classify(self, raw: bytes) -> Line:
        if len(raw) >= self.max_line:  # with its newline, over the limit
            self.stats.oversize += 1
            return Line("oversize", _preview(raw[:80]) + "…")
        if raw[-1:] == b"\r":
            raw = raw[:-1]
        try:
            text = raw.decode()  # UTF-8
        except UnicodeDecodeError:
            self.stats.bad_utf8 += 1
            return Line("bad_utf8", _preview(raw))
        if text[:1] != "{":
            self.stats.console += 1
            return Line("console", text)
        try:  # the text starts with "{", so only trailing space is left to allow (see _SCAN)
            msg, end = _SCAN(text, 0)
        except (StopIteration, ValueError, RecursionError):
            self.stats.bad_json += 1
            return Line("bad_json", text)
        if type(msg) is not dict or (end != len(text) and text[end:].strip(_JSON_SPACE)):
            self.stats.bad_json += 1
            return Line("bad_json", text)
        self.stats.messages += 1
        return _new_tuple(Line, ("message", text, msg))

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
# The decoder's C scanner, which `JSONDecoder.raw_decode` wraps in a Python call: called
# directly, one call less per line. `(value, end)`, or StopIteration where no value starts.
_SCAN = _DECODER.scan_once
# A message line built by tuple's own constructor, not the named tuple's Python `__new__`.
_new_tuple = tuple.__new__
_JSON_SPACE = " \t\n\r"  # the whitespace JSON allows around a value (RFC 8259)
_NEWLINE = ord("\n")

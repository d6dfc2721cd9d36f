"""Device text made harmless: one escaping rule for everything the device says and we show.

A device (or a run directory someone hands us) can put terminal controls into what we
print: ESC sequences that clear a screen or move the cursor, carriage returns that hide
a line behind another, bidi overrides that reorder it, a newline that forges a line
such as "signature: VALID". `printable` escapes all of those; every place that prints
or logs device text goes through it (the serial log, pytest's report of a test, the
`reports` commands).

The escaping is reversible (`unescape` gives back the original bytes):
- a backslash is doubled (`\\\\`);
- C0 controls and DEL are `\\xNN` (with `\\t` kept, and `\\n` kept by `keep_newlines`);
- bytes that were not valid UTF-8 (decoded with `surrogateescape`) are `\\xNN` too;
- C1 controls, bidi overrides and isolates, and other invisible format characters
  (Unicode categories Cc, Cf, Zl, Zp, Co, Cs, Cn) are `\\uNNNN` / `\\UNNNNNNNN`.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})
# Fast path: plain printable ASCII (plus tab/newline) needs no escaping at all.
_PLAIN = re.compile(r"[ -\[\]-~\t\n]*")
_ESCAPED = re.compile(r"\\(\\|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})")
# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "|", "%")


@lru_cache(maxsize=4096)
def _escape_char(ch: str) -> str:
    o = ord(ch)
    if ch == "\\":
        return "\\\\"
    if o < 0x20 or o == 0x7F:
        return f"\\x{o:02x}"
    if 0xDC80 <= o <= 0xDCFF:  # a byte that was not valid UTF-8 (surrogateescape)
        return f"\\x{o - 0xDC00:02x}"
    if unicodedata.category(ch) in _HIDDEN_CATEGORIES:
        return f"\\u{o:04x}" if o <= 0xFFFF else f"\\U{o:08x}"
    return ch


def printable(text: object, limit: int | None = None, *, keep_newlines: bool = False) -> str:
    """`text` with every control, format and bidi character escaped (see the module doc).

    `limit` cuts the result (after escaping) to that many characters, marking the cut
    with "…". With `keep_newlines`, `\\n` is kept (for multi-line reports) and every
    other control is still escaped.
    """
    s = text if isinstance(text, str) else str(text)
    if not (_PLAIN.fullmatch(s) and (keep_newlines or "\n" not in s)):
        out = []
        for ch in s:
            if ch == "\t" or (ch == "\n" and keep_newlines):
                out.append(ch)
            else:
                out.append(_escape_char(ch))
        s = "".join(out)
    if limit is not None and len(s) > limit:
        s = s[: max(0, limit - 1)] + "…"
    return s


def printable_bytes(raw: bytes) -> str:
    """Raw bytes (any, valid UTF-8 or not) as one printable line that `unescape` reverses."""
    return printable(raw.decode("utf-8", errors="surrogateescape"))


def unescape(text: str) -> bytes:
    """The bytes `printable` / `printable_bytes` escaped (inverse of both, for valid input)."""
    out = bytearray()
    pos = 0
    for m in _ESCAPED.finditer(text):
        out += text[pos : m.start()].encode("utf-8", errors="surrogateescape")
        token = m.group(1)
        if token == "\\":
            out += b"\\"
        elif token[0] == "x":
            out.append(int(token[1:], 16))
        else:
            out += chr(int(token[1:], 16)).encode("utf-8", errors="surrogatepass")
        pos = m.end()
    out += text[pos:].encode("utf-8", errors="surrogateescape")
    return bytes(out)


def csv_text(text: object, limit: int = 300) -> str:
    """A text cell (or comment) for a CSV file: one printable line that a spreadsheet never
    reads as a formula, and without the separators that would split it."""
    s = printable(text, limit).replace(",", ";").replace('"', "'")
    return "'" + s if s.startswith(FORMULA_START) else s

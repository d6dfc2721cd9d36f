"""What the report commands print: one line at a time, device and run text made harmless.

A run directory (its ids, file names, verdict strings, device text) comes from whoever
handed it over, so every line a command prints goes through `printable`: no terminal
control, ESC sequence or bidi override gets through, and a newline inside a value
cannot start a line of its own (a forged "signature: VALID").
"""

from __future__ import annotations

import sys

from harness.wire.text import printable


def say(*lines: object, err: bool = False) -> None:
    """Print each of `lines` as one escaped line (to stderr with `err`)."""
    stream = sys.stderr if err else sys.stdout
    for line in lines:
        print(printable(line), file=stream)

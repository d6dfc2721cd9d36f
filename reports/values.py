"""Values read from a run's summary: untrusted, so bounded in length and checked in type.

The summary is the harness's, but its strings include what the device said (vendor,
subjects, failure reasons); every report shows them through these helpers, escaped: a
bidi override in a vendor string must not reorder what the report shows next to it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from harness.wire.text import printable

MAX_TEXT = 600


def clip(text: Any, limit: int = MAX_TEXT) -> str:
    """Run text for a report: controls, bidi overrides and other invisible characters
    escaped (`printable`; line breaks kept), cut to `limit` characters."""
    s = printable("" if text is None else text, keep_newlines=True)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_num(value: Any) -> float | None:
    """A number as a float (an integer too large for one is ±inf); anything else None."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf

"""A stretch of a run an instrument could not record: its span and the instrument's reason.

A lab's run lasts hours, and one lost answer (a LAN packet, a busy instrument) must not
end it: the monitors that record the whole run (light, supply current) go on after a
failure, and the time they lost is an `Outage`. A test that overlapped one is BROKEN with
its reason; the judges count its time as unseen.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from harness.errors import InstrumentError


@dataclass
class Outage:
    """Host times from the last reading before a failure to the first after it (`end`
    None while it lasts), and the first failure's reason."""

    start: float
    end: float | None
    reason: str

    def touches(self, start: float, end: float) -> bool:
        return self.start <= end and (self.end is None or self.end >= start)

    def error(self, what: str) -> InstrumentError:
        """The outage as the error a test it touched ends with."""
        lasted = (self.end if self.end is not None else time.monotonic()) - self.start
        state = "still failing" if self.end is None else "recording resumed"
        return InstrumentError(f"{self.reason} (no {what} for {lasted:.1f} s; {state})")


def check(outages: list[Outage], what: str, start: float | None, end: float | None) -> None:
    """Raise the first outage that lasts now or touched [start, end] (now, without a
    `start`; up to now, without an `end`), as the error a test it touched ends with."""
    now = time.monotonic()
    lo, hi = (now, now) if start is None else (start, now if end is None else end)
    outage = next((o for o in list(outages) if o.end is None or o.touches(lo, hi)), None)
    if outage is not None:
        raise outage.error(what)


def missing(outages: list[Outage], start: float, end: float) -> list[tuple[float, float]]:
    """The spans of [start, end] the outages took."""
    now = time.monotonic()
    spans = [(o.start, o.end if o.end is not None else now) for o in list(outages)]
    return [(max(a, start), min(b, end)) for a, b in spans if a < end and b > start]

"""Flood detection: a device that buries the link in non-message output breaks the bench.

Console text between messages is allowed (bench-protocol.md), so a little of it is
ignored. But a device that sends output non-stop, as fast as the link takes, costs the
host's reader its CPU time, skews every host timestamp taken on that thread and fills
the evidence with junk: the bench can no longer vouch for its own timing. That is a
bench fault (BROKEN with the reason), never evidence for or against a clause.

The limit is absolute, far above any legitimate debug console (a 115200-baud UART
carries at most ~11.5 kB/s; the noisiest conforming simulated device sends ~50 kB/s),
and far below a runaway print loop on USB or a pty (megabytes a second).

Valid messages are no way around it: every unsolicited message (an event, or anything
that is not a response) counts towards the same byte limit, and their number towards
`FLOOD_EVENTS` a window. The spec sets no event rate, but a conforming device reports a
handful of things a second (every frame at 50/s is the most the simulated devices send);
thousands of events a second cost the host as much as junk does, and are a flood. A
response is never counted: there is one per request, and the host sends them one at a
time (a clock-sync burst is thousands of round trips a second).
"""

from __future__ import annotations

FLOOD_BYTES = 1 << 20  # unsolicited bytes in one window that count as a flood
FLOOD_EVENTS = 2000  # unsolicited messages (events) in one window that count as a flood
FLOOD_WINDOW_S = 1.0


class FloodGuard:
    """Counts unsolicited bytes and messages in fixed windows; says so once one overflows."""

    def __init__(
        self,
        limit_bytes: int = FLOOD_BYTES,
        window_s: float = FLOOD_WINDOW_S,
        limit_events: int = FLOOD_EVENTS,
    ) -> None:
        self.limit_bytes = limit_bytes
        self.limit_events = limit_events
        self.window_s = window_s
        self._start: float | None = None
        self._bytes = 0
        self._events = 0

    def feed(self, junk_bytes: int, t: float, events: int = 0) -> str | None:
        """Add `junk_bytes` (unsolicited bytes, messages included) and `events` (unsolicited
        messages) seen at host time `t`; return the reason if this is a flood."""
        if self._start is None or t - self._start >= self.window_s:
            self._start, self._bytes, self._events = t, 0, 0
        self._bytes += max(0, junk_bytes)
        self._events += max(0, events)
        if self._bytes <= self.limit_bytes and self._events <= self.limit_events:
            return None
        elapsed = max(t - self._start, 1e-3)
        if self._events > self.limit_events:
            return (
                f"device floods the link: {self._events} events in {elapsed:.2f} s "
                f"(limit {self.limit_events} per {self.window_s:g} s)"
            )
        return (
            f"device floods the link: {self._bytes / 1e6:.1f} MB of non-message output in "
            f"{elapsed:.2f} s (limit {self.limit_bytes / 1e6:.1f} MB per {self.window_s:g} s)"
        )

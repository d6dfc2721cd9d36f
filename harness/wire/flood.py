"""Flood detection: a device that buries the link in non-message output breaks the bench.

Console text between messages is allowed (bench-protocol.md), so a little of it is
ignored. But a device that sends output non-stop, as fast as the link takes, costs the
host's reader its CPU time, skews every host timestamp taken on that thread and fills
the evidence with junk: the bench can no longer vouch for its own timing. That is a
bench fault (BROKEN with the reason), never evidence for or against a clause.

The limit is absolute, far above any legitimate debug console (a 115200-baud UART
carries at most ~11.5 kB/s; the noisiest conforming simulated device sends ~50 kB/s),
and far below a runaway print loop on USB or a pty (megabytes a second).
"""

from __future__ import annotations

FLOOD_BYTES = 1 << 20  # non-message bytes in one window that count as a flood
FLOOD_WINDOW_S = 1.0


class FloodGuard:
    """Counts non-message bytes in fixed windows; says so once a window overflows."""

    def __init__(self, limit_bytes: int = FLOOD_BYTES, window_s: float = FLOOD_WINDOW_S) -> None:
        self.limit_bytes = limit_bytes
        self.window_s = window_s
        self._start: float | None = None
        self._bytes = 0

    def feed(self, junk_bytes: int, t: float) -> str | None:
        """Add `junk_bytes` seen at host time `t`; return the reason if this is a flood."""
        if self._start is None or t - self._start >= self.window_s:
            self._start, self._bytes = t, 0
        self._bytes += max(0, junk_bytes)
        if self._bytes <= self.limit_bytes:
            return None
        elapsed = max(t - self._start, 1e-3)
        return (
            f"device floods the link: {self._bytes / 1e6:.1f} MB of non-message output in "
            f"{elapsed:.2f} s (limit {self.limit_bytes / 1e6:.1f} MB per {self.window_s:g} s)"
        )

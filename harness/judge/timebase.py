"""Times on the host axis with their uncertainty, and what maps device time onto it.

The judge never talks to the device: it is handed a `DeviceClock` (in a run, the bench's
`ClockSync`; in a unit test, any object with the same two methods).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Mapped:
    """A time on the host axis with its expanded uncertainty (a bound, ≥ k=2 coverage)."""

    t: float
    u: float


class DeviceClock(Protocol):
    """Maps a device `t_us` of one power session (epoch) onto the host clock and back."""

    def to_host(self, t_us: int, epoch: int) -> Mapped: ...

    def to_device_us(self, host_t: float, epoch: int) -> tuple[float, float]: ...

"""The device's monotonic microsecond clock for one power session.

The spec lets a device clock start anywhere at boot and run up to 200 ppm off the host's;
keeping the exact mapping lets tests compare what the device says with what happened.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceClock:
    """t_us = floor((host_t - origin) * (1 + drift_ppm * 1e-6) * 1e6) + offset_us."""

    origin: float  # host monotonic seconds at boot
    offset_us: int
    drift_ppm: float = 0.0

    @property
    def rate(self) -> float:
        return 1.0 + self.drift_ppm * 1e-6

    def to_device_us(self, host_t: float) -> int:
        return math.floor((host_t - self.origin) * self.rate * 1e6) + self.offset_us

    def to_host(self, t_us: int) -> float:
        return self.origin + (t_us - self.offset_us) / 1e6 / self.rate

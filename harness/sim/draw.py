"""What the simulated glasses draw from their supply, over time.

The device notes every change of what it powers (its idle draw, camera, microphone; zero
when unpowered) on a step timeline, at the host instant it happens; the LED adds its own
current in proportion to its brightness at each instant (a PWM-dimmed LED draws its duty
cycle's share on average). The simulated supply then averages this over its window, as a
real supply's `MEAS:CURR?` does, so a reading taken across a change lies in between.
"""

from __future__ import annotations

import bisect
import threading

import numpy as np

from harness.sim.led import Led

HISTORY_S = 60.0  # past draw kept at least this long


class Draw:
    """A thread-safe step timeline of the device's draw apart from its LED, plus the LED."""

    def __init__(self, led: Led, led_a: float) -> None:
        self._led = led
        self._led_a = led_a
        self._lock = threading.Lock()
        self._times: list[float] = [float("-inf")]
        self._amps: list[float] = [0.0]
        self._table: tuple[np.ndarray, np.ndarray] | None = None  # as arrays, cached

    def set(self, t: float, amps: float) -> None:
        """From host time `t` on, the device draws `amps` (LED apart)."""
        with self._lock:
            self._table = None
            i = bisect.bisect_right(self._times, t)
            del self._times[i:], self._amps[i:]
            if self._amps[-1] == amps:
                return
            self._times.append(t)
            self._amps.append(amps)
            cut = bisect.bisect_right(self._times, t - HISTORY_S) - 1
            if cut > 0:
                del self._times[1:cut], self._amps[1:cut]

    def steady(self, t0: float, t1: float) -> float | None:
        """The draw if it is one level throughout [t0, t1] (the LED's included), else None."""
        with self._lock:
            i = bisect.bisect_right(self._times, t0)
            if i != bisect.bisect_right(self._times, t1):
                return None
            base = self._amps[i - 1]
        level = self._led.steady(t0, t1)
        return None if level is None else base + self._led_a * level

    def amps(self, times: np.ndarray) -> np.ndarray:
        """The instantaneous draw at each host time, the LED's included (vectorised)."""
        with self._lock:
            if self._table is None:
                self._table = (np.array(self._times), np.array(self._amps))
            starts, levels = self._table
        base = levels[np.searchsorted(starts, times, side="right") - 1]
        return base + self._led_a * self._led.levels(times)

"""The simulated recording LED: the one physical fact the device and the instrument share.

The device schedules what the LED does (possibly in the near future, so a late thread
never rewrites the past); the instrument asks what it emitted at any sample times.
Times are host monotonic seconds (CLOCK_MONOTONIC, shared by every process).
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LedSegment:
    """From `t` on, the LED emits `level` (0..1 of full brightness), PWM-modulated if `pwm_hz`."""

    t: float
    level: float
    pwm_hz: float = 0.0
    duty: float = 1.0


class Led:
    """A piecewise-constant (optionally PWM) brightness timeline, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._times: list[float] = [float("-inf")]
        self._segs: list[LedSegment] = [LedSegment(float("-inf"), 0.0)]
        self._table: tuple[np.ndarray, ...] | None = None  # the segments as arrays, cached

    def set(self, t: float, level: float, pwm_hz: float = 0.0, duty: float = 1.0) -> None:
        """From host time `t` on, emit `level`; replaces whatever was scheduled at or after `t`."""
        seg = LedSegment(t, max(0.0, min(1.0, level)), pwm_hz, max(0.0, min(1.0, duty)))
        with self._lock:
            i = bisect.bisect_left(self._times, t)
            del self._times[i:], self._segs[i:]
            self._times.append(t)
            self._segs.append(seg)
            self._table = None

    @contextmanager
    def writing(self) -> Iterator[float]:
        """Hold off every reader while the firmware rewrites the LED from the instant
        yielded (now, read under the lock). A reader only asks about instants up to its
        own now, so none has seen that instant yet: a thread that was descheduled between
        deciding and writing can never rewrite light the instrument has already read."""
        with self._lock:
            yield time.monotonic()

    def segments(self) -> list[LedSegment]:
        with self._lock:
            return list(self._segs)

    def level_at(self, t: float) -> float:
        return float(self.levels(np.array([t]))[0])

    def levels(self, times: np.ndarray) -> np.ndarray:
        """Instantaneous brightness (0..1) at each host time, vectorised."""
        with self._lock:
            if self._table is None:
                segs = self._segs
                self._table = (
                    np.array(self._times),
                    np.array([s.level for s in segs]),
                    np.array([s.pwm_hz for s in segs]),
                    np.array([s.duty for s in segs]),
                    np.array([s.t if s.t != float("-inf") else 0.0 for s in segs]),
                )
            starts, levels, pwms, duties, t0s = self._table
        idx = np.searchsorted(starts, times, side="right") - 1
        level, pwm = levels[idx], pwms[idx]
        modulated = pwm > 0
        if modulated.any():
            duty, t0 = duties[idx], t0s[idx]
            phase = np.mod((times - t0) * pwm, 1.0)
            on = phase < duty
            level = np.where(modulated, np.where(on, level, 0.0), level)
        return level

    def steady(self, t0: float, t1: float) -> float | None:
        """The brightness if it is one unmodulated level throughout [t0, t1], else None."""
        with self._lock:
            i = bisect.bisect_right(self._times, t0)
            if i != bisect.bisect_right(self._times, t1):
                return None
            seg = self._segs[i - 1]
        return None if seg.pwm_hz > 0 else seg.level

    def prune(self, before: float) -> None:
        """Forget segments wholly before `before` (long runs keep memory bounded)."""
        with self._lock:
            i = bisect.bisect_right(self._times, before) - 1
            if i > 0:
                del self._times[1:i], self._segs[1:i]
                self._table = None

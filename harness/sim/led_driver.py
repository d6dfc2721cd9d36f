"""The firmware's LED control: demands (captures, selftest) in, a `Led` timeline out.

Several things may want the LED at once (a photo's tail overlapping a recording, a
selftest), and faults punch gaps into it. The driver keeps them as demands, renders
their union into the shared `Led` timeline ahead of time (the instrument may sample any
instant up to now, so the LED's near future must already be written), and rewrites only
from the first instant where the new rendering differs, so a PWM phase never jumps.

It also tells the device what the firmware *believes* the LED does, which differs from
the truth where a fault hides a gap or delays a report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from harness.sim.led import Led

Style = tuple[float, float, float]  # level 0..1, pwm_hz (0: steady), duty 0..1
DARK: Style = (0.0, 0.0, 1.0)
HORIZON_S = 2.0  # how far ahead periodic gaps are rendered; re-render well before this
_EPS = 1e-9


@dataclass(frozen=True)
class Gaps:
    """Dark gaps in a demand: from `first`, `length` long, every `period` (0: just one)."""

    first: float
    length: float
    period: float = 0.0
    reported: bool = False  # the firmware knows about them and says "off"

    def covers(self, t: float) -> bool:
        if t < self.first - _EPS:
            return False
        if self.period <= 0:
            return t < self.first + self.length - _EPS
        # Compare with a tolerance: at a gap's own end edge, (t - first) % period can come
        # out a hair under `length` in floating point, which would keep the LED dark.
        phase = (t - self.first) % self.period
        return phase < self.length - _EPS or phase > self.period - _EPS  # [0, period)

    def edges(self, a: float, b: float) -> list[float]:
        """Edges at or after `a` of the gaps that start by `b` (a gap is never left open)."""
        if self.period <= 0:
            starts = [self.first]
        else:
            k0 = max(0, math.floor((a - self.first - self.length) / self.period))
            k1 = math.floor((b - self.first) / self.period)
            starts = [self.first + k * self.period for k in range(k0, k1 + 1)]
        return [e for s in starts if s <= b for e in (s, s + self.length) if e >= a]


@dataclass(frozen=True)
class Demand:
    """The LED should be lit from `start` to `end` in `style`, minus `gaps`."""

    start: float
    end: float = math.inf
    style: Style = (1.0, 0.0, 1.0)
    gaps: Gaps | None = None
    report_lag: float = 0.0  # the firmware's belief stays "on" this long after `end`

    def lit(self, t: float) -> bool:
        return self.start <= t < self.end and not (self.gaps and self.gaps.covers(t))

    def believed(self, t: float) -> bool:
        if not self.start <= t < self.end + self.report_lag:
            return False
        return not (self.gaps and self.gaps.reported and t < self.end and self.gaps.covers(t))

    def edges(self, a: float, b: float) -> list[float]:
        pts = [self.start, self.end, self.end + self.report_lag]
        if self.gaps is not None:
            pts += self.gaps.edges(a, min(b, self.end))
        return [p for p in pts if a <= p < math.inf]


class LedDriver:
    """Owns every write to one `Led`; call `render(now)` after changing demands."""

    def __init__(self, led: Led) -> None:
        self.led = led
        self._demands: dict[str, Demand] = {}
        self._rendered: list[tuple[float, Style]] = [(-math.inf, DARK)]

    # -- demands ------------------------------------------------------------------------

    def put(self, key: str, demand: Demand) -> None:
        self._demands[key] = demand

    def end(self, key: str, t: float) -> None:
        """The demand `key` ends at `t` (if it was to end later)."""
        d = self._demands.get(key)
        if d is not None and t < d.end:
            self._demands[key] = replace(d, end=max(t, d.start))

    def clear(self) -> None:
        self._demands.clear()

    @property
    def active(self) -> bool:
        return bool(self._demands)

    # -- what the LED does and what the firmware thinks ---------------------------------

    def style_at(self, t: float) -> Style:
        lit = [d for d in self._demands.values() if d.lit(t)]
        return max(lit, key=lambda d: d.start).style if lit else DARK

    def believed_at(self, t: float) -> bool:
        return any(d.believed(t) for d in self._demands.values())

    def _edges(self, now: float) -> list[float]:
        b = now + HORIZON_S
        pts = {now}
        for d in self._demands.values():
            pts.update(d.edges(now, b))
        return sorted(pts)

    def render(self, now: float | None = None) -> list[tuple[float, bool]]:
        """Write the LED from `now` on (by default the instant of writing, taken with the
        readers held off); return the believed on/off changes from then on, the first at
        that instant."""
        if now is None:
            with self.led.writing() as t:
                return self.render(t)
        self._forget(now)
        edges = self._edges(now)
        want = _merge([(t, self.style_at(t)) for t in edges])
        times = sorted({*edges, *(t for t, _ in self._rendered if t >= now)})
        first_diff = next((t for t in times if _at(want, t) != _at(self._rendered, t)), None)
        if first_diff is not None:
            self._rewrite(first_diff, want)
        belief = [(t, self.believed_at(t)) for t in edges]
        return [(t, on) for i, (t, on) in enumerate(belief) if i == 0 or on != belief[i - 1][1]]

    def _rewrite(self, first_diff: float, want: list[tuple[float, Style]]) -> None:
        """Make the Led follow `want` from `first_diff` on.

        `Led.set` deletes everything from its time on, and restarts the PWM phase there.
        Where the segment in force just before `first_diff` simply continues, it is set
        again from its own start: the past stays identical, phase included.
        """
        style = _at(want, first_diff)
        before = [r for r in self._rendered if r[0] < first_diff]
        start = first_diff
        if before and before[-1][1] == style:
            start = before.pop()[0]
        new = [(start, style), *((t, s) for t, s in want if t > first_diff)]
        new = _merge(new)
        for t, (level, pwm_hz, duty) in new:
            self.led.set(t, level, pwm_hz, duty)
        self._rendered = _merge([*before, *new])

    def _forget(self, now: float) -> None:
        """Drop demands long over, and rendered history the driver no longer needs."""
        self._demands = {k: d for k, d in self._demands.items() if d.end + d.report_lag > now - 1.0}
        later = (i for i, r in enumerate(self._rendered) if r[0] > now)
        in_force = next(later, len(self._rendered)) - 1
        if in_force > 0:
            del self._rendered[:in_force]


def _at(segments: list[tuple[float, Style]], t: float) -> Style:
    """The style in force at `t` (segments sorted by start)."""
    style = DARK
    for start, s in segments:
        if start - _EPS > t:
            break
        style = s
    return style


def _merge(segments: list[tuple[float, Style]]) -> list[tuple[float, Style]]:
    out: list[tuple[float, Style]] = []
    for t, s in segments:
        if out and out[-1][1] == s:
            continue
        out.append((t, s))
    return out

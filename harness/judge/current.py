"""Supply current as a witness (IND-7): readings on the host clock, and sensors powered in
the dark.

The bench supply sees what no protocol trace shows: a camera or microphone drawing
current. With the device's signature (`judge.signature`), IND-7 looks for stretches
where the current stood above idle + half the smallest sensor current while the
photodiode saw the indicator unlit, and measures each stretch's length against
`covert_ms`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.judge.verdict import Measurement

MS = 1000.0
Span = tuple[float, float]


@dataclass(frozen=True, eq=False)
class CurrentTrace:
    """Supply current readings on the host monotonic clock.

    Reading k was answered for the `MEAS:CURR?` query whose round trip is centred on
    `t[k]` with half-width `u_t[k]` (a bound): the supply measured inside it, averaged
    over its own short window before that.
    """

    t: np.ndarray
    amps: np.ndarray
    u_t: np.ndarray

    def __post_init__(self) -> None:
        arrays = [np.asarray(a, dtype=np.float64) for a in (self.t, self.amps, self.u_t)]
        if any(a.ndim != 1 for a in arrays) or len({len(a) for a in arrays}) != 1:
            raise ValueError("t, amps and u_t must be 1-D arrays of one length")
        for name, a in zip(("t", "amps", "u_t"), arrays, strict=True):
            a = a.view()
            a.flags.writeable = False
            object.__setattr__(self, name, a)

    def __len__(self) -> int:
        return len(self.t)

    @classmethod
    def empty(cls) -> CurrentTrace:
        return cls(np.empty(0), np.empty(0), np.empty(0))

    def slice(self, start: float, end: float) -> CurrentTrace:
        """The readings timed in [start, end]."""
        i0 = int(np.searchsorted(self.t, start, side="left"))
        i1 = int(np.searchsorted(self.t, end, side="right"))
        return CurrentTrace(self.t[i0:i1], self.amps[i0:i1], self.u_t[i0:i1])

    @property
    def interval_s(self) -> float:
        """The typical time between readings (median; 0 with fewer than two)."""
        return float(np.median(np.diff(self.t))) if len(self.t) >= 2 else 0.0

    @property
    def rate_hz(self) -> float:
        """Readings per second over the trace's whole span."""
        span = float(self.t[-1] - self.t[0]) if len(self.t) >= 2 else 0.0
        return (len(self.t) - 1) / span if span > 0 else 0.0


# -- stretches -------------------------------------------------------------------------


def merge_spans(spans: Sequence[Span]) -> list[Span]:
    """Sorted, overlapping or touching spans joined."""
    out: list[Span] = []
    for a, b in sorted(s for s in spans if s[1] > s[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def bridge_spans(spans: Sequence[Span], gap_s: float) -> list[Span]:
    """Spans joined across gaps of at most `gap_s` (a re-armed acquisition's few ms)."""
    out: list[Span] = []
    for a, b in merge_spans(spans):
        if out and a - out[-1][1] <= gap_s:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def subtract_spans(spans: Sequence[Span], holes: Sequence[Span]) -> list[Span]:
    """`spans` with `holes` cut out."""
    out: list[Span] = []
    holes = merge_spans(holes)
    for a, b in merge_spans(spans):
        cursor = a
        for ha, hb in holes:
            if hb <= cursor or ha >= b:
                continue
            if ha > cursor:
                out.append((cursor, ha))
            cursor = max(cursor, hb)
        if cursor < b:
            out.append((cursor, b))
    return out


def inside(t: np.ndarray, spans: Sequence[Span]) -> np.ndarray:
    """For each time, whether it lies in one of `spans` (closed)."""
    return touching(t, np.zeros(len(t)), spans)


def touching(t: np.ndarray, u: np.ndarray, spans: Sequence[Span]) -> np.ndarray:
    """For each time bound [t - u, t + u], whether it meets one of `spans` (closed)."""
    merged = merge_spans(spans)
    if not merged or len(t) == 0:
        return np.zeros(len(t), dtype=bool)
    starts = np.array([a for a, _ in merged])
    ends = np.array([b for _, b in merged])
    k = np.searchsorted(starts, t + u, side="right") - 1
    return (k >= 0) & (t - u <= ends[np.maximum(k, 0)])


def span_seconds(spans: Sequence[Span], start: float, end: float) -> float:
    """How much of [start, end] the spans cover."""
    return sum(max(0.0, min(b, end) - max(a, start)) for a, b in merge_spans(spans))


@dataclass(frozen=True)
class Stretch:
    """Readings in a row above the threshold while the indicator was unlit.

    The sensor was powered from somewhere between the reading before `start` and
    `start`, to somewhere between `end` and the reading after it: `duration_s` is the
    span plus one reading interval, `u_s` its bound (one interval, each reading's timing,
    the supply's averaging window and the light's edge uncertainty). `most_s` bounds it
    from what brackets it: it cannot outlast the unlit time between the lit spans either
    side, nor the time between readings either side that show the sensor unpowered. On a
    loaded host `u_s` grows with the readings' timing; this bound often does not.
    """

    start: float
    end: float
    duration_s: float
    u_s: float
    level_a: float
    readings: int
    open_end: bool  # reached the last reading looked at: it may go on
    most_s: float = math.inf

    def estimate(self) -> tuple[float, float]:
        """Value and expanded uncertainty to judge: `duration_s` ± `u_s`, or, where
        `most_s` caps that interval, the interval that is left, as its centre ± half."""
        lo, hi = self.duration_s - self.u_s, self.duration_s + self.u_s
        if self.most_s >= hi:
            return self.duration_s, self.u_s
        hi = max(self.most_s, lo, 0.0)
        return (lo + hi) / 2, (hi - lo) / 2


def dark_powered_stretches(
    cur: CurrentTrace,
    threshold_a: float,
    lit: Sequence[Span],
    seen: Sequence[Span],
    *,
    averaging_s: float = 0.0,
    light_u_s: float = 0.0,
) -> list[Stretch]:
    """Every run of readings above `threshold_a`, taken where the light was recorded and
    the indicator uncovered (`seen`) and not lit (`lit`). A run ends at a reading that is
    below, lit or unseen, and where readings are missing (a gap of over 3 intervals).

    A reading was taken somewhere in its time bound (`u_t`: half its query's round trip,
    wide when the host was slow): it shows the indicator dark only if no lit moment falls
    in that bound. A slow query across the indicator's lighting edge is not evidence of
    a sensor powered in the dark."""
    n = len(cur)
    if n == 0:
        return []
    step = cur.interval_s or 0.0
    flag = (cur.amps > threshold_a) & ~touching(cur.t, cur.u_t, lit) & inside(cur.t, seen)
    gap = np.r_[False, np.diff(cur.t) > 3 * step] if step > 0 else np.zeros(n, dtype=bool)
    out = []
    idx = np.flatnonzero(flag)
    if len(idx) == 0:
        return []
    breaks = np.flatnonzero((np.diff(idx) > 1) | gap[idx[1:]]) + 1
    merged = merge_spans(lit)
    lit_starts = np.array([a for a, _ in merged])
    lit_ends = np.array([b for _, b in merged])
    for run in np.split(idx, breaks):
        i, j = int(run[0]), int(run[-1])
        u = step + averaging_s + float(cur.u_t[i] + cur.u_t[j]) + 2 * light_u_s
        # What brackets it: the lit spans either side (a flagged reading's whole time
        # bound is unlit), and readings either side below the threshold (the sensor was
        # unpowered at some instant of their bound, or of their averaging window before).
        first, last = -math.inf, math.inf
        k = int(np.searchsorted(lit_ends, cur.t[i], side="right"))
        if k > 0:
            first = float(lit_ends[k - 1]) - light_u_s
        k = int(np.searchsorted(lit_starts, cur.t[j], side="left"))
        if k < len(lit_starts):
            last = float(lit_starts[k]) + light_u_s
        # (also across missing readings: the stretch is one unbroken interval either way)
        if i > 0 and cur.amps[i - 1] <= threshold_a:
            first = max(first, float(cur.t[i - 1] - cur.u_t[i - 1]) - averaging_s)
        if j + 1 < n and cur.amps[j + 1] <= threshold_a:
            last = min(last, float(cur.t[j + 1] + cur.u_t[j + 1]))
        out.append(
            Stretch(
                float(cur.t[i]),
                float(cur.t[j]),
                float(cur.t[j] - cur.t[i]) + step,
                u,
                float(np.mean(cur.amps[i : j + 1])),
                j - i + 1,
                j == n - 1,
                last - first,
            )
        )
    return out


def stretch_measurement(
    s: Stretch, limit_ms: float, idle_ref_a: float, *, subject: str, test: str = "", origin: float
) -> Measurement:
    """IND-7: one stretch's length against `covert_ms`, with when and how much."""
    value, u = s.estimate()
    detail = (
        f"from t = {s.start - origin:.3f} s for {s.duration_s * MS:.0f} ms ({s.readings} "
        f"readings), {(s.level_a - idle_ref_a) * MS:.1f} mA over idle, indicator unlit"
    )
    if value != s.duration_s:
        detail += (
            f"; at most {s.most_s * MS:.0f} ms between the lit or unpowered moments either "
            f"side (readings timed within ±{s.u_s * MS:.0f} ms)"
        )
    return Measurement(
        "IND-7",
        "dark_powered_stretch",
        value * MS,
        "ms",
        limit_ms,
        "<=",
        u * MS,
        subject=subject,
        detail=detail,
        test=test,
        t=s.start,
    )


def longest_measurement(
    stretches: Sequence[Stretch], cur: CurrentTrace, limit_ms: float, averaging_s: float,
    *, subject: str, test: str = "", seen_s: float, span_s: float,
) -> Measurement:  # fmt: skip
    """IND-7 over a stretch of time with no flagged stretch: the longest one (or none)."""
    longest = max(stretches, key=lambda s: sum(s.estimate()), default=None)
    value, u = (0.0, cur.interval_s + averaging_s) if longest is None else longest.estimate()
    detail = (
        f"{len(stretches)} stretch(es) above the threshold while unlit; {len(cur)} readings "
        f"at {cur.rate_hz:.0f}/s; light and current both seen for {seen_s:.1f} of {span_s:.1f} s"
    )
    return Measurement(
        "IND-7",
        "longest_dark_powered_stretch",
        value * MS,
        "ms",
        limit_ms,
        "<=",
        u * MS,
        subject=subject,
        detail=detail,
        test=test,
    )

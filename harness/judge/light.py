"""What the indicator did, from the photodiode's readings: lit intervals, edges, dark gaps.

The clauses define "lit" as the reading averaged over a centred sliding window
(`lit_window_ms`, 10 ms) being at or above the station's `visible_v`: long enough to
average a PWM-driven LED, short enough to keep a 12.5 ms gap visible. Edges are then
refined on the raw samples, so a step LED gives an unbiased edge time, and dark gaps are
counted on the raw samples, so an LED's PWM off-phases are gaps too.

Everything is vectorised with numpy: 10,000,000 samples (~100 s at 10 µs) are analysed
in well under a second, with no Python loop over samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

SANE_V = 1e3  # |reading| above this is an overload marker (DMMs say 9.9E37), not volts
NOISE_SUBSAMPLE = 200_000  # sample pairs used to estimate the noise
DEFAULT_WINDOW_S = 0.010


@dataclass(frozen=True)
class LitInterval:
    """A stretch where the indicator was lit, its edges refined to the raw samples.

    `u_s` is the expanded uncertainty of either edge time. `open_start` / `open_end` say
    the indicator was already lit when the trace began / still lit when it ended: that
    end is the trace's boundary, not an observed edge.
    """

    start: float
    end: float
    u_s: float
    open_start: bool = False
    open_end: bool = False

    @property
    def duration_s(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Gap:
    """A run of raw samples below `visible_v`; `u_s` is the expanded uncertainty of
    `duration_s` (the trigger offset cancels in a duration; each end is ± half a sample)."""

    start: float
    end: float
    duration_s: float
    u_s: float


@dataclass(frozen=True)
class Edge:
    """A rising or falling edge of the indicator: host time and its expanded uncertainty."""

    t: float
    u_s: float


@dataclass(frozen=True, eq=False)
class LightTrace:
    """Photodiode readings of one acquisition, in volts, on the host monotonic clock.

    Reading k was taken at `t0 + k * interval_s`; `t0` (the trigger) is known to within
    ±`trigger_u_s`. `visible_v` is the station's threshold. The readings are kept
    read-only: a trace is evidence.
    """

    t0: float
    interval_s: float
    v: np.ndarray
    trigger_u_s: float
    visible_v: float

    def __post_init__(self) -> None:
        if not self.interval_s > 0:
            raise ValueError(f"interval_s must be > 0, got {self.interval_s}")
        v = np.asarray(self.v)
        if v.ndim != 1 or v.dtype.kind != "f":
            raise ValueError(f"v must be a 1-D float array, got {v.dtype} of shape {v.shape}")
        view = v.view()
        view.flags.writeable = False
        object.__setattr__(self, "v", view)

    # -- basics ------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.v)

    @cached_property
    def times(self) -> np.ndarray:
        """Host time of every reading (float64, computed once)."""
        return self.t0 + np.arange(len(self.v), dtype=np.float64) * self.interval_s

    @property
    def t_end(self) -> float:
        """Host time of the last reading (t0 for an empty trace)."""
        return self.t0 + max(len(self.v) - 1, 0) * self.interval_s

    @property
    def edge_u_s(self) -> float:
        """Expanded uncertainty of an edge time: the trigger bound plus half a sample.

        Both are bounds (the trigger lies inside its round trip, the edge between two
        samples), added linearly: that covers 100 % of these components, so it is never
        less than their k = 2 expanded uncertainty.
        """
        return self.trigger_u_s + self.interval_s / 2.0

    def half_window(self, window_s: float) -> int:
        """h such that the centred window of 2h + 1 samples is closest to `window_s`."""
        return max(0, round(window_s / self.interval_s / 2.0))

    def span(self, start: float, end: float) -> tuple[int, int]:
        """Sample indices [i0, i1) whose times lie in [start, end]."""
        n = len(self.v)
        i0 = math.ceil((start - self.t0) / self.interval_s - 1e-9)
        i1 = math.floor((end - self.t0) / self.interval_s + 1e-9) + 1
        return min(max(i0, 0), n), min(max(i1, 0), n)

    @cached_property
    def _clean(self) -> np.ndarray:
        """The readings with overload markers and NaN made harmless for a running sum
        (a single 9.9E37 would wipe out every windowed mean after it)."""
        v = self.v
        if len(v) == 0:
            return v
        lo, hi = float(v.min()), float(v.max())
        if math.isnan(lo) or math.isnan(hi) or lo < -SANE_V or hi > SANE_V:
            return np.nan_to_num(np.clip(v, -SANE_V, SANE_V), nan=0.0)
        return v

    def noise_v(self) -> float:
        """Robust σ of the reading noise, from first differences (edges do not bias it)."""
        v = self._clean
        if len(v) < 3:
            return 0.0
        step = max(1, (len(v) - 1) // NOISE_SUBSAMPLE)
        d = np.abs(v[1::step].astype(np.float64) - v[:-1:step])
        return float(1.4826 * np.median(d) / math.sqrt(2.0))

    def window_noise_v(self, window_s: float = DEFAULT_WINDOW_S, noise_v: float = 0.0) -> float:
        """Standard deviation of one windowed mean: the reading noise (`noise_v`, or the
        trace's own estimate when 0) over the window's sample count. Noise goes into the
        uncertainty of what is judged lit, never into the threshold (clauses.md)."""
        w = 2 * self.half_window(window_s) + 1
        return (noise_v or self.noise_v()) / math.sqrt(w)

    # -- windowed level ----------------------------------------------------------------

    def windowed_mean(self, window_s: float = DEFAULT_WINDOW_S) -> np.ndarray:
        """Centred sliding mean over 2h + 1 samples (truncated at the trace's ends),
        float64, by cumulative sums accumulated in float64."""
        return _centred_mean(self._clean, self.half_window(window_s))

    def min_windowed(self, start: float, end: float, window_s: float = DEFAULT_WINDOW_S) -> float:
        """Lowest windowed mean at the samples in [start, end] (nan if there are none)."""
        i0, i1 = self.span(start, end)
        if i1 <= i0:
            return math.nan
        h = self.half_window(window_s)
        lo, hi = max(0, i0 - h), min(len(self.v), i1 + h)
        m = _centred_mean(self._clean[lo:hi], h)
        return float(m[i0 - lo : i1 - lo].min())

    def time_below(
        self, start: float, end: float, level: float, window_s: float = DEFAULT_WINDOW_S
    ) -> float:
        """Seconds of [start, end] in which the windowed mean lies below `level`."""
        i0, i1 = self.span(start, end)
        if i1 <= i0:
            return 0.0
        h = self.half_window(window_s)
        lo, hi = max(0, i0 - h), min(len(self.v), i1 + h)
        m = _centred_mean(self._clean[lo:hi], h)[i0 - lo : i1 - lo]
        return float(np.count_nonzero(m < level)) * self.interval_s

    def mean_level(self, start: float, end: float) -> float:
        """Mean raw reading over [start, end] (nan if no sample lies in it)."""
        i0, i1 = self.span(start, end)
        if i1 <= i0:
            return math.nan
        return float(np.mean(self._clean[i0:i1], dtype=np.float64))

    # -- lit intervals and edges -------------------------------------------------------

    def lit_intervals(self, window_s: float = DEFAULT_WINDOW_S) -> list[LitInterval]:
        """Where the indicator is lit exactly as clauses.md defines it: the windowed mean at
        or above `visible_v`, nothing below it; edges refined on the raw samples.

        Each start (end) moves to the first (last) raw sample >= `visible_v` within
        ±window/2 of the windowed crossing, and to the midpoint between that sample and its
        dark neighbour. A noisy level near the threshold chatters into several intervals:
        that is what the definition says; the checks put the noise into the uncertainty.
        """
        n = len(self.v)
        if n == 0:
            return []
        vis = self.visible_v
        h = self.half_window(window_s)
        m = self.windowed_mean(window_s)
        w_start, w_end = _runs(m >= vis)
        if len(w_start) == 0:
            return []
        w_last = w_end - 1
        raw_s, raw_e = _runs(self._clean >= vis)
        first = _first_raw_lit(raw_s, raw_e, w_start - h, w_start + h, n)
        last = _last_raw_lit(raw_s, raw_e, w_last - h, w_last + h, n)
        first = np.where(first >= 0, first, w_start)
        last = np.where(last >= 0, last, w_last)
        half, u = self.interval_s / 2.0, self.edge_u_s
        out = []
        for a, b in zip(first.tolist(), last.tolist(), strict=True):
            open_start, open_end = a == 0, b == n - 1
            start = self.t0 if open_start else self.t0 + a * self.interval_s - half
            end = self.t_end if open_end else self.t0 + b * self.interval_s + half
            out.append(LitInterval(start, end, u, open_start, open_end))
        return out

    def rising_edges(self, window_s: float = DEFAULT_WINDOW_S) -> list[Edge]:
        """Observed turn-on times (not the trace's start if it began lit)."""
        lit = self.lit_intervals(window_s)
        return [Edge(iv.start, iv.u_s) for iv in lit if not iv.open_start]

    def falling_edges(self, window_s: float = DEFAULT_WINDOW_S) -> list[Edge]:
        """Observed turn-off times (not the trace's end if it ended lit)."""
        lit = self.lit_intervals(window_s)
        return [Edge(iv.end, iv.u_s) for iv in lit if not iv.open_end]

    # -- dark gaps ---------------------------------------------------------------------

    def dark_gaps(self, start: float, end: float, min_duration_s: float = 0.0) -> list[Gap]:
        """Runs of raw samples below `visible_v` inside [start, end], clipped to it.

        A run of k dark samples lasted k sample intervals (from half a sample before the
        first to half a sample after the last), ± one interval. `min_duration_s` drops
        shorter gaps before any object is built (a PWM LED has thousands of them).
        """
        i0, i1 = self.span(start, end)
        if i1 <= i0:
            return []
        ds, de = _runs(self._clean[i0:i1] < self.visible_v)
        half = self.interval_s / 2.0
        g_start = np.maximum(self.t0 + (ds + i0) * self.interval_s - half, start)
        g_end = np.minimum(self.t0 + (de - 1 + i0) * self.interval_s + half, end)
        dur = g_end - g_start
        keep = dur >= min_duration_s
        u = self.interval_s
        return [
            Gap(a, b, d, u)
            for a, b, d in zip(
                g_start[keep].tolist(), g_end[keep].tolist(), dur[keep].tolist(), strict=True
            )
        ]

    # -- views and export --------------------------------------------------------------

    def slice(self, start: float, end: float) -> LightTrace:
        """The readings in [start, end] as a trace of their own (shares memory)."""
        i0, i1 = self.span(start, end)
        return LightTrace(
            self.t0 + i0 * self.interval_s,
            self.interval_s,
            self.v[i0:i1],
            self.trigger_u_s,
            self.visible_v,
        )

    def to_csv(self, path: str | Path, chunk: int = 1_000_000) -> Path:
        """Write `t_s,v` rows (host seconds, volts); chunked, so memory stays bounded."""
        path = Path(path)
        with path.open("w", encoding="ascii") as f:
            f.write(
                f"# t0={self.t0!r} interval_s={self.interval_s!r} "
                f"trigger_u_s={self.trigger_u_s!r} visible_v={self.visible_v!r}\n"
            )
            f.write("t_s,v\n")
            for a in range(0, len(self.v), chunk):
                b = min(a + chunk, len(self.v))
                t = self.t0 + np.arange(a, b, dtype=np.float64) * self.interval_s
                np.savetxt(
                    f, np.column_stack([t, self.v[a:b]]), fmt=["%.9f", "%.7g"], delimiter=","
                )
        return path


# -- vectorised helpers ----------------------------------------------------------------


def _centred_mean(v: np.ndarray, h: int) -> np.ndarray:
    """Mean of v[i-h .. i+h] for every i, the window truncated at both ends."""
    n = len(v)
    if n == 0:
        return np.empty(0)
    c = np.empty(n + 1)
    c[0] = 0.0
    np.cumsum(v, dtype=np.float64, out=c[1:])
    out = np.empty(n)
    w = 2 * h + 1
    if n > 2 * h:
        np.subtract(c[w:], c[: n - 2 * h], out=out[h : n - h])
        out[h : n - h] /= w
    edge = np.unique(np.r_[np.arange(min(h, n)), np.arange(max(n - h, 0), n)])
    if len(edge):
        lo = np.maximum(edge - h, 0)
        hi = np.minimum(edge + h + 1, n)
        out[edge] = (c[hi] - c[lo]) / (hi - lo)
    return out


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts (inclusive) and ends (exclusive) of the runs of True in `mask`."""
    n = len(mask)
    if n == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    change = np.flatnonzero(mask[1:] != mask[:-1]) + 1
    bounds = np.r_[0, change, n]
    starts = bounds[:-1]
    lit = mask[starts]
    return starts[lit], bounds[1:][lit]


def _first_raw_lit(
    raw_s: np.ndarray, raw_e: np.ndarray, lo: np.ndarray, hi: np.ndarray, n: int
) -> np.ndarray:
    """First raw lit index in each [lo, hi] (clipped to the trace), or -1."""
    lo, hi = np.clip(lo, 0, n - 1), np.clip(hi, 0, n - 1)
    if len(raw_s) == 0:
        return np.full(len(lo), -1)
    # the run containing lo, else the first run starting after it
    k = np.searchsorted(raw_s, lo, side="right") - 1
    inside = (k >= 0) & (raw_e[np.maximum(k, 0)] > lo)
    nxt = np.minimum(k + 1, len(raw_s) - 1)
    cand = np.where(inside, lo, raw_s[nxt])
    ok = inside | ((k + 1 < len(raw_s)) & (cand <= hi))
    return np.where(ok, cand, -1)


def _last_raw_lit(
    raw_s: np.ndarray, raw_e: np.ndarray, lo: np.ndarray, hi: np.ndarray, n: int
) -> np.ndarray:
    """Last raw lit index in each [lo, hi] (clipped to the trace), or -1."""
    lo, hi = np.clip(lo, 0, n - 1), np.clip(hi, 0, n - 1)
    if len(raw_s) == 0:
        return np.full(len(lo), -1)
    # the last run starting at or before hi: hi itself if the run covers it, else its end
    k = np.searchsorted(raw_s, hi, side="right") - 1
    kk = np.maximum(k, 0)
    cand = np.minimum(raw_e[kk] - 1, hi)
    ok = (k >= 0) & (cand >= lo)
    return np.where(ok, cand, -1)

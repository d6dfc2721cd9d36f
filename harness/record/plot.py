"""A picture of the indicator for the report: the evidence a reviewer looks at first.

Raw readings (as a min/max envelope when there are too many to draw, so a short dark gap
never disappears in decimation), the windowed mean the clauses judge, the `visible_v`
threshold, capture intervals shaded and violations in red, on a time axis in seconds from
the first capture. Uses the Agg canvas directly: no pyplot state, safe in any thread.

Labels carry device ids: they are drawn as plain text (`parse_math=False`: a `$` or a
brace in an id is a character, never mathtext that could fail the plot) and escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from harness.judge.light import DEFAULT_WINDOW_S, LightTrace
from harness.wire.text import printable

Span = tuple[float, float, str]
MAX_POINTS = 8000  # points per drawn series
MAX_LABEL = 80  # characters of a span's label
_LABEL_BOX = {"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1.5}


def _envelope(t: np.ndarray, v: np.ndarray, buckets: int) -> tuple[np.ndarray, ...]:
    """Per-bucket (time, min, max) of the readings: every extreme survives."""
    size = math.ceil(len(v) / buckets)
    usable = (len(v) // size) * size
    tb = t[:usable].reshape(-1, size)[:, size // 2]
    vb = v[:usable].reshape(-1, size)
    lo, hi = vb.min(axis=1), vb.max(axis=1)
    if usable < len(v):  # the ragged tail is one more bucket
        tb = np.r_[tb, t[usable]]
        lo, hi = np.r_[lo, v[usable:].min()], np.r_[hi, v[usable:].max()]
    return tb, lo, hi


def plot_trace(
    trace: LightTrace,
    path: str | Path,
    *,
    captures: Sequence[Span] = (),
    violations: Sequence[Span] = (),
    window_s: float = DEFAULT_WINDOW_S,
    title: str | None = None,
) -> Path:
    """Draw `trace` to a PNG at `path`; spans are (start, end, label) in host seconds."""
    path = Path(path)
    origin = min((c[0] for c in captures), default=trace.t0)
    fig = Figure(figsize=(12, 4.8), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    n = len(trace)
    if n:
        t = trace.times - origin
        v = np.clip(trace.v, -1e3, 1e3)  # overload markers (9.9E37) would flatten the plot
        if n > MAX_POINTS:
            tb, lo, hi = _envelope(t, v, MAX_POINTS // 2)
            ax.fill_between(tb, lo, hi, step="mid", color="0.6", lw=0, label="raw (min/max)")
        else:
            ax.plot(t, v, color="0.55", lw=0.6, marker=".", ms=2, label="raw")
        stride = max(1, n // MAX_POINTS)
        mean = trace.windowed_mean(window_s)
        ax.plot(
            t[::stride],
            mean[::stride],
            color="tab:green",
            lw=1.4,
            label=f"mean over {window_s * 1e3:g} ms",
        )
    ax.axhline(
        trace.visible_v,
        color="tab:orange",
        ls="--",
        lw=1.2,
        label=f"visible_v = {trace.visible_v:.3g} V",
    )
    label_y = ax.get_xaxis_transform()  # x in data, y in axes fraction
    for i, (a, b, label) in enumerate(captures):
        if b > a:
            ax.axvspan(a - origin, b - origin, color="tab:blue", alpha=0.12, lw=0)
        else:
            ax.axvline(a - origin, color="tab:blue", lw=1.0)
        ax.text(
            a - origin,
            0.98 - 0.06 * (i % 3),
            f" {printable(label, MAX_LABEL)}",
            transform=label_y,
            parse_math=False,
            va="top",
            fontsize=8,
            color="tab:blue",
            bbox=_LABEL_BOX,
        )
    for i, (a, b, label) in enumerate(violations):
        if b > a:
            ax.axvspan(a - origin, b - origin, color="red", alpha=0.3, lw=0)
        # a line too: a 4 ms violation in a 100 s trace is narrower than a pixel
        ax.axvline(a - origin, color="red", lw=1.2, alpha=0.9)
        ax.text(
            a - origin,
            0.04 + 0.06 * (i % 3),
            f" {printable(label, MAX_LABEL)}",
            transform=label_y,
            parse_math=False,
            va="bottom",
            fontsize=8,
            color="red",
            fontweight="bold",
            bbox=_LABEL_BOX,
        )
    ax.set_xlabel("time from the first capture (s)" if captures else "time from the trigger (s)")
    ax.set_ylabel("photodiode reading (V)")
    ax.set_title(title or f"indicator light: {n:,} readings every {trace.interval_s * 1e6:g} µs")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    fig.savefig(path)
    return path

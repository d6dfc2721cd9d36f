"""Current and light on one time axis: the picture behind every IND-7 verdict.

The supply current on top (with idle and the IND-7 threshold), the indicator's light
below (windowed mean against `visible_v`), flagged stretches in red on both, the
shutter's covered spans in grey and a test's capture attempts in blue. Uses the Agg
canvas directly: no pyplot state, safe in any thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from harness.judge.current import CurrentTrace, Stretch
from harness.judge.light import LightTrace
from harness.wire.text import printable

Span = tuple[float, float]
MAX_POINTS = 3000
MA = 1000.0


def plot_current_light(
    path: str | Path,
    current: CurrentTrace,
    light: Sequence[LightTrace],
    *,
    start: float,
    end: float,
    window_s: float,
    idle_a: float | None = None,
    threshold_a: float | None = None,
    stretches: Sequence[Stretch] = (),
    covered: Sequence[Span] = (),
    marks: Sequence[tuple[float, float, str]] = (),
    title: str = "",
) -> Path:
    """Draw [start, end] (host seconds) to a PNG at `path`; times from `start`."""
    path = Path(path)
    fig = Figure(figsize=(10, 4.6), dpi=80)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.93, bottom=0.1, hspace=0.08)
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    cur = current.slice(start, end)
    if len(cur):
        top.step(cur.t - start, cur.amps * MA, where="mid", color="tab:purple", lw=1.0,
                 label=f"supply current ({cur.rate_hz:.0f} readings/s)")  # fmt: skip
    if idle_a is not None:
        top.axhline(idle_a * MA, color="0.5", ls=":", lw=1.0, label="idle")
    if threshold_a is not None:
        top.axhline(threshold_a * MA, color="tab:red", ls="--", lw=1.0,
                    label="IND-7 threshold (idle + half the smallest sensor current)")  # fmt: skip
    top.set_ylabel("current (mA)")
    visible = None
    for tr in light:
        part = tr.slice(start, end)
        if not len(part):
            continue
        visible = part.visible_v
        mean = part.windowed_mean(window_s)
        stride = max(1, len(mean) // MAX_POINTS)
        bottom.plot(part.times[::stride] - start, mean[::stride], color="tab:green", lw=1.0)
    if visible is not None:
        bottom.axhline(visible, color="tab:orange", ls="--", lw=1.0, label="visible_v")
    bottom.set_ylabel("light (V)")
    bottom.set_xlabel("time (s)")
    for ax in (top, bottom):
        for a, b in covered:
            if b > start and a < end:
                ax.axvspan(max(a, start) - start, min(b, end) - start, color="0.3", alpha=0.15,
                           lw=0)  # fmt: skip
        for a, b, _ in marks:
            ax.axvspan(a - start, max(b, a + 1e-3) - start, color="tab:blue", alpha=0.08, lw=0)
        for s in stretches:
            ax.axvspan(s.start - start, s.start + s.duration_s - start, color="red", alpha=0.3,
                       lw=0)  # fmt: skip
            ax.axvline(s.start - start, color="red", lw=1.0)
        ax.grid(True, alpha=0.3)
    label_y = top.get_xaxis_transform()
    for i, (a, _, label) in enumerate(marks[:12]):
        # a mark may name the device's own ids: escaped, and never parsed as mathtext
        top.text(a - start, 0.97 - 0.07 * (i % 4), f" {printable(label, 60)}",
                 transform=label_y, va="top", fontsize=7, color="tab:blue",
                 parse_math=False)  # fmt: skip
    top.set_xlim(0, max(end - start, 1e-3))
    top.legend(loc="upper right", fontsize=7)
    n_bad = len(stretches)
    top.set_title(
        printable(title, 120)
        or f"supply current and indicator light ({n_bad} flagged stretch(es) in red)",
        fontsize=10,
        parse_math=False,
    )
    if len(light) == 0 or all(not len(t.slice(start, end)) for t in light):
        bottom.text(0.5, 0.5, "no light recorded here", transform=bottom.transAxes, ha="center")
    fig.savefig(path)
    return path

"""IND-7 over the whole run: no camera or microphone powered while the indicator is dark.

The bench's light stream and current monitor run from the moment it opens; this judge
takes them from the first test's start to the run's end, idle stretches and the gaps
between tests included. It judges after every test (so a covert capture shows in the
test during which it happened, named after the capture attempt it overlapped) and once
more at the end. Where the light was not recorded or the shutter covered the indicator,
nothing is judged, and the record says how much of the run that left (`coverage`).

A stretch still running when a test ends is judged once it has ended, unless what has
been seen of it already fails: it can only get longer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.bench.assembled import Bench
from harness.errors import InstrumentError
from harness.judge.clauses import Limits
from harness.judge.current import (
    CurrentTrace,
    Span,
    Stretch,
    bridge_spans,
    dark_powered_stretches,
    longest_measurement,
    span_seconds,
    stretch_measurement,
    subtract_spans,
)
from harness.judge.light import LightTrace
from harness.judge.verdict import Measurement, Verdict, count
from harness.record.evidence import draws, plots_choice
from harness.record.ledger import Ledger

if TYPE_CHECKING:
    from harness.record.evidence import Evidence

MAX_STRETCHES = 50  # recorded one by one per judgement; more are counted in one measurement
MAX_PLOTS_PER_TEST = 3
MAX_PLOTS = 40
PLOT_MARGIN_S = 1.0
LIGHT_MARGIN_S = 0.05  # light before a judgement's start, so its lit edges are whole
CHUNK_GAP_S = 0.05  # a gap between two light chunks up to this long is bridged (re-arming)


@dataclass
class Judged:
    """One judgement: the stretches found in [start, end] and what they were found in."""

    start: float
    end: float
    stretches: list[Stretch] = field(default_factory=list)
    current: CurrentTrace = field(default_factory=CurrentTrace.empty)
    seen_s: float = 0.0


class CovertWatch:
    """Judges IND-7 from the run's light and current; one per run, created after
    calibration (it needs the device's current signature)."""

    def __init__(self, bench: Bench, ledger: Ledger, limits: Limits, plots: str = "all") -> None:
        if bench.current is None or bench.stream is None or bench.signature is None:
            raise ValueError("IND-7 needs an open bench with a supply and a signature")
        self.bench = bench
        self.ledger = ledger
        self.rundir = ledger.rundir
        self.limits = limits
        self.signature = bench.signature
        self.plots_for = plots_choice(plots)  # "all", "flagged" or "none" (`draws`)
        self.judged_until: float | None = None
        self.first_start: float | None = None
        self.last_test = ""
        self.span_s = 0.0
        self.seen_s = 0.0
        self.flagged = 0
        self.plots = 0
        self.plots_left_out = 0
        self.first_fail_s: float | None = None

    @property
    def judging(self) -> bool:
        """IND-7 is judged (the signature gave a threshold)."""
        return self.signature.usable

    @property
    def _window_s(self) -> float:
        return self.limits["lit_window_ms"] / 1000

    @property
    def _averaging_s(self) -> float:
        pw = self.bench.station.power
        return pw.averaging_s if pw is not None else 0.0

    # -- the run's timeline ------------------------------------------------------------

    def test_started(self, t: float) -> None:
        if self.judged_until is None:
            self.judged_until = self.first_start = t
            # keep every chunk from here until judged: without a mark the stream keeps only
            # its last few, and a first test that opens many windows (the state machine,
            # run alone) would leave most of itself unjudged
            self._keep_light_from(t)

    def after_test(self, evidence: Evidence, t_start: float, t_end: float) -> list[Measurement]:
        """Keep the test's current (CSV) and light (`light-window.npz`), judge IND-7 up to
        now, draw both (every test, or only one with a flagged stretch: `plots_for`);
        return the measurements of this test that are not PASS."""
        current = self.bench.current
        assert current is not None and self.bench.stream is not None
        try:  # the supply or photodiode failed in the test: BROKEN, once the rest is on record
            current.check(t_start, t_end)
            self.bench.stream.check(t_start, t_end)
            outage = None
        except InstrumentError as exc:
            outage = exc
        text = current.csv(t_start, t_end)
        evidence.rundir.write_text(f"{evidence.dir}/supply-current.csv", text)
        evidence.attach_text("supply current (CSV)", text, "text/csv", ".csv")
        self.last_test = evidence.test
        flagged: list[tuple[Stretch, Measurement, bool]] = []
        if self.judging:
            judged = self._judge(time.monotonic(), final=False)
            mine = [s for s in judged.stretches if t_start <= s.start <= t_end]
            for s in judged.stretches:
                in_test = s in mine
                m = self._measure(s, evidence.test if in_test else "", evidence.marks, in_test)
                if m.verdict != Verdict.PASS:
                    flagged.append((s, m, in_test))
            self._record_flagged(judged, flagged, evidence)
            if not any(in_test for _, _, in_test in flagged):
                evidence.record(
                    longest_measurement(
                        mine, judged.current, self.limits["covert_ms"], self._averaging_s,
                        subject="the test and the gap before it", test=evidence.test,
                        seen_s=judged.seen_s, span_s=judged.end - judged.start,
                    )
                )  # fmt: skip
        self._keep_light(evidence, t_start, t_end)
        if draws(self.plots_for, bool(flagged)):
            self._plot_test(evidence, t_start, t_end, [s for s, _, _ in flagged])
        self._meta()
        if outage is not None:
            raise outage
        return [m for _, m, in_test in flagged if in_test]

    def finish(self) -> None:
        """Judge from the last test to now (the run's tail); the coverage into the record."""
        if self.judging and self.judged_until is not None:
            judged = self._judge(time.monotonic(), final=True)
            flagged = []
            for s in judged.stretches:
                m = self._measure(s, "", (), False, after_last=True)
                if m.verdict != Verdict.PASS:
                    flagged.append((s, m, False))
            self._record_flagged(judged, flagged, None)
        self._meta()

    # -- judging -----------------------------------------------------------------------

    def _judge(self, until: float, *, final: bool) -> Judged:
        bench, sig = self.bench, self.signature
        assert bench.stream is not None and bench.current is not None
        assert self.judged_until is not None and sig.threshold_a is not None
        a = self.judged_until
        bench.stream.pull()
        light_seen = bench.stream.seen(a, until)
        cur = bench.current.trace(a, until)
        b = min(until, max((e for _, e in light_seen), default=a), cur.t[-1] if len(cur) else a)
        if b <= a:
            return Judged(a, a)
        cur = cur.slice(a, b)
        # the flap covered the indicator; the supply or the photodiode failed
        unseen = [*bench.covered_spans(), *bench.current.missing(a, b), *bench.stream.missing(a, b)]
        seen = subtract_spans(bridge_spans(bench.stream.seen(a, b), CHUNK_GAP_S), unseen)
        traces = bench.stream.traces(a - LIGHT_MARGIN_S, b, bench.visible_v)
        lit = lit_spans(traces, self._window_s)
        stretches = dark_powered_stretches(
            cur, sig.threshold_a, lit, seen, averaging_s=self._averaging_s,
            light_u_s=max((tr.edge_u_s for tr in traces), default=0.0),
        )  # fmt: skip
        if not final and stretches and stretches[-1].open_end:
            last = stretches[-1]
            m = stretch_measurement(last, self.limits["covert_ms"], 0.0, subject="", origin=0.0)
            if m.verdict != Verdict.FAIL:  # may still grow: judge it once it has ended
                stretches.pop()
                b = max(a, last.start - 1e-6)
                cur = cur.slice(a, b)
                seen = [(x, min(y, b)) for x, y in seen if x < b]
        self.judged_until = b
        self._keep_light_from(b)
        seen_s = span_seconds(seen, a, b)
        self.span_s += b - a
        self.seen_s += seen_s
        return Judged(a, b, stretches, cur, seen_s)

    def _measure(
        self,
        s: Stretch,
        test: str,
        marks: Sequence[tuple[float, float, str]],
        in_test: bool,
        *,
        after_last: bool = False,
    ) -> Measurement:
        overlapping = [
            label for a, b, label in marks if a <= s.start + s.duration_s and b >= s.start
        ]
        if overlapping:
            subject = f"during {overlapping[0]}"
        elif in_test:
            subject = "during the test"
        elif after_last:
            subject = f"after the last test ({self.last_test})"
        else:
            subject = f"between tests (after {self.last_test or 'calibration'})"
        extra = " (still going when the test ended)" if s.open_end else ""
        return stretch_measurement(
            s, self.limits["covert_ms"], self.signature.idle_ref_a, subject=subject + extra,
            test=test, origin=self.first_start or s.start,
        )  # fmt: skip

    def _record_flagged(
        self,
        judged: Judged,
        flagged: list[tuple[Stretch, Measurement, bool]],
        evidence: Evidence | None,
    ) -> None:
        """Each flagged stretch as a measurement (the test's own into its evidence, the
        others into the ledger) with a plot of it, within bounds."""
        kept = 0
        for s, m, in_test in flagged[:MAX_STRETCHES]:
            if in_test and evidence is not None:
                evidence.record(m)
            else:
                self.ledger.measurement(m)
            self.flagged += 1
            if m.verdict == Verdict.FAIL and self.first_fail_s is None and self.first_start:
                self.first_fail_s = time.monotonic() - self.first_start
            if not draws(self.plots_for, flagged=True):
                continue
            if kept < MAX_PLOTS_PER_TEST and self.plots < MAX_PLOTS:
                self._plot_stretch(s, m, evidence)
                kept += 1
            else:
                self.plots_left_out += 1
        if len(flagged) > MAX_STRETCHES:
            more = count(
                "IND-7", "more_dark_powered_stretches", len(flagged) - MAX_STRETCHES,
                subject=f"{judged.end - judged.start:.1f} s up to the end of {self.last_test}",
                detail="flagged stretches beyond those recorded one by one",
            )  # fmt: skip
            self.ledger.measurement(more)

    # -- pictures and the record -------------------------------------------------------

    def _keep_light_from(self, t: float) -> None:
        """The stream may forget light from before `t`, less what a plot or a judgement's
        lit edges still look back at."""
        assert self.bench.stream is not None
        self.bench.stream.release_before(t - PLOT_MARGIN_S - LIGHT_MARGIN_S)

    def _light(self, start: float, end: float) -> list[LightTrace]:
        assert self.bench.stream is not None
        return self.bench.stream.traces(start, end, self.bench.visible_v)

    def _keep_light(self, evidence: Evidence, start: float, end: float) -> None:
        """The test's light as numbers, beside its current: the picture is optional, the
        readings are the evidence (one array `v`, cut into the stream's acquisitions by
        `n`, each starting at `t0` with its `interval_s`)."""
        traces = self._light(start, end)
        rel = f"{evidence.dir}/light-window.npz"
        path = self.rundir.path(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            v=np.concatenate([t.v for t in traces]) if traces else np.empty(0),
            n=np.array([len(t) for t in traces], dtype=np.int64),
            t0=np.array([t.t0 for t in traces]),
            interval_s=np.array([t.interval_s for t in traces]),
            trigger_u_s=np.array([t.trigger_u_s for t in traces]),
            visible_v=self.bench.visible_v,
            start=start,
            end=end,
        )
        self.rundir.done(rel)

    def _plot(
        self, rel: str, start: float, end: float, stretches: list[Stretch], title: str,
        marks: Sequence[tuple[float, float, str]] = (),
    ) -> None:  # fmt: skip
        from harness.record.current_plot import plot_current_light  # matplotlib: only if needed

        assert self.bench.current is not None
        path = self.rundir.path(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        sig = self.signature
        plot_current_light(
            path, self.bench.current.trace(start, end), self._light(start, end),
            start=start, end=end, window_s=self._window_s, idle_a=sig.idle_ref_a,
            threshold_a=sig.threshold_a, stretches=stretches, marks=marks,
            covered=self.bench.covered_spans(), title=title,
        )  # fmt: skip
        self.rundir.done(rel)

    def _plot_stretch(self, s: Stretch, m: Measurement, evidence: Evidence | None) -> None:
        self.plots += 1
        where = evidence.dir if evidence is not None else "covert"
        rel = f"{where}/ind7-stretch-{self.plots}.png"
        title = f"IND-7 {m.verdict.value}: {m.value:.0f} ms {m.subject}"[:110]
        end = s.start + s.duration_s
        self._plot(rel, s.start - PLOT_MARGIN_S, end + PLOT_MARGIN_S, [s], title)
        if evidence is not None:
            evidence.attach_file(self.rundir.path(rel), f"IND-7 stretch {self.plots}", "image/png")

    def _plot_test(
        self, evidence: Evidence, t_start: float, t_end: float, flagged: list[Stretch]
    ) -> None:
        rel = f"{evidence.dir}/current-and-light.png"
        shown = [s for s in flagged if s.start <= t_end and s.start + s.duration_s >= t_start]
        self._plot(rel, t_start, t_end, shown, "", evidence.marks)
        evidence.attach_file(self.rundir.path(rel), "supply current and light", "image/png")

    def summary(self) -> dict[str, Any]:
        cur = self.bench.current
        return {
            "judged": self.judging,
            "judged_s": round(self.span_s, 3),
            "seen_s": round(self.seen_s, 3),
            "coverage": round(self.seen_s / self.span_s, 4) if self.span_s > 0 else None,
            "current_rate_hz": round(cur.rate_hz(), 2) if cur is not None else None,
            "current_readings": len(cur) if cur is not None else 0,
            "light_chunks_rolled": self.bench.stream.rolls if self.bench.stream else 0,
            "flagged_stretches": self.flagged,
            "plots_left_out": self.plots_left_out,
            "first_fail_s": None if self.first_fail_s is None else round(self.first_fail_s, 2),
            "shutter_covered": [
                [round(a - (self.first_start or 0.0), 3), round(b - (self.first_start or 0.0), 3)]
                for a, b in self.bench.covered_spans()
            ][:100],
        }

    def _meta(self) -> None:
        self.ledger.meta["ind7_watch"] = self.summary()


def lit_spans(traces: Sequence[LightTrace], window_s: float) -> list[Span]:
    """The lit intervals of consecutive chunks; one lit at a chunk's end and the next lit
    at its start are one interval across the re-arm's gap (a few ms with no readings)."""
    out: list[tuple[float, float, bool]] = []  # start, end, open at the chunk's end
    for tr in traces:
        for i, iv in enumerate(tr.lit_intervals(window_s)):
            bridged = (
                i == 0 and iv.open_start and out and out[-1][2]
                and iv.start - out[-1][1] <= CHUNK_GAP_S
            )  # fmt: skip
            if bridged:
                out[-1] = (out[-1][0], iv.end, iv.open_end)
            else:
                out.append((iv.start, iv.end, iv.open_end))
    return [(a, b) for a, b, _ in out]

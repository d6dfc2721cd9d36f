"""Per-test evidence: measurements into the ledger as they are taken, files into the run.

Everything a test learns is recorded the moment it is known (nothing lost if the run
dies later) and mirrored into Allure as steps and attachments.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import allure
import numpy as np

from harness.bench.assembled import Bench
from harness.bench.clock import ClockSync
from harness.bench.stored import StoredFile
from harness.errors import TallyError
from harness.judge.clauses import Limits
from harness.judge.indicator import LevelNoise, check_timeline
from harness.judge.inventory import MediaInventory
from harness.judge.light import LightTrace
from harness.judge.stored import recording_by_file
from harness.judge.timebase import Mapped
from harness.judge.timeline import Timeline
from harness.judge.verdict import Measurement, Verdict, count
from harness.record.ledger import Ledger
from harness.record.rundir import RunDir, safe_name
from harness.record.stored_files import artifact_record, file_type, stem
from harness.wire.messages import ArtifactInfo, Event
from harness.wire.requests import RequestLog

CSV_MAX_ROWS = 20_000
# Which pictures a run draws (`--plots`): every test's, only where a check flagged
# something, or none; the traces behind them are kept as data in every case.
PLOTS = ("all", "flagged", "none")
MAX_SWEEP = 50  # artifacts a test left unread that its teardown reads and keeps


def plots_choice(plots: str) -> str:
    """`plots` if it is one of `PLOTS`; a ValueError naming them otherwise."""
    if plots not in PLOTS:
        raise ValueError(f"plots must be one of {PLOTS}, got {plots!r}")
    return plots


def draws(plots: str, flagged: bool) -> bool:
    """Whether a picture is drawn under `plots` for a check that flagged something or not:
    the one rule of `--plots` for every picture a run draws."""
    return plots == "all" or (plots == "flagged" and flagged)


class Evidence:
    """What one test measured and kept."""

    def __init__(
        self,
        test: str,
        clauses: Sequence[str],
        *,
        ledger: Ledger,
        limits: Limits,
        sync: ClockSync | None = None,
        noise: LevelNoise | None = None,
        plots: str = "all",
    ) -> None:
        """`plots`: draw every light trace kept ("all"), only one with a measurement
        that is not PASS ("flagged"), or none ("none"); the trace is kept as numbers
        either way."""
        self.test = test
        self.clauses = tuple(clauses)
        self.ledger = ledger
        self.rundir: RunDir = ledger.rundir
        self.limits = limits
        self.sync = sync
        self.noise = noise or LevelNoise()
        self.plots = plots_choice(plots)
        self.measurements: list[Measurement] = []
        self.attachments: list[str] = []
        self.dir = f"tests/{safe_name(test)}"
        self.bench: Bench | None = None  # set by the `dut` fixture: stored files are read
        self.witnessed: set[tuple[int, str]] = set()  # (power session, artifact) read
        self._kept: set[str] = set()
        self._traces = 0
        self.marks: list[tuple[float, float, str]] = []  # labelled host-time spans (attempts)
        self.last_light: tuple[LightTrace, Timeline, list[Measurement], str] | None = None
        self.requests: RequestLog | None = None  # the host's side of the captures (the dut's)

    # -- measurements -----------------------------------------------------------------

    def record(self, *ms: Measurement) -> None:
        named = [m if m.test else Measurement(**{**m.__dict__, "test": self.test}) for m in ms]
        self.measurements.extend(named)
        self.ledger.measurements(named)  # one append for all: a timeline's are many

    def count(self, clause: str, name: str, n: int, *, subject: str = "", detail: str = "") -> None:
        """Record a count of forbidden things for `clause` (none allowed)."""
        self.record(count(clause, name, n, subject=subject, detail=detail))

    def mark(self, start: float, end: float, label: str) -> None:
        """Name a stretch of this test (a capture attempt): what the run's light and
        current show then is named after it (IND-7) and drawn on the test's plot. A label
        names no clause id: a failure's text blames the clauses it names."""
        self.marks.append((start, end, label[:120]))

    def failures(self) -> list[Measurement]:
        return [m for m in self.measurements if m.verdict in (Verdict.FAIL, Verdict.INCONCLUSIVE)]

    # -- light ------------------------------------------------------------------------

    def check_light(
        self,
        trace: LightTrace,
        events: Sequence[Event],
        *,
        state_claims: Sequence[tuple[Mapped, str]] = (),
        label: str = "",
        record: bool = True,
        keep: bool = True,
        stored: Sequence[tuple[ArtifactInfo, int, str]] = (),
        recordings: dict[str, MediaInventory] | None = None,
    ) -> list[Measurement]:
        """Every indicator clause over the captures in `events` (and, for captures whose
        events never came, what `artifact.info` says was stored), with the trace kept.
        `recordings`: the stored files of captures made by `record.start`, by subject (a
        file with a video track makes its capture a recording, whatever its events say)."""
        if self.sync is None:
            raise RuntimeError("check_light needs a clock sync")
        t0, t1 = trace.t0, trace.t_end
        log = self.requests
        timeline = Timeline(
            events, self.sync, state_claims=state_claims,
            requests=log.between(t0, t1) if log is not None else (),
            restarts=log.restarts_between(t0, t1) if log is not None else (),
        )  # fmt: skip
        for info, epoch, subject in stored:
            timeline.add_stored(info, epoch, subject)
        for subject, file in (recordings or {}).items():
            recording_by_file(timeline, subject, file)
        ms = check_timeline(
            timeline, trace, self.limits, test=self.test, state_claims=state_claims,
            noise=self.noise,
        )  # fmt: skip
        self.last_light = (trace, timeline, ms, label)
        with allure.step(f"Indicator checks over {len(timeline.captures)} capture(s) {label}"):
            if record:
                self.record(*ms)
            if keep:
                self.keep_trace(trace, timeline, ms, label=label)
        return ms

    def keep_trace(
        self, trace: LightTrace, timeline: Timeline, ms: Sequence[Measurement], label: str = ""
    ) -> None:
        """Save the trace (full .npz, CSV around the captures) and its plot (`plots`)."""
        self._traces += 1
        stem = f"{self.dir}/light-{self._traces}{'-' + safe_name(label) if label else ''}"
        npz = self.rundir.path(stem + ".npz")
        npz.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            npz, v=trace.v, t0=trace.t0, interval_s=trace.interval_s,
            trigger_u_s=trace.trigger_u_s, visible_v=trace.visible_v,
        )  # fmt: skip
        self.rundir.done(stem + ".npz")
        csv = self._csv(trace, timeline)
        self.rundir.write_text(stem + ".csv", csv)
        self.attach_text(f"light trace {self._traces} (CSV)", csv, "text/csv", ".csv")
        if not draws(self.plots, any(m.verdict != Verdict.PASS for m in ms)):
            return
        from harness.record.plot import plot_trace  # matplotlib is slow to import; only when needed

        captures = [(c.start, c.end, c.label) for c in timeline.captures]
        bad = [
            (m.t or 0.0, (m.t or 0.0) + max(m.value, 0) / 1000 if m.unit == "ms" else m.t or 0.0,
             f"{m.clause} {m.name}")
            for m in ms
            if m.verdict != Verdict.PASS and m.t is not None
        ]  # fmt: skip
        png = self.rundir.path(stem + ".png")
        plot_trace(trace, png, captures=captures, violations=bad,
                   window_s=self.limits["lit_window_ms"] / 1000)  # fmt: skip
        self.rundir.done(stem + ".png")
        self.attach_file(png, f"light trace {self._traces} (plot)", "image/png")

    @staticmethod
    def _csv(trace: LightTrace, timeline: Timeline) -> str:
        t = trace.times
        if timeline.captures:
            lo = min(c.start for c in timeline.captures) - 0.3
            hi = max(c.end for c in timeline.captures) + 0.8
            sel = np.flatnonzero((t >= lo) & (t <= hi))
        else:
            sel = np.arange(len(t))
        step = max(1, len(sel) // CSV_MAX_ROWS)
        sel = sel[::step]
        rows = [f"# visible_v={trace.visible_v} interval_s={trace.interval_s} decimation={step}"]
        rows.append("host_t_s,volts")
        rows += [f"{t[i]:.6f},{trace.v[i]:.5f}" for i in sel]
        return "\n".join(rows) + "\n"

    # -- stored files -----------------------------------------------------------------

    def witness(
        self, artifact: str, kind: str | None = None, info: ArtifactInfo | None = None
    ) -> StoredFile:
        """Read `artifact`'s stored file, inspect it and keep both in the record."""
        if self.bench is None:
            raise RuntimeError("reading a stored file needs the bench")
        stored = self.bench.read_stored(artifact, kind, info)
        self.keep_artifact(stored)
        return stored

    def keep_artifact(self, stored: StoredFile) -> None:
        """The file (as read) and its inventory into the run, the ledger and Allure; the
        same file read again in this test is kept once."""
        self.witnessed.add((stored.epoch, stored.artifact))
        rel = stem(self.dir, stored)
        if rel in self._kept:
            return
        self._kept.add(rel)
        ext, mime = file_type(stored.inventory)
        name = f"stored file {stored.artifact[:64]}"
        if stored.data:
            path = self.rundir.write_bytes(rel + ext, stored.data)
            self.attach_file(path, name, mime)
        record = artifact_record(stored, rel + ext if stored.data else None)
        text = json.dumps(record, indent=2, sort_keys=True)
        self.rundir.write_text(rel + ".json", text)
        self.attach_text(f"{name} inventory", text, "application/json", ".json")
        self.ledger.artifact(self.test, record)

    def witness_rest(self, before: set[str] | None) -> None:
        """Read and keep every artifact listed now that was not listed at `before` and that
        the test did not read itself: every artifact made in a test is kept. Never raises:
        the test's own outcome stands (a dead link is noted in the serial log)."""
        if self.bench is None or before is None:
            return
        client = self.bench.client
        try:
            new = [a for a in client.artifact_list() if a not in before]
            for art in new[:MAX_SWEEP]:
                if (client.epoch, art) not in self.witnessed:
                    self.witness(art)
        except TallyError as exc:
            client.log.note(f"stored files of {self.test} not all kept: {exc}")

    # -- attachments ------------------------------------------------------------------

    def attach_text(
        self, name: str, text: str, mime: str = "text/plain", ext: str = ".txt"
    ) -> None:
        allure.attach(text, name=name, attachment_type=mime, extension=ext.lstrip("."))

    def attach_json(self, name: str, obj: Any) -> None:
        text = json.dumps(obj, indent=2, sort_keys=True, default=str)
        rel = f"{self.dir}/{safe_name(name)}.json"
        self.rundir.write_text(rel, text)
        self.attach_text(name, text, "application/json", ".json")

    def search_failure(self, replay: str) -> None:
        """The state machine's shrunk failure as `VERSION:BLOB` (its `@reproduce_failure`),
        in the run's summary beside the profile and seed: what `reports rerun` replays."""
        hyp = self.ledger.meta.setdefault("hypothesis", {})
        hyp["failure"], hyp["failure_test"] = replay, self.test

    def attach_file(self, path: Path, name: str, mime: str) -> None:
        allure.attach.file(
            str(path), name=name, attachment_type=mime, extension=path.suffix.lstrip(".")
        )
        self.attachments.append(str(path))

    def finish(self) -> None:
        """Attach the test's measurements (JSON with units, uncertainty, limit, verdict)."""
        self.attach_json("measurements", [m.as_dict() for m in self.measurements])

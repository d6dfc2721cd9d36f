"""The ledger: every measurement and test outcome of a run, and the clause verdicts.

Records are appended to `measurements.jsonl` / `tests.jsonl` as they happen and the
summary is rewritten after every test, so an interrupted run still says what it found.
A clause's verdict is the worst of its measurements and of the typed verdicts tests gave
it; a clause with neither is NOT_TESTED, whatever tests carried its marker (clauses.md
"What counts as evidence").

The summary holds every measurement, so a rewrite costs more as the run grows; rewriting
it after each of thousands of quick tests would make a run's cost grow with the square
of its length. So a rewrite may take at most `SUMMARY_SHARE` of the run's time: after a
rewrite of w seconds the next comes after the first test at least w / SUMMARY_SHARE
later (in a real run, where tests take seconds and a rewrite milliseconds, that is after
every test), and always when the run ends. The JSON-lines files never lag.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from harness.judge.clauses import CLAUSE_BY_ID, CLAUSES, Limits
from harness.judge.verdict import DECISION_RULE, Measurement, TestOutcome, Verdict, worst
from harness.record.rundir import RunDir

SUMMARY_SHARE = 0.1  # of the run's time that rewriting the summary after tests may take
MAX_ARTIFACTS_PER_TEST = 100
MAX_ARTIFACTS = 2000


@dataclass
class ClauseRecord:
    verdicts: list[Verdict] = field(default_factory=list)
    measurements: list[dict[str, Any]] = field(default_factory=list)
    tests: set[str] = field(default_factory=set)
    reasons: list[str] = field(default_factory=list)
    not_tested: list[str] = field(default_factory=list)  # why, when no evidence came


class Ledger:
    """Collects the run's evidence and writes the summary (`summary.json`)."""

    def __init__(self, rundir: RunDir, *, station: str, limits: Limits) -> None:
        self.rundir = rundir
        self.station = station
        self.limits = limits
        self.meta: dict[str, Any] = {}
        self.started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self._lock = threading.Lock()
        self._clauses: dict[str, ClauseRecord] = {c.id: ClauseRecord() for c in CLAUSES}
        self._tests: dict[str, dict[str, Any]] = {}
        self._deviations: list[dict[str, Any]] = []
        self._next_summary = 0.0  # host monotonic time before which tests skip the rewrite
        self._artifacts: dict[str, list[dict[str, Any]]] = {}
        self._artifact_count = 0

    def measurement(self, m: Measurement) -> None:
        self.measurements([m])

    def measurements(self, ms: list[Measurement]) -> None:
        """Record measurements taken together: one append and one manifest entry for all."""
        for m in ms:
            if m.clause not in CLAUSE_BY_ID:
                raise KeyError(f"measurement {m.name!r} names unknown clause {m.clause!r}")
        recs = [m.as_dict() for m in ms]
        with self._lock:
            for m, rec in zip(ms, recs, strict=True):
                c = self._clauses[m.clause]
                c.verdicts.append(m.verdict)
                c.measurements.append(rec)
                if m.test:
                    c.tests.add(m.test)
        self.rundir.append_jsonl(
            "measurements.jsonl", *({"station": self.station, **rec} for rec in recs)
        )

    def test(self, outcome: TestOutcome, duration_s: float = 0.0) -> None:
        """Record a finished test; its outcome counts for every clause it is tied to."""
        rec = {
            "test": outcome.test,
            "clauses": list(outcome.clauses),
            "verdicts": {c: v.value for c, v in outcome.verdicts.items()},
            "outcome": outcome.outcome.value,
            "reason": outcome.reason[:2000],
            "station": self.station,
            "duration_s": round(duration_s, 3),
        }
        with self._lock:
            self._tests[outcome.test] = rec
            for cid in dict.fromkeys((*outcome.clauses, *outcome.verdicts)):
                c = self._clauses.get(cid)
                if c is None:
                    continue
                c.tests.add(outcome.test)
                verdict = outcome.verdict_for(cid)
                if verdict is not None:
                    c.verdicts.append(verdict)
                    c.reasons.append(f"{outcome.test}: {outcome.reason[:500]}")
                elif outcome.outcome == Verdict.NOT_TESTED and outcome.reason:
                    c.not_tested.append(f"{outcome.test}: {outcome.reason[:500]}")
            if outcome.outcome == Verdict.BROKEN:
                self._deviations.append(rec)
        self.rundir.append_jsonl("tests.jsonl", rec)
        if time.monotonic() >= self._next_summary:
            began = time.monotonic()
            self.write_summary(complete=False)
            took = time.monotonic() - began
            self._next_summary = began + took + took / SUMMARY_SHARE

    def artifact(self, test: str, record: dict[str, Any]) -> None:
        """A stored file a test read (`harness.record.stored_files`), for the summary:
        bounded per test and per run; the full record stays in the test's directory."""
        inv = {k: v for k, v in record["inventory"].items() if k != "metadata_keys"}
        inv["metadata_keys"] = len(record["inventory"].get("metadata_keys", ()))
        with self._lock:
            kept = self._artifacts.setdefault(test, [])
            if len(kept) < MAX_ARTIFACTS_PER_TEST and self._artifact_count < MAX_ARTIFACTS:
                kept.append({**record, "inventory": inv})
                self._artifact_count += 1

    def clause_verdicts(self) -> dict[str, Verdict]:
        with self._lock:
            return {cid: worst(c.verdicts) for cid, c in self._clauses.items()}

    def run_verdict(self) -> Verdict:
        return worst(self.clause_verdicts().values())

    def summary(self, *, complete: bool) -> dict[str, Any]:
        verdicts = self.clause_verdicts()
        with self._lock:
            clauses = {}
            for clause in CLAUSES:
                c = self._clauses[clause.id]
                reasons = list(c.reasons)
                if verdicts[clause.id] == Verdict.NOT_TESTED:
                    # No evidence, no PASS (clauses.md): say why nothing was measured.
                    reasons += list(dict.fromkeys(c.not_tested)) or [
                        "no measurement was taken for this clause in this run"
                    ]
                clauses[clause.id] = {
                    "verdict": verdicts[clause.id].value,
                    "principle": clause.principle,
                    "statement": clause.statement,
                    "limit": clause.limit,
                    "tests": sorted(c.tests),
                    "measurements": list(c.measurements),
                    "reasons": reasons[:50],
                }
            tests = dict(self._tests)
            deviations = list(self._deviations)
            artifacts = {t: list(a) for t, a in self._artifacts.items()}
        return {
            "format": "tally-summary/1",
            "run_id": self.rundir.run_id,
            "verdict": worst(verdicts.values()).value,
            "complete": complete,
            "started": self.started,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "station": self.station,
            "profile": self.limits.name,
            "limits": dict(self.limits.values),
            "limits_overridden": list(self.limits.overridden),
            "decision_rule": DECISION_RULE,
            "clauses": clauses,
            "tests": tests,
            "deviations": deviations,
            "artifacts": artifacts,
            **self.meta,
        }

    def write_summary(self, *, complete: bool) -> dict[str, Any]:
        """The summary as it stands. While the run goes on it is rewritten after every
        test, compact (JSON's C encoder: an indented one is pure Python, and the summary
        grows with every measurement); a complete run's last one is indented for people."""
        s = self.summary(complete=complete)
        self.rundir.write_json("summary.json", s, indent=2 if complete else None)
        return s

"""The lab's summary: every station's verdicts side by side, and which DUT gave them.

Each station writes its own run directory (`<report-dir>/<station>/summary.json`, with
`tests.jsonl` and `measurements.jsonl` naming the station on every line); this merges
them into `<report-dir>/lab-summary.json`. A clause's lab verdict is the worst over the
stations, as a run's is the worst over its tests. When the stations hold different
DUTs (model or firmware differ) a split run's verdicts mix devices, and it says so.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from harness.judge.clauses import CLAUSES
from harness.judge.verdict import Verdict, worst
from harness.record.rundir import write_atomic

LAB_SUMMARY = "lab-summary.json"
DUT_KEYS = ("vendor", "model", "firmware", "serial_number")


class Member(Protocol):
    """A station of a pool: its name (its results' folder) and its station file."""

    @property
    def name(self) -> str: ...

    @property
    def source(self) -> str: ...


class Pool(Protocol):
    """A lab file's stations, or the labgrid places a tagged run may get."""

    @property
    def name(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def stations(self) -> Sequence[Member]: ...


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def worst_per_clause(
    runs: Mapping[str, Mapping[str, Any]], ids: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Each clause of `ids` over several runs' summaries (name: summary): the worst verdict,
    a run without the clause counting NOT_TESTED, beside each run's own (`stations`)."""
    clauses: dict[str, dict[str, Any]] = {}
    for cid in ids:
        per = {
            name: s.get("clauses", {}).get(cid, {}).get("verdict", "NOT_TESTED")
            for name, s in runs.items()
        }
        clauses[cid] = {
            "verdict": worst(Verdict.parse(v) for v in per.values()).value,
            "stations": per,
        }
    return clauses


def lab_summary(report_dir: Path, lab: Pool, dist: str) -> dict[str, Any]:
    """Merge the stations' summaries found under `report_dir`."""
    stations: dict[str, Any] = {}
    runs: dict[str, dict[str, Any]] = {}
    for st in lab.stations:
        rel = f"{st.name}/summary.json"
        s = _read(report_dir / rel)
        if s is None:
            stations[st.name] = {"used": False, "station_file": st.source}
            continue
        runs[st.name] = s
        dut = s.get("dut") or {}
        outcomes: dict[str, int] = {}
        for t in (s.get("tests") or {}).values():
            outcomes[t.get("outcome", "?")] = outcomes.get(t.get("outcome", "?"), 0) + 1
        stations[st.name] = {
            "used": True,
            "station_file": st.source,
            "summary": rel,
            "run_id": s.get("run_id"),
            "verdict": s.get("verdict"),
            "complete": s.get("complete"),
            "dut": {k: dut.get(k) for k in DUT_KEYS},
            "tests": sum(outcomes.values()),
            "outcomes": outcomes,
        }
    clauses = worst_per_clause(runs, [c.id for c in CLAUSES])
    used = [st for st in stations.values() if st.get("used")]
    differ = len({(st["dut"].get("model"), st["dut"].get("firmware")) for st in used}) > 1
    return {
        "format": "tally-lab-summary/1",
        "lab": lab.name,
        "lab_file": lab.source,
        "dist": dist,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "verdict": worst(Verdict.parse(c["verdict"]) for c in clauses.values()).value,
        "complete": bool(runs) and all(s.get("complete") for s in runs.values()),
        "stations": stations,
        "clauses": clauses,
        "duts_differ": differ,
        "note": (
            "the stations hold different DUTs (model or firmware): with tests split "
            "across stations each DUT ran only part of the suites; run with --dist each "
            "for a full verdict per DUT"
            if differ and dist != "each"
            else ""
        ),
    }


def write_lab_summary(report_dir: Path, lab: Pool, dist: str) -> dict[str, Any]:
    summary = lab_summary(report_dir, lab, dist)
    data = (json.dumps(summary, indent=2, sort_keys=True) + "\n").encode()
    write_atomic(report_dir / LAB_SUMMARY, data)
    return summary

"""The conformance suites: how long a run takes, whether verdicts are stable, how fast
each fault is caught (the state machine alone: benchmarks/search.py)."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import ALL_SUITES, run_many, run_suites
from harness.sim.faults import FAULTS
from harness.sim.liars import LIARS

CLEAN_RUNS = 10


def run() -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="tally-bench-"))
    out: dict[str, Any] = {}
    # 1. The main job alone on the machine: the whole `pytest suites --station sim`.
    began = time.monotonic()
    main = run_suites(base / "main", suites=ALL_SUITES)
    out["suite_seconds"] = round(time.monotonic() - began, 1)
    out["suite_verdict"] = main.summary.get("verdict")
    out["suite_goal"] = "suite_seconds <= 120 (with a supply and a shutter)"
    # 2. Verdict stability: the clean device, many times (three at once).
    clean = run_many(
        base / "clean", {f"clean-{i}": [] for i in range(CLEAN_RUNS)}, parallel=3, suites=ALL_SUITES
    )
    verdicts = [r.summary.get("verdict") for r in clean.values()]
    out["clean_runs"] = len(verdicts)
    out["clean_pass"] = sum(v == "PASS" for v in verdicts)
    out["clean_verdicts"] = verdicts
    # 3. Detection: each nonconforming fault against every suite, and which suite caught it.
    faults = sorted(n for n, f in FAULTS.items() if f.kind == "nonconforming")
    runs = run_many(base / "faults", {n: [n] for n in faults}, parallel=4, suites=ALL_SUITES)
    detect = {n: r.first_fail_s for n, r in runs.items()}
    out["detect_seconds"] = {n: round(s, 2) if s is not None else None for n, s in detect.items()}
    found = [s for s in detect.values() if s is not None]
    out["detect_seconds_median"] = round(statistics.median(found), 2) if found else None
    out["detected"] = f"{len(found)}/{len(faults)}"
    out["detection_matrix"] = {
        n: {v: sorted(r.with_verdict(v)) for v in ("FAIL", "INCONCLUSIVE", "BROKEN")}
        for n, r in runs.items()
    }
    out["caught_by"] = {n: r.caught_by() for n, r in runs.items()}
    # Liars: caught when each clause the catalogue names gets its verdict (never PASS).
    liars = [f.name for f in LIARS]
    caught = [n for n in liars if set(FAULTS[n].clauses) <= runs[n].with_verdict(FAULTS[n].verdict)]
    out["liars_total"] = len(liars)
    out["liars_caught"] = len(caught)
    out["liars_missed"] = sorted(set(liars) - set(caught))
    out["run_dirs"] = str(base)
    return out

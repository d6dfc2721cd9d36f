"""The property search alone: does the state machine find every fault of the catalogue?

Each nonconforming fault (honest bugs and liars) is run against the state machine only
(`suites/test_state_machine.py`, the `sim` profile, a fixed seed per fault so the figures
repeat), as a firmware team's CI would run it. A fault is found when a clause the
catalogue ties to it (its own, or one it fails incidentally) gets the fault's verdict or
FAIL: the search stops at its first failure, which may be an incidental one. The run's
time and the length of the shrunk step sequence (from the failure's evidence) are kept.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import run_many
from harness.sim.faults import FAULTS

MACHINE = ("suites/test_state_machine.py",)
PARALLEL = 4  # the runs mostly wait on real time
SEED = "20261130"


def failure_steps(run_dir: Path) -> tuple[int | None, int | None]:
    """The recorded failure's steps (first found, after shrinking), or Nones: not found."""
    for path in run_dir.glob("tests/*/state_machine_failure.json"):
        failure = json.loads(path.read_text())
        return failure.get("found_steps"), int(failure["shrunk_steps"])
    return None, None


def run() -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="tally-search-"))
    faults = sorted(n for n, f in FAULTS.items() if f.kind == "nonconforming")
    runs = run_many(
        base, {n: [n] for n in faults}, parallel=PARALLEL, suites=MACHINE,
        extra=("--hypothesis-seed", SEED),
    )  # fmt: skip
    found, missed, seconds, steps, first = [], [], {}, {}, {}
    for name, r in runs.items():
        f = FAULTS[name]
        tied = set(f.clauses) | set(f.incidental)
        hit = sorted(tied & (r.with_verdict(f.verdict) | r.with_verdict("FAIL")))
        (found if hit else missed).append(name)
        seconds[name] = round(r.seconds, 1)
        first[name], steps[name] = failure_steps(base / name)
    shrunk = [steps[n] for n in found if steps[n] is not None]
    unshrunk = [first[n] for n in found if first[n] is not None]
    return {
        "sm_found_ratio": round(len(found) / len(faults), 3),
        "sm_found": f"{len(found)}/{len(faults)}",
        "sm_missed": sorted(missed),
        "sm_seconds_median": round(statistics.median(seconds[n] for n in found), 1)
        if found
        else None,
        "sm_seconds_max": max(seconds.values()),
        "sm_shrunk_steps_median": statistics.median(shrunk) if shrunk else None,
        "sm_shrunk_steps_max": max(shrunk) if shrunk else None,
        "sm_found_steps_median": statistics.median(unshrunk) if unshrunk else None,
        "sm_seconds": seconds,
        "sm_shrunk_steps": steps,
        "sm_found_steps": first,  # the first failing example's steps, before shrinking
        "sm_verdicts": {n: r.summary.get("verdict") for n, r in runs.items()},
        "sm_goal": "sm_found_ratio = 1.0 in the sim profile's budget, short shrunk sequences",
        "run_dirs": str(base),
    }

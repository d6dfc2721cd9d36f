"""The independent witnesses: the supply current (IND-7) and the shutter (IND-8).

`suite_seconds`: the whole `pytest suites --station sim` with the simulated supply and
shutter (the default station); `bare_suite_seconds`: the same suites on the same
simulated bench described without `[power]` and `[shutter]` (IND-7, IND-8 and the
power-loss tests NOT_TESTED), one after the other on the same machine, so
`witness_cost_ratio` says what watching the current and covering the LED cost.
`current_rate_hz`: MEAS:CURR? readings per second achieved over the whole first run.
`covert_detect_seconds`: from the first test's start to the first IND-7 FAIL, for a
device whose camera runs 0.5 s in the dark every 3 s (`covert_burst`), over the example
suites; `covert_detect_periods` is that in units of the burst period.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import ALL_SUITES, run_suites
from fixtures import fixture_path
from harness.sim.faults import COVERT_EVERY_S

GOAL_S = 120.0


def bare_station(folder: Path) -> Path:
    """The simulated station file without its supply and shutter tables."""
    out, skip = [], False
    for line in fixture_path("sim.toml").read_text().splitlines():
        if line.startswith("["):
            skip = line.strip() in ("[power]", "[shutter]")
        if not skip:
            out.append(line)
    path = folder / "sim-bare.toml"
    path.write_text("\n".join(out) + "\n")
    return path


def run() -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="tally-bench-witness-"))
    out: dict[str, Any] = {}
    full = run_suites(base / "full", suites=ALL_SUITES)
    watch = full.summary.get("ind7_watch") or {}
    out["suite_seconds"] = round(full.seconds, 1)
    out["suite_goal"] = f"suite_seconds <= {GOAL_S:g} (with a supply and a shutter)"
    out["suite_verdict"] = full.summary.get("verdict")
    out["ind7_ind8"] = [full.summary.get("clauses", {}).get(c, {}).get("verdict")
                        for c in ("IND-7", "IND-8")]  # fmt: skip
    out["current_rate_hz"] = watch.get("current_rate_hz")
    out["ind7_coverage"] = watch.get("coverage")
    bare = run_suites(base / "bare", suites=ALL_SUITES, station=str(bare_station(base)))
    out["bare_suite_seconds"] = round(bare.seconds, 1)
    out["bare_suite_verdict"] = bare.summary.get("verdict")
    out["witness_cost_ratio"] = round(full.seconds / bare.seconds, 2) if bare.seconds else None
    covert = run_suites(base / "covert", faults=["covert_burst"])
    first = (covert.summary.get("ind7_watch") or {}).get("first_fail_s")
    out["covert_detect_seconds"] = first
    out["covert_detect_periods"] = round(first / COVERT_EVERY_S, 2) if first else None
    out["covert_verdicts"] = {
        c: v["verdict"]
        for c, v in covert.summary.get("clauses", {}).items()
        if v["verdict"] != "PASS"
    }
    out["run_dirs"] = str(base)
    return out

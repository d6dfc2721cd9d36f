"""Run the conformance suites in a subprocess against a simulated bench with faults."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_SUITES = ("suites/test_indicator.py", "suites/test_consent.py", "suites/test_minimum.py")
ALL_SUITES = ("suites",)


@dataclass(frozen=True)
class SuiteRun:
    faults: tuple[str, ...]
    returncode: int
    seconds: float
    summary: dict[str, Any]
    output: str
    first_fail_s: float | None  # seconds from start until the first failing test finished

    @property
    def verdicts(self) -> dict[str, str]:
        return {cid: c["verdict"] for cid, c in self.summary.get("clauses", {}).items()}

    def with_verdict(self, *verdicts: str) -> set[str]:
        return {cid for cid, v in self.verdicts.items() if v in verdicts}


def run_suites(
    out: Path,
    faults: Sequence[str] = (),
    suites: Sequence[str] = EXAMPLE_SUITES,
    extra: Sequence[str] = (),
    timeout_s: float = 900,
) -> SuiteRun:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        *suites,
        "--station",
        "sim",
        "--report-dir",
        str(out),
        "-p",
        "no:cacheprovider",
        "-q",
        "-o",
        "console_output_style=classic",
        *extra,
    ]
    for f in faults:
        cmd += ["--sim-fault", f]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)
    seconds = time.monotonic() - t0
    summary_path = out / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    return SuiteRun(
        tuple(faults),
        proc.returncode,
        seconds,
        summary,
        proc.stdout[-20000:] + proc.stderr[-5000:],
        first_fail(out, t0),
    )


def first_fail(out: Path, t0: float) -> float | None:
    """Seconds from the run's start to the end of its first failing test (tests.jsonl)."""
    path = out / "tests.jsonl"
    if not path.exists():
        return None
    elapsed = 0.0
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        elapsed += rec.get("duration_s", 0.0)
        if rec["outcome"] in ("FAIL", "INCONCLUSIVE"):
            return elapsed
    return None


def run_many(
    base: Path, jobs: dict[str, Sequence[str]], parallel: int = 3, **kw: Any
) -> dict[str, SuiteRun]:
    """Run several faulty benches at once (they mostly wait on real time, not the CPU)."""
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        futs = {
            name: pool.submit(run_suites, base / name, faults, **kw)
            for name, faults in jobs.items()
        }
        return {name: f.result() for name, f in futs.items()}

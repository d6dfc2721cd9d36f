"""Shared set-up for benchmarks: a simulated bench in its own process, powered and booted,
and the conformance suites run in a subprocess as a lab's CI would.

Benchmarks import nothing from `tests/`: the little subprocess runner below is their own.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.bench.simproc import SimProcess
from harness.bench.station import Station, load_station
from harness.instruments.supply import PowerSupply
from harness.wire.client import DeviceClient

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_SUITES = (
    "suites/test_indicator.py",
    "suites/test_consent.py",
    "suites/test_minimum.py",
    "suites/test_covert.py",
    "suites/test_tamper.py",
)
ALL_SUITES = ("suites",)


@contextlib.contextmanager
def powered_sim(
    faults: Sequence[str] = (), seed: int = 3, knobs: dict[str, object] | None = None
) -> Iterator[Station]:
    """A running simulated bench whose device has booted (its supply switched on)."""
    with SimProcess(faults, knobs, seed=seed) as sim:
        station = load_station(sim.station_path)
        if station.power is not None:
            with DeviceClient(station.dut.port, boot_timeout_s=10) as client:
                mark = client.event_mark
                supply = PowerSupply.open(station.power.resource)
                try:
                    supply.output(True)
                    client.wait_boot(since=mark)
                finally:
                    supply.close()
        yield station


def clock_rtts(url: str, n: int, windows: list[float] | None = None) -> list[float]:
    """`n` round trips of `clock` through the harness's client (after one warm-up), each
    the wall time of the call; `windows` gets each reply's `received - sent` (the
    interval the clock reading is known to lie in, which clock sync works with)."""
    with DeviceClient(url, boot_timeout_s=10) as client:
        client.clock()  # the first exchange pays for connection set-up
        out = []
        for _ in range(n):
            t = time.perf_counter()
            reply = client.clock()
            out.append(time.perf_counter() - t)
            if windows is not None:
                windows.append(reply.received - reply.sent)
        return out


def run_pytest(
    args: Sequence[str], timeout_s: float, env: Mapping[str, str] | None = None
) -> tuple[int, str, float]:
    """`python -m pytest ARGS` from the repository: exit code, stdout and wall seconds
    (`env`: the whole environment, default the caller's)."""
    cmd = [sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider", "-q"]
    began = time.monotonic()
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s,
        env=None if env is None else dict(env),
    )  # fmt: skip
    return proc.returncode, proc.stdout, time.monotonic() - began


@dataclass(frozen=True)
class SuiteRun:
    seconds: float
    summary: dict[str, Any]  # summary.json ({} if the run wrote none)
    tests: list[dict[str, Any]]  # tests.jsonl, in the order the tests finished

    def with_verdict(self, verdict: str) -> set[str]:
        clauses = self.summary.get("clauses", {})
        return {cid for cid, c in clauses.items() if c["verdict"] == verdict}

    def caught_by(self) -> dict[str, list[str]]:
        """Suite module -> the clauses its tests gave a FAIL or INCONCLUSIVE."""
        out: dict[str, set[str]] = {}
        for rec in self.tests:
            bad = {c for c, v in (rec.get("verdicts") or {}).items() if v != "PASS"}
            if bad:
                module = rec["test"].split("::")[0].rsplit("/", 1)[-1].removesuffix(".py")
                out.setdefault(module, set()).update(bad)
        return {m: sorted(c) for m, c in sorted(out.items())}

    @property
    def first_fail_s(self) -> float | None:
        """Seconds of testing until the first failing test finished (None: none failed)."""
        elapsed = 0.0
        for rec in self.tests:
            elapsed += rec.get("duration_s", 0.0)
            if rec["outcome"] in ("FAIL", "INCONCLUSIVE"):
                return elapsed
        return None


def run_suites(
    out: Path,
    faults: Sequence[str] = (),
    suites: Sequence[str] = EXAMPLE_SUITES,
    station: str = "sim",
    extra: Sequence[str] = (),
) -> SuiteRun:
    """The suites against the simulated bench with `faults`, recorded in `out`."""
    args = [*suites, "--station", station, "--report-dir", str(out), *extra]
    args += [a for fault in faults for a in ("--sim-fault", fault)]
    _, _, seconds = run_pytest(args, timeout_s=900)
    summary, tests = out / "summary.json", out / "tests.jsonl"
    return SuiteRun(
        seconds,
        json.loads(summary.read_text()) if summary.exists() else {},
        [json.loads(ln) for ln in tests.read_text().splitlines()] if tests.exists() else [],
    )


def run_many(
    base: Path, jobs: Mapping[str, Sequence[str]], parallel: int = 3, **kw: Any
) -> dict[str, SuiteRun]:
    """`run_suites` for several faulty benches at once (they mostly wait on real time)."""
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        futs = {n: pool.submit(run_suites, base / n, faults, **kw) for n, faults in jobs.items()}
        return {n: f.result() for n, f in futs.items()}

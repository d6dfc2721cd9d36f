"""Run pytest (or another `python -m` module) in a subprocess and read its run directory back.

The one helper for every test that runs the harness as a lab's CI would: a real
interpreter, a bounded wait (`subprocess.TimeoutExpired` past it), and a result that reads
`summary.json`, `tests.jsonl` and `manifest.json` of the run directory only when asked.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_SUITES = (
    "suites/test_indicator.py",
    "suites/test_consent.py",
    "suites/test_minimum.py",
    "suites/test_covert.py",
    "suites/test_tamper.py",
)
ALL_SUITES = ("suites",)
TIMEOUT_S = 300.0


def read_json(path: Path) -> Any:
    """A JSON file; a JSON-lines file (`*.jsonl`) as the list of its records."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines()]
    return json.loads(text)


class Results:
    """A run directory, read on first use; a file the run did not write reads as empty."""

    def __init__(self, run_dir: Path | None) -> None:
        self.run_dir = run_dir

    def _read(self, name: str, empty: Any) -> Any:
        path = None if self.run_dir is None else self.run_dir / name
        return read_json(path) if path is not None and path.exists() else empty

    @cached_property
    def summary(self) -> dict[str, Any]:
        return self._read("summary.json", {})

    @cached_property
    def tests(self) -> list[dict[str, Any]]:
        """The tests' records (`tests.jsonl`) in the order they finished."""
        return self._read("tests.jsonl", [])

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return self._read("manifest.json", {})

    @property
    def verdicts(self) -> dict[str, str]:
        return {cid: c["verdict"] for cid, c in self.summary.get("clauses", {}).items()}

    def with_verdict(self, *verdicts: str) -> set[str]:
        return {cid for cid, v in self.verdicts.items() if v in verdicts}

    def caught_by(self) -> dict[str, set[str]]:
        """Which suite module gave which clause a FAIL or INCONCLUSIVE (from the tests'
        typed verdicts): the detection matrix's 'caught by' column."""
        out: dict[str, set[str]] = {}
        for rec in self.tests:
            bad = {c for c, v in (rec.get("verdicts") or {}).items() if v != "PASS"}
            if bad:
                module = rec["test"].split("::")[0].rsplit("/", 1)[-1].removesuffix(".py")
                out.setdefault(module, set()).update(bad)
        return out

    def damaged(self) -> list[str]:
        """The files the manifest lists that are missing or whose bytes no longer match."""
        root = self.run_dir
        assert root is not None, "no run directory to check"
        return [
            rel
            for rel, entry in self.manifest["files"].items()
            if not (root / rel).exists()
            or hashlib.sha256((root / rel).read_bytes()).hexdigest() != entry["sha256"]
        ]


class Run(Results):
    """A finished subprocess: exit code, output, wall time, and the run directory it wrote."""

    def __init__(
        self, proc: subprocess.CompletedProcess[str], seconds: float, run_dir: Path | None
    ) -> None:
        super().__init__(run_dir)
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.seconds = seconds

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def pytest_command(
    args: Sequence[str], report_dir: Path | None = None, faults: Sequence[str] = ()
) -> list[str]:
    """`python -m pytest ARGS [--report-dir DIR] [--sim-fault F ...] -p no:cacheprovider -q`."""
    cmd = [sys.executable, "-m", "pytest", *args]
    if report_dir is not None:
        cmd += ["--report-dir", str(report_dir)]
    for fault in faults:
        cmd += ["--sim-fault", fault]
    return [*cmd, "-p", "no:cacheprovider", "-q"]


def run_command(
    cmd: Sequence[str],
    *,
    run_dir: Path | None = None,
    cwd: Path = ROOT,
    env: Mapping[str, str] | None = None,
    timeout_s: float = TIMEOUT_S,
) -> Run:
    """Run `cmd` to its end (at most `timeout_s`), output captured; `env` adds variables."""
    full_env = None if env is None else {**os.environ, **env}
    began = time.monotonic()
    proc = subprocess.run(
        list(cmd), cwd=cwd, env=full_env, capture_output=True, text=True,
        timeout=timeout_s, check=False,
    )  # fmt: skip
    return Run(proc, time.monotonic() - began, run_dir)


def run_pytest(
    args: Sequence[str],
    *,
    report_dir: Path | None = None,
    faults: Sequence[str] = (),
    cwd: Path = ROOT,
    env: Mapping[str, str] | None = None,
    timeout_s: float = TIMEOUT_S,
) -> Run:
    """`python -m pytest ARGS` (see `pytest_command`); the run directory is `report_dir`."""
    cmd = pytest_command(args, report_dir, faults)
    return run_command(cmd, run_dir=report_dir, cwd=cwd, env=env, timeout_s=timeout_s)


def run_module(module: str, args: Sequence[str], **kw: Any) -> Run:
    """`python -m MODULE ARGS`, e.g. `run_module("reports", ["build", str(run_dir)])`."""
    return run_command([sys.executable, "-m", module, *args], **kw)


def run_suites(
    out: Path,
    faults: Sequence[str] = (),
    suites: Sequence[str] = EXAMPLE_SUITES,
    timeout_s: float = 900,
    lawyer_seed: int | None = None,
) -> Run:
    """The conformance suites against the simulated bench with `faults` (and a spec-lawyer
    device when `lawyer_seed` is given), recorded in `out`."""
    args = [*suites, "--station", "sim", "-o", "console_output_style=classic"]
    if lawyer_seed is not None:
        args += ["--sim-lawyer-seed", str(lawyer_seed)]
    return run_pytest(args, report_dir=out, faults=faults, timeout_s=timeout_s)


def run_many(
    base: Path,
    jobs: Mapping[str, Sequence[str]],
    parallel: int = 3,
    lawyers: Mapping[str, int] | None = None,
    **kw: Any,
) -> dict[str, Run]:
    """`run_suites` for several faulty benches at once (they mostly wait on real time);
    `lawyers` gives some jobs a spec-lawyer seed."""
    seeds = lawyers or {}
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        futs = {
            name: pool.submit(run_suites, base / name, faults, lawyer_seed=seeds.get(name), **kw)
            for name, faults in jobs.items()
        }
        return {name: f.result() for name, f in futs.items()}

"""Run pytest (or another `python -m` module) in a subprocess and read its run directory back.

The one helper for every test that runs the harness as a lab's CI would: a real
interpreter, a bounded wait (`subprocess.TimeoutExpired` past it), and a result that reads
`summary.json`, `tests.jsonl` and `manifest.json` of the run directory only when asked.

Whole-suite runs of a simulated device are the costly part of the tests (minutes each for
an awkward device), so `SuiteRuns` makes each one once per test session, whichever test
and whichever pytest-xdist worker asks for it first; the others read it back.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from harness.judge.verdict import Verdict, worst
from harness.lab.summary import worst_per_clause
from harness.sim.faults import FAULTS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_SUITES = (
    "suites/test_indicator.py",
    "suites/test_consent.py",
    "suites/test_minimum.py",
    "suites/test_covert.py",
    "suites/test_tamper.py",
)
ALL_SUITES = ("suites",)
MACHINE = "suites/test_state_machine.py"
# A device whose run of every suite alone takes longer than the rest of the tests (every
# request but `clock` 400 ms late: ~15 minutes) is made as two runs at once, each on a
# simulated bench of its own, as a lab with two stations would halve it: the state machine,
# and every other suite. Its verdicts are the worst of the two (`Merged`).
HALVED = frozenset({"slow_replies"})
TIMEOUT_S = 300.0
RUN_TIMEOUT_S = 1800.0  # a whole-suite run of SuiteRuns (slow_replies' halves take ~8 min)


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

    def save(self, path: Path) -> None:
        fields = {k: getattr(self, k) for k in ("returncode", "stdout", "stderr", "seconds")}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**fields, "run_dir": str(self.run_dir)}), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Run:
        d = json.loads(path.read_text(encoding="utf-8"))
        proc = subprocess.CompletedProcess([], d["returncode"], d["stdout"], d["stderr"])
        return cls(proc, d["seconds"], Path(d["run_dir"]))


class Merged(Run):
    """Runs of every suite split over two simulated benches, read as one run: each clause's
    verdict the worst of the two (`harness.lab.summary`'s rule for a lab's stations), the
    tests and deviations of both, the worse exit code, the longer wall time."""

    def __init__(self, parts: Sequence[Run]) -> None:
        self.parts = list(parts)
        self.run_dir = None
        self.returncode = max(p.returncode for p in parts)
        self.stdout = "\n".join(p.stdout for p in parts)
        self.stderr = "\n".join(p.stderr for p in parts)
        self.seconds = max(p.seconds for p in parts)

    @cached_property
    def summary(self) -> dict[str, Any]:
        sums = [p.summary for p in self.parts]
        ids = dict.fromkeys(cid for s in sums for cid in s.get("clauses", {}))
        return {
            **sums[0],
            "verdict": worst(Verdict.parse(s.get("verdict")) for s in sums).value,
            "clauses": worst_per_clause(dict(enumerate(sums)), ids),
            "deviations": [d for s in sums for d in s.get("deviations") or []],
        }

    @cached_property
    def tests(self) -> list[dict[str, Any]]:
        return [t for p in self.parts for t in p.tests]

    def damaged(self) -> list[str]:
        return [rel for p in self.parts for rel in p.damaged()]


def pytest_command(
    args: Sequence[str],
    report_dir: Path | None = None,
    faults: Sequence[str] = (),
    labgrid: bool = False,
) -> list[str]:
    """`python -m pytest ARGS [--report-dir DIR] [--sim-fault F ...] -p no:cacheprovider
    [-p no:labgrid] -q`. labgrid's own pytest plugin is left out unless the run uses a
    place (`labgrid`): loading it is ~0.35 s of CPU, a quarter of a run's start, in each
    of the ~200 pytest processes the tests start (Tally's plugin then defines the one
    option the two share, `--lg-coordinator`)."""
    cmd = [sys.executable, "-m", "pytest", *args]
    if report_dir is not None:
        cmd += ["--report-dir", str(report_dir)]
    for fault in faults:
        cmd += ["--sim-fault", fault]
    return [*cmd, "-p", "no:cacheprovider", *([] if labgrid else ["-p", "no:labgrid"]), "-q"]


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
    labgrid: bool = False,
) -> Run:
    """`python -m pytest ARGS` (see `pytest_command`); the run directory is `report_dir`."""
    cmd = pytest_command(args, report_dir, faults, labgrid)
    return run_command(cmd, run_dir=report_dir, cwd=cwd, env=env, timeout_s=timeout_s)


def run_module(module: str, args: Sequence[str], **kw: Any) -> Run:
    """`python -m MODULE ARGS`, e.g. `run_module("reports", ["build", str(run_dir)])`."""
    return run_command([sys.executable, "-m", module, *args], **kw)


SEARCH_SEED = "1130"
# Whose runs draw every test's current-and-light picture (`--plots all`): the devices whose
# own words land in a picture's labels. A nonconforming device's run draws none (`--plots
# none`): its tests read verdicts, and its flags would cost a picture each (~0.2 s of CPU:
# ~600 pictures, a tenth of `make test`'s CPU); the current and light are kept as data.
# A conforming device's run draws only what was flagged (`--plots flagged`: nothing, unless
# a check misjudged it, and then the picture is what shows why).
EVERY_PICTURE = frozenset({"hostile_text", "hostile_strings"})


def pictures(faults: Sequence[str]) -> str:
    """The `--plots` choice of a whole-suite run with `faults` (see EVERY_PICTURE)."""
    if EVERY_PICTURE & set(faults):
        return "all"
    if any(f in FAULTS and FAULTS[f].kind == "nonconforming" for f in faults):
        return "none"
    return "flagged"


def run_suites(
    out: Path,
    faults: Sequence[str] = (),
    suites: Sequence[str] = EXAMPLE_SUITES,
    timeout_s: float = 900,
    lawyer_seed: int | None = None,
) -> Run:
    """The conformance suites against the simulated bench with `faults` (and a spec-lawyer
    device when `lawyer_seed` is given), recorded in `out`. The state machine's seed is
    pinned, as a lab pins it in CI: its sequences are the same in every run of the tests
    (the device's timing still varies), so a verdict here does not depend on the draw."""
    args = [*suites, "--station", "sim", "-o", "console_output_style=classic"]
    args += ["--plots", pictures(faults)]
    args += ["--hypothesis-seed", SEARCH_SEED]
    if lawyer_seed is not None:
        args += ["--sim-lawyer-seed", str(lawyer_seed)]
    return run_pytest(args, report_dir=out, faults=faults, timeout_s=timeout_s)


def under_xdist() -> bool:
    """Whether this process is a pytest-xdist worker."""
    return "PYTEST_XDIST_WORKER" in os.environ


SUITE_JOBS_AT_ONCE = 18  # whole-suite runs made ahead at once over all xdist workers


def suite_jobs() -> int:
    """How many suite runs a test process makes ahead of its tests, at once
    (`TALLY_SUITE_JOBS`, for each process; they mostly wait on real time): 4 when one
    process runs the tests; on pytest-xdist workers, `SUITE_JOBS_AT_ONCE` shared out over
    them (six workers: three each; eight: three on two of them, two on the rest). 0: none
    ahead, each made when a test first asks. Eighteen at once: more starved the benches'
    supply polls under a full garbage collection (false INCONCLUSIVEs) until a bench froze
    what is alive when it opens (harness/bench/gcquiet.py); twelve took ~2 minutes longer
    (13.7 against 11.5 min, measured)."""
    if "TALLY_SUITE_JOBS" in os.environ:
        return max(0, int(os.environ["TALLY_SUITE_JOBS"]))
    if not under_xdist():
        return 4
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    index = int(os.environ["PYTEST_XDIST_WORKER"].removeprefix("gw") or 0)
    return SUITE_JOBS_AT_ONCE // workers + (index < SUITE_JOBS_AT_ONCE % workers)


class SuiteRuns:
    """The session's whole-suite runs of simulated devices, each made once.

    A run is named (a fault, or `clean-1`...) and keyed by its name and suites; the first
    test to ask makes it, under a file lock in a folder every xdist worker of the session
    shares, and saves its result there; a test asking later (on any worker) waits for it
    and reads it back. So the detection matrix and the tests that look at an awkward
    device's run more closely share one run, and no run is made twice.

    Runs are also made ahead (`ahead`, from collection on: tests/conftest.py plans them
    from the tests' `suite_run` marks): each process keeps `suite_jobs()` of them going in
    the background, longest first, passing over a run another worker has begun, so the
    runs (two minutes of mostly waiting each) overlap one another instead of queueing
    behind one test per worker.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._ahead: ThreadPoolExecutor | None = None

    def get(
        self,
        name: str,
        faults: Sequence[str] = (),
        suites: Sequence[str] = EXAMPLE_SUITES,
        lawyer_seed: int | None = None,
        timeout_s: float = RUN_TIMEOUT_S,
    ) -> Run:
        """The run: read back, waited for if another is making it, else made now."""
        run = self._obtain(name, faults, suites, lawyer_seed, timeout_s, wait=True)
        assert run is not None
        return run

    def paths(
        self,
        name: str,
        faults: Sequence[str] = (),
        suites: Sequence[str] = EXAMPLE_SUITES,
        lawyer_seed: int | None = None,
    ) -> RunPaths:
        """Where a run is made and saved, and the suites of each of its halves."""
        key = "\0".join([*suites, str(lawyer_seed)])
        digest = hashlib.sha256(key.encode()).hexdigest()[:10]
        where = self.root / f"{name}-{digest}"
        halves = {"": tuple(suites)}
        if HALVED & set(faults) and tuple(suites) == ALL_SUITES:
            rest = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("suites/test_*.py"))
            halves = {"-machine": (MACHINE,), "-rest": tuple(p for p in rest if p != MACHINE)}
        return RunPaths(where, halves)

    def _obtain(
        self,
        name: str,
        faults: Sequence[str],
        suites: Sequence[str],
        lawyer_seed: int | None,
        timeout_s: float,
        wait: bool,
    ) -> Run | None:
        """`get`, or None at once if another is making the run and `wait` is false."""
        paths = self.paths(name, faults, suites, lawyer_seed)
        where = paths.where
        with _locked(self.root / f"{where.name}.lock", wait) as mine:
            if not mine:
                return None
            saved = paths.results
            if not all(path.exists() for path in saved):
                where.mkdir(exist_ok=True)
                paths.began.write_text(f"{time.time():.3f}\n")
                with ThreadPoolExecutor(max_workers=len(paths.halves)) as pool:
                    futs = [
                        pool.submit(run_suites, where / f"run{half}", faults, part,
                                    timeout_s, lawyer_seed)
                        for half, part in paths.halves.items()
                    ]  # fmt: skip
                    for fut, path in zip(futs, saved, strict=True):
                        fut.result().save(path)
                (where / "faults.json").write_text(json.dumps(list(faults)))
            parts = [Run.load(path) for path in saved]
        made_with = json.loads((where / "faults.json").read_text())
        assert made_with == list(faults), f"run {name!r} was made with faults {made_with}"
        return parts[0] if len(parts) == 1 else Merged(parts)

    def ahead(self, plan: Sequence[PlannedRun]) -> None:
        """Make `plan`'s runs in the background, `suite_jobs()` at a time, in its order
        (the longest first), passing over a run another worker has begun."""
        jobs = suite_jobs()
        if not jobs or not plan:
            return
        if self._ahead is None:
            self._ahead = ThreadPoolExecutor(jobs, thread_name_prefix="suite-run")
        for planned in plan:
            self._ahead.submit(self._make_ahead, planned)

    def _make_ahead(self, p: PlannedRun) -> None:
        # A failed run is left unsaved: the test that needs it makes it and sees why.
        with contextlib.suppress(Exception):
            self._obtain(p.name, p.faults, p.suites, p.lawyer_seed, RUN_TIMEOUT_S, wait=False)

    def planned(self, p: PlannedRun) -> Run:
        """`get` for a planned run."""
        return self.get(p.name, p.faults, p.suites, p.lawyer_seed)

    def planned_paths(self, p: PlannedRun) -> RunPaths:
        return self.paths(p.name, p.faults, p.suites, p.lawyer_seed)

    def close(self) -> None:
        """Drop the runs not yet begun ahead (a run under way finishes: another worker may
        be waiting for it)."""
        if self._ahead is not None:
            self._ahead.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class RunPaths:
    """A whole-suite run's folder: `began` is written as it is begun, one `result*.json`
    per half once that half is done (what tests/schedule.py looks at)."""

    where: Path
    halves: Mapping[str, tuple[str, ...]]

    @property
    def began(self) -> Path:
        return self.where / "began"

    @property
    def results(self) -> list[Path]:
        return [self.where / f"result{half}.json" for half in self.halves]


@dataclass(frozen=True)
class PlannedRun:
    """A whole-suite run a test reads (its `suite_run` mark): made ahead, read once done."""

    name: str
    faults: tuple[str, ...] = ()
    suites: tuple[str, ...] = ALL_SUITES
    lawyer_seed: int | None = None
    minutes: float = 2.0  # about how long it takes: the longest are begun first

    @classmethod
    def of(cls, mark: Any) -> PlannedRun:
        """From `@pytest.mark.suite_run(name, faults=[...], lawyer_seed=N, minutes=M)`; what
        the mark leaves out takes the defaults above, a keyword it misspells is a TypeError."""
        kw = {k: tuple(v) if k in ("faults", "suites") else v for k, v in mark.kwargs.items()}
        return cls(mark.args[0], **kw)


@contextlib.contextmanager
def _locked(path: Path, wait: bool = True) -> Iterator[bool]:
    """Hold `path`'s lock for the block (True), or, not waiting, False if another holds it."""
    with path.open("w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)

"""Two halves of one device's run read as one (`tests.runs.Merged`): the worst verdict per
clause wins, so a halved run can FAIL, BROKEN or stay NOT_TESTED as a whole run would.
Runs made ahead by several workers (`SuiteRuns.ahead`) are each made once."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests import runs
from tests.runs import Merged, PlannedRun, Run, SuiteRuns


def half(tmp_path: Path, name: str, verdicts: dict[str, str], code: int = 0) -> Run:
    run_dir = tmp_path / name
    run_dir.mkdir()
    summary = {
        "verdict": max(verdicts.values(), key=["NOT_TESTED", "PASS", "FAIL"].index),
        "clauses": {cid: {"verdict": v} for cid, v in verdicts.items()},
        "deviations": [f"{name} deviation"],
        "dut": {"capabilities": {"capture": ["photo", "video", "audio"]}},
    }
    (run_dir / "summary.json").write_text(json.dumps(summary))
    (run_dir / "tests.jsonl").write_text(json.dumps({"test": f"suites/{name}.py::t"}) + "\n")
    return Run(subprocess.CompletedProcess([], code, f"{name} out", ""), 10.0, run_dir)


def test_the_worst_of_two_halves_is_the_verdict(tmp_path: Path) -> None:
    machine = half(
        tmp_path, "machine", {"IND-1": "PASS", "CON-1": "FAIL", "MIN-4": "NOT_TESTED"}, 1
    )
    rest = half(
        tmp_path, "rest", {"IND-1": "PASS", "CON-1": "PASS", "MIN-4": "PASS", "IND-7": "PASS"}
    )
    run = Merged([machine, rest])
    assert run.verdicts == {"IND-1": "PASS", "CON-1": "FAIL", "MIN-4": "PASS", "IND-7": "PASS"}
    assert run.summary["verdict"] == "FAIL" and run.returncode == 1
    assert run.summary["deviations"] == ["machine deviation", "rest deviation"]
    assert [t["test"] for t in run.tests] == ["suites/machine.py::t", "suites/rest.py::t"]
    assert "machine out" in run.output and "rest out" in run.output


def test_a_half_that_wrote_no_summary_is_broken(tmp_path: Path) -> None:
    rest = half(tmp_path, "rest", {"IND-1": "PASS"})
    lost = Run(subprocess.CompletedProcess([], 3, "", "crashed"), 1.0, tmp_path / "nowhere")
    run = Merged([lost, rest])
    assert run.summary["verdict"] == "BROKEN" and run.returncode == 3


class Made:
    """What the stand-in for `run_suites` made: run names in order, and the most at once."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.live = self.peak = 0
        self.lock = threading.Lock()


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> Made:
    """`run_suites` replaced by a 0.2 s stand-in that writes a PASS run (the unit under
    test is the sharing of runs, not the suites)."""
    m = Made()

    def fake(out: Path, faults, suites, timeout_s, lawyer_seed) -> Run:
        with m.lock:
            m.names.append(out.parent.name.rsplit("-", 1)[0])
            m.live += 1
            m.peak = max(m.peak, m.live)
        time.sleep(0.2)
        with m.lock:
            m.live -= 1
        out.mkdir(parents=True)
        return half(out, "r", {"IND-1": "PASS"})

    monkeypatch.setattr(runs, "run_suites", fake)
    return m


@pytest.mark.parametrize("workers", [1, 6, 8, 20])
def test_the_runs_made_ahead_at_once_are_shared_out_over_the_workers(
    workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TALLY_SUITE_JOBS", raising=False)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(workers))
    jobs = []
    for i in range(workers):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", f"gw{i}")
        jobs.append(runs.suite_jobs())
    assert sum(jobs) == runs.SUITE_JOBS_AT_ONCE
    assert max(jobs) - min(jobs) <= 1
    monkeypatch.setenv("TALLY_SUITE_JOBS", "5")  # a process's own, as asked
    assert runs.suite_jobs() == 5


def test_runs_made_ahead_by_two_workers_are_each_made_once(
    tmp_path: Path, made: Made, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = [PlannedRun(f"dev{i}", (f"fault{i}",), minutes=6 - i) for i in range(6)]
    monkeypatch.setenv("TALLY_SUITE_JOBS", "2")
    workers = [SuiteRuns(tmp_path / "suite-runs") for _ in range(2)]
    for w in workers:
        w.ahead(plan)
    for w in workers:  # each worker's tests read every run back
        assert {p.name: w.planned(p).verdicts for p in plan} == {
            p.name: {"IND-1": "PASS"} for p in plan
        }
    for w in workers:
        w.close()
    assert sorted(made.names) == sorted(p.name for p in plan)  # six runs, none twice
    assert made.peak >= 2  # made side by side, not one after another


def test_a_suite_run_mark_says_what_run_a_test_reads() -> None:
    mark = pytest.mark.suite_run("lawyer-11", lawyer_seed=11, minutes=5).mark
    assert PlannedRun.of(mark) == PlannedRun("lawyer-11", (), ("suites",), 11, 5.0)
    mark = pytest.mark.suite_run("exif_gps", faults=["exif_gps"]).mark
    assert PlannedRun.of(mark) == PlannedRun("exif_gps", ("exif_gps",))


def test_a_run_another_is_making_is_passed_over_not_waited_for(tmp_path: Path, made: Made) -> None:
    shared = SuiteRuns(tmp_path / "suite-runs")
    first = threading.Thread(target=shared.get, args=("dev", ["f"], ("suites",)))
    first.start()
    deadline = time.monotonic() + 10
    while not made.names and time.monotonic() < deadline:
        time.sleep(0.01)
    assert shared._obtain("dev", ["f"], ("suites",), None, 10, wait=False) is None
    assert shared.get("dev", ["f"], ("suites",)).verdicts == {"IND-1": "PASS"}  # waits
    first.join(timeout=10)
    assert made.names == ["dev"]


def test_committed_durations_are_updated_from_this_machines_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh clone orders its tests by `tests/durations.json`; `make durations` keeps
    what it knew and takes this machine's newer seconds for tests and runs."""
    from tests import durations

    committed = tmp_path / "durations.json"
    committed.write_text(json.dumps({"tests": {"a": 1.0, "b": 2.0}, "runs": {"clean-1": 100}}))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "durations").write_text(json.dumps({"b": 3.04, "c": 0.5}))
    (cache / "run-seconds").write_text(json.dumps({"lawyer-11": 290.26}))
    monkeypatch.setattr(durations, "COMMITTED", committed)
    monkeypatch.setattr(durations, "CACHE", cache)
    durations.main()
    assert durations.committed() == {
        "tests": {"a": 1.0, "b": 3.0, "c": 0.5},
        "runs": {"clean-1": 100, "lawyer-11": 290.3},
    }
    committed.write_text("{not json")
    assert durations.committed() == {"tests": {}, "runs": {}}  # ordered by marks alone


def test_the_committed_durations_know_every_planned_run() -> None:
    """Every whole-suite run a test reads has a measured length in `tests/durations.json`:
    without one it would be begun by its `minutes` guess, maybe last (regenerate the file
    with `make durations` after a `make test`)."""
    from harness.sim.faults import FAULTS
    from tests import durations
    from tests.suites.test_detection import GOOD, NONCONFORMING

    known = durations.committed()["runs"]
    missing = [n for n in [*NONCONFORMING, *GOOD] if n not in known]
    assert not missing, f"no committed duration for runs {missing}"
    assert all(n in FAULTS or n.startswith(("clean-", "lawyer-")) for n in known)


def test_a_run_past_its_bound_is_killed_and_raises() -> None:
    began = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        runs.run_command([sys.executable, "-c", "import time; time.sleep(60)"], timeout_s=1)
    assert time.monotonic() - began < 10

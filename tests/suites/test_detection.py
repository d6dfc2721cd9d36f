"""The suites prove themselves: each catalogued fault FAILs its clauses, and only
plausibly related ones; awkward but conforming devices PASS; the clean device PASSes.

Each bench is a real subprocess (`pytest suites --station sim --sim-fault NAME`), the
same command a firmware team's CI runs, made once per session (`SuiteRuns`): all at once
when one process runs the tests, by whichever worker reaches its test under xdist.
"""

from __future__ import annotations

import pytest

from harness.sim.faults import FAULTS
from tests.runs import ALL_SUITES, SuiteRuns

NONCONFORMING = sorted(n for n, f in FAULTS.items() if f.kind == "nonconforming")
AWKWARD = sorted(n for n, f in FAULTS.items() if f.kind == "awkward")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fault_runs(suite_runs: SuiteRuns):
    return suite_runs.many({name: [name] for name in NONCONFORMING})


@pytest.fixture(scope="module")
def good_runs(suite_runs: SuiteRuns):
    jobs = {name: [name] for name in AWKWARD}
    jobs["clean-1"] = []
    jobs["clean-2"] = []
    return suite_runs.many(jobs, suites=ALL_SUITES)


@pytest.mark.slow(minutes=1)
@pytest.mark.parametrize("fault", NONCONFORMING)
def test_fault_fails_its_clauses_and_only_related_ones(fault_runs, fault):
    run = fault_runs[fault]
    f = FAULTS[fault]
    failed = run.with_verdict("FAIL")
    assert set(f.clauses) <= failed, (
        f"{fault} should FAIL {f.clauses}; verdicts {run.verdicts}\n{run.output[-3000:]}"
    )
    unrelated = run.with_verdict("FAIL", "INCONCLUSIVE") - set(f.clauses) - set(f.incidental)
    assert not unrelated, f"{fault} also failed unrelated {unrelated}: {run.verdicts}"
    assert not run.with_verdict("BROKEN"), f"{fault} broke the bench: {run.summary['deviations']}"
    assert run.returncode == 1 and run.summary["verdict"] == "FAIL"


@pytest.mark.slow(minutes=3)  # every suite; the slow_replies device takes ~6
@pytest.mark.parametrize("name", [*AWKWARD, "clean-1", "clean-2"])
def test_conforming_devices_pass_every_clause(good_runs, name):
    run = good_runs[name]
    assert run.summary.get("verdict") == "PASS", (
        f"{name}: {run.verdicts}\n{run.summary.get('deviations')}\n{run.output[-4000:]}"
    )
    assert run.with_verdict("PASS") == set(run.verdicts), run.verdicts
    assert run.returncode == 0

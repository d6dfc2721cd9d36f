"""The suites prove themselves: each catalogued fault FAILs its clauses (INCONCLUSIVE for
a cheat that leaves nothing to observe), and only plausibly related ones; awkward but
conforming devices PASS; the clean device PASSes.

Each bench is a real subprocess (`pytest suites --station sim --sim-fault NAME`), the
same command a firmware team's CI runs, with every suite: the example suites, the power
suite and the state machine; the test says which suite caught each fault. Each run is made
once per session (`SuiteRuns`), planned from each test's `suite_run` mark and begun at
collection, longest first, in the background of every xdist worker; each test reads its
run back (or waits for it, or makes it if nobody has begun it). The slowest device's run
is made as two at once (the state machine on one simulated bench, every other suite on
another: `HALVED`).
"""

from __future__ import annotations

import pytest

from harness.sim.faults import FAULTS
from tests.runs import Run

NONCONFORMING = sorted(n for n, f in FAULTS.items() if f.kind == "nonconforming")
AWKWARD = sorted(n for n, f in FAULTS.items() if f.kind == "awkward")

pytestmark = pytest.mark.slow


# Spec-lawyer devices: everything the protocol leaves open, varied by seed: the clean
# device under several seeds. Awkward devices run as the catalogue states them: under a
# spec-lawyer seed too, two of them were not yet judged PASS (see the closing note of
# issue 9), left for a follow-up.
LAWYER_SEEDS = (11, 12, 13, 14)
# About how long a run takes where it is more than two minutes (its place in the queue).
MINUTES = {"slow_replies": 10, "lawyer-11": 5, "lawyer-13": 5, "busy_to_everything": 3}
GOOD = [*AWKWARD, "clean-1", "clean-2", *(f"lawyer-{s}" for s in LAWYER_SEEDS)]


def good_run(name: str) -> pytest.MarkDecorator:
    """The run of every suite a conforming device's test reads: slow_replies answers every
    request 400 ms late (~15 minutes, made as two halves at once, tests/runs.py `HALVED`,
    ~10) and two spec-lawyer seeds take ~5 minutes: begun first."""
    faults = [name] if name in AWKWARD else []
    seed = int(name.split("-")[1]) if name.startswith("lawyer-") else None
    minutes = MINUTES.get(name, 2)
    return pytest.mark.suite_run(name, faults=faults, lawyer_seed=seed, minutes=minutes)


@pytest.mark.slow(minutes=1)
@pytest.mark.parametrize(
    "fault",
    [pytest.param(n, marks=pytest.mark.suite_run(n, faults=[n], minutes=MINUTES.get(n, 2)))
     for n in NONCONFORMING],
)  # fmt: skip
def test_fault_fails_its_clauses_and_only_related_ones(suite_run: Run, fault: str) -> None:
    run = suite_run
    f = FAULTS[fault]
    caught = run.with_verdict(f.verdict)
    assert set(f.clauses) <= caught, (
        f"{fault} should {f.verdict} {f.clauses}; verdicts {run.verdicts}; caught by "
        f"{run.caught_by()}\n{run.output[-3000:]}"
    )
    unrelated = run.with_verdict("FAIL", "INCONCLUSIVE") - set(f.clauses) - set(f.incidental)
    assert not unrelated, f"{fault} also failed unrelated {unrelated}: {run.verdicts}"
    assert not run.with_verdict("BROKEN"), f"{fault} broke the bench: {run.summary['deviations']}"
    # never PASS: the fault's own verdict, or FAIL where an incidental clause failed
    assert run.returncode == 1 and run.summary["verdict"] in (f.verdict, "FAIL")
    assert run.caught_by(), f"{fault}: no suite's tests carry the verdicts {run.verdicts}"


@pytest.mark.slow(minutes=3)  # every suite
@pytest.mark.parametrize("name", [pytest.param(n, marks=good_run(n)) for n in GOOD])
def test_conforming_devices_pass_every_clause(suite_run: Run, name: str) -> None:
    """PASS, or NOT_TESTED only where the device declares fewer kinds or capabilities."""
    run = suite_run
    assert run.summary.get("verdict") == "PASS", (
        f"{name}: {run.verdicts}\n{run.summary.get('deviations')}\n{run.output[-4000:]}"
    )
    assert run.with_verdict("PASS", "NOT_TESTED") == set(run.verdicts), run.verdicts
    declared = run.summary.get("dut", {}).get("capabilities", {}).get("capture", [])
    if len(declared) == 3:
        assert run.with_verdict("PASS") == set(run.verdicts), run.verdicts
    assert run.returncode == 0

"""Verdict hooks: measurements and device refusals into outcomes, the run sealed, the exit code.

pytest exits 0 only when the run's verdict is PASS.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.judge.clauses import CLAUSE_BY_ID
from harness.judge.verdict import TestOutcome, Verdict, worst
from harness.pytestplugin.markers import clauses_of
from harness.pytestplugin.outcomes import Outcome, classify, measurement_failure
from harness.pytestplugin.session import EVIDENCE_KEY, current_run
from harness.wire.text import printable

OUTCOME_KEY = pytest.StashKey[list[Outcome]]()
START_KEY = pytest.StashKey[float]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Failing measurements fail the test, as a typed `ClauseFailure` naming their clauses."""
    if current_run(item.config) is None:
        return (yield)
    result = yield
    ev = item.stash.get(EVIDENCE_KEY, None)
    bad = ev.failures() if ev is not None else []
    if bad:
        raise measurement_failure(bad)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:  # type: ignore[misc]
    report = yield
    run = current_run(item.config)
    if run is None:
        return report
    phases = item.stash.setdefault(OUTCOME_KEY, [])
    if call.when == "setup":
        item.stash[START_KEY] = time.monotonic()
    phases.append(classify(report, call, clauses_of(item)))
    if call.when == "teardown":
        verdict = worst([o.verdict for o in phases])
        if verdict == Verdict.PASS and any(o.verdict == Verdict.NOT_TESTED for o in phases):
            verdict = Verdict.NOT_TESTED  # a skip, with setup and teardown passing, is no PASS
        reason = "; ".join(o.reason for o in phases if o.verdict == verdict and o.reason)
        verdicts: dict[str, Verdict] = {}
        for o in phases:
            for cid, v in o.verdicts.items():
                verdicts[cid] = worst([verdicts.get(cid, Verdict.PASS), v])
        ev = item.stash.get(EVIDENCE_KEY, None)
        if ev is not None:
            ev.finish()
        run.ledger.test(
            TestOutcome(
                item.nodeid, clauses_of(item), verdict, reason, run.ledger.station, verdicts
            ),
            time.monotonic() - item.stash.get(START_KEY, time.monotonic()),
        )
        report.user_properties.append(("tally_verdict", verdict.value))
    return report


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Iterator[None]:
    """Seal the run after pytest's own session teardown (a wrapper, so also if that fails).

    On Ctrl-C pytest tears down the interrupted test's fixtures here, in its own
    `pytest_sessionfinish`: the `dut` fixture must still find the bench open then, so it
    can leave the device not recording; only after that is the bench closed.
    """
    try:
        return (yield)
    finally:
        _finishcurrent_run(session, exitstatus)


def _finishcurrent_run(session: pytest.Session, exitstatus: int) -> None:
    run = current_run(session.config)
    if run is None:
        return
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED or bool(session.shouldstop)
    alluredir = getattr(session.config.option, "allure_report_dir", None)
    summary = run.finish(complete=not interrupted, alluredir=Path(alluredir) if alluredir else None)
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        session.exitstatus = (
            pytest.ExitCode.OK
            if summary["verdict"] == Verdict.PASS and exitstatus == pytest.ExitCode.OK
            else pytest.ExitCode.TESTS_FAILED
        )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    run = current_run(terminalreporter.config)
    if run is None:
        return
    s = run.ledger.summary(complete=True)
    tr = terminalreporter
    tr.section(printable(f"Tally verdicts — station {s['station']}, profile {s['profile']}"))
    for cid, c in s["clauses"].items():
        tr.write_line(printable(f"{cid:6s} {c['verdict']:13s} {CLAUSE_BY_ID[cid].statement}"))
    tr.write_line(printable(f"RUN    {s['verdict']}   ({run.rundir.root / 'summary.json'})"))

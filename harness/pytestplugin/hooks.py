"""Verdict hooks: measurements and device refusals into outcomes, the run sealed, the exit code.

pytest exits 0 only when the run's verdict is PASS.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import DeviceError
from harness.judge.clauses import CLAUSE_BY_ID
from harness.judge.verdict import TestOutcome, Verdict, worst
from harness.pytestplugin.markers import clauses_of
from harness.pytestplugin.outcomes import classify
from harness.pytestplugin.session import EVIDENCE_KEY, current_run
from harness.wire.text import printable

OUTCOME_KEY = pytest.StashKey[list[tuple[Verdict, str]]]()
START_KEY = pytest.StashKey[float]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Device refusals become failures; failing measurements fail the test."""
    if current_run(item.config) is None:
        return (yield)
    try:
        result = yield
    except DeviceError as exc:
        if exc.code == "UNSUPPORTED":
            pytest.skip(f"NOT_TESTED: the device does not offer {exc.cmd}")
        raise AssertionError(f"device answered an error it should not have: {exc}") from exc
    ev = item.stash.get(EVIDENCE_KEY, None)
    if ev is not None:
        bad = ev.failures()
        if bad:
            lines = [
                f"{m.clause} {m.verdict.value}: {m.name} = {m.value:.4g} {m.unit} "
                f"(U = {m.uncertainty:.2g}, limit {m.comparison} {m.limit:g}) "
                f"{m.subject} {m.detail}"
                for m in bad[:20]
            ]
            raise AssertionError("\n".join(lines))
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
    phases.append(classify(report, call))
    if call.when == "teardown":
        verdict = worst([v for v, _ in phases])
        if verdict == Verdict.PASS and any(v == Verdict.NOT_TESTED for v, _ in phases):
            verdict = Verdict.NOT_TESTED  # a skip, with setup and teardown passing, is no PASS
        reason = "; ".join(r for v, r in phases if v == verdict and r)
        ev = item.stash.get(EVIDENCE_KEY, None)
        if ev is not None:
            ev.finish()
        clauses = clauses_of(item)
        blamed = tuple(c for c in clauses if re.search(rf"\b{c}\b", reason))
        run.ledger.test(
            TestOutcome(item.nodeid, clauses, verdict, reason, run.ledger.station, blamed),
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

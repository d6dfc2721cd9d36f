"""How a test's end becomes verdicts (harness.pytestplugin.outcomes), one exception at a time."""

from __future__ import annotations

import pytest

from harness.errors import ClauseFailure, TransportError
from harness.judge.verdict import Verdict
from harness.pytestplugin.outcomes import classify


def ended_by(exc: BaseException) -> tuple[pytest.TestReport, pytest.CallInfo[None]]:
    def call() -> None:
        raise exc

    info = pytest.CallInfo.from_call(call, when="call")
    report = pytest.TestReport(
        "suites/x.py::t", ("suites/x.py", 1, "t"), {}, "failed", "Traceback ...\nlast line", "call"
    )
    return report, info


def test_a_clause_failure_gives_its_verdicts() -> None:
    out = classify(*ended_by(ClauseFailure({"CON-1": "FAIL"}, "CON-1 FAIL: accepted")))
    assert (out.verdict, out.verdicts, out.reason) == (
        Verdict.FAIL, {"CON-1": Verdict.FAIL}, "CON-1 FAIL: accepted"
    )  # fmt: skip


def test_a_bench_fault_anywhere_in_a_group_is_broken() -> None:
    dark = ClauseFailure({"IND-1": "FAIL"}, "dark")
    group = ExceptionGroup("two", [dark, TransportError("gone")])
    out = classify(*ended_by(group))
    assert out.verdict == Verdict.BROKEN and "gone" in out.reason


def test_a_failure_that_did_not_replay_is_broken_and_names_what_was_seen() -> None:
    """Hypothesis ends a failure its replay did not repeat with a group of the first
    failure and its own error: no verdict rests on it, but the record says what failed."""
    first = ClauseFailure({"IND-5": "FAIL"}, "IND-5 FAIL: photo_notice_ms = 120 ms")
    group = ExceptionGroup("Inconsistent results", [first, RuntimeError("drew more data")])
    out = classify(*ended_by(group))
    assert out.verdict == Verdict.BROKEN and out.verdicts == {}
    assert "IND-5 FAIL: photo_notice_ms = 120 ms" in out.reason
    assert "RuntimeError: drew more data" in out.reason

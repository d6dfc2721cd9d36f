"""How a test's exception becomes a verdict: bench faults are BROKEN, assertions FAIL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.errors import BenchFault
from harness.judge.verdict import Verdict


def classify(report: pytest.TestReport, call: pytest.CallInfo[None]) -> tuple[Verdict, str]:
    """One phase of a test as a verdict with its reason."""
    if report.passed:
        return Verdict.PASS, ""
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        return Verdict.NOT_TESTED, str(reason).removeprefix("Skipped: ")
    exc = call.excinfo.value if call.excinfo else None
    text = f"{type(exc).__name__}: {exc}" if exc is not None else str(report.longrepr)[-500:]
    if isinstance(exc, BaseExceptionGroup):  # e.g. Hypothesis: several or flaky failures
        leaves = list(_leaves(exc))
        text += " — " + " | ".join(f"{type(e).__name__}: {e}"[:300] for e in leaves[:5])
        if any(isinstance(e, BenchFault) or _caused_by_bench(e) for e in leaves):
            return Verdict.BROKEN, text
        if all(isinstance(e, AssertionError | pytest.fail.Exception) for e in leaves):
            return Verdict.FAIL, text
        return Verdict.BROKEN, f"harness error: {text}"
    if isinstance(exc, BenchFault | pytest.UsageError) or (
        exc is not None and _caused_by_bench(exc)
    ):
        return Verdict.BROKEN, text
    if isinstance(exc, AssertionError | pytest.fail.Exception):
        if "INCONCLUSIVE" in str(exc) and "FAIL:" not in str(exc):
            return Verdict.INCONCLUSIVE, text
        return Verdict.FAIL, text
    return Verdict.BROKEN, f"harness error: {text}"


def _leaves(group: BaseExceptionGroup) -> Iterator[BaseException]:
    for e in group.exceptions:
        if isinstance(e, BaseExceptionGroup):
            yield from _leaves(e)
        else:
            yield e


def _caused_by_bench(exc: BaseException) -> bool:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, BenchFault):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
        seen += 1
    return False

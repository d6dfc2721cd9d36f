"""How a test's end becomes verdicts: by the type of what ended it, never by its text.

- a `ClauseFailure` carries its clauses' verdicts (FAIL or INCONCLUSIVE) as data;
- a `DeviceError` or `ResponseBreach` escaping a test is the device refusing, or
  answering without its named fields, a command the test needed: the clauses that command
  serves FAIL (clauses.md "What counts as evidence"), whatever the device wrote;
- a `CaptureDeclined` (every consented capture refused) is INCONCLUSIVE for the test's
  clauses that needed a capture: nothing observed is no PASS;
- a `BenchFault` (or an error caused by one) is BROKEN;
- anything else is a harness error: BROKEN, with its traceback in the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from harness.errors import (
    BenchFault,
    CaptureDeclined,
    ClauseFailure,
    DeviceError,
    ResponseBreach,
)
from harness.judge.clauses import CAPTURE_CLAUSES, served_by
from harness.judge.verdict import Measurement, Verdict, worst

MAX_REASON = 2000


@dataclass
class Outcome:
    """One phase of a test (setup, call, teardown) as data."""

    verdict: Verdict
    reason: str = ""
    verdicts: dict[str, Verdict] = field(default_factory=dict)  # clause -> FAIL/INCONCLUSIVE


def device_failure(exc: DeviceError | ResponseBreach) -> ClauseFailure:
    """A refused or malformed answer to a command the test needed, as a typed failure."""
    if isinstance(exc, DeviceError):
        what = f"{exc.cmd or 'a command'} was refused with {exc.code}"
    else:
        what = f"{exc.cmd} answered without a valid named field ({exc.detail})"
    clauses = served_by(exc.cmd)
    reason = f"the device broke the protocol: {what}; this FAILs {', '.join(clauses)}"
    return ClauseFailure(dict.fromkeys(clauses, Verdict.FAIL.value), reason)


def measurement_failure(bad: list[Measurement]) -> ClauseFailure:
    """Failing (or inconclusive) measurements as a typed failure naming their clauses."""
    verdicts: dict[str, str] = {}
    for m in bad:
        verdicts[m.clause] = worst([Verdict(verdicts.get(m.clause, "PASS")), m.verdict]).value
    lines = [
        f"{m.clause} {m.verdict.value}: {m.name} = {m.value:.4g} {m.unit} "
        f"(U = {m.uncertainty:.2g}, limit {m.comparison} {m.limit:g}) {m.subject} {m.detail}"
        for m in bad[:20]
    ]
    return ClauseFailure(verdicts, "\n".join(lines))


def classify(
    report: pytest.TestReport, call: pytest.CallInfo[None], clauses: tuple[str, ...] = ()
) -> Outcome:
    """One phase of a test (marked with `clauses`) as an outcome with its clause verdicts."""
    if report.passed:
        return Outcome(Verdict.PASS)
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        return Outcome(Verdict.NOT_TESTED, str(reason).removeprefix("Skipped: "))
    exc = call.excinfo.value if call.excinfo else None
    leaves = list(_leaves(exc)) if isinstance(exc, BaseExceptionGroup) else [exc]
    if any(isinstance(e, BenchFault | pytest.UsageError) or _caused_by_bench(e) for e in leaves):
        return Outcome(Verdict.BROKEN, _text(leaves))
    failures = [_as_failure(e, clauses) for e in leaves]
    if failures and all(f is not None for f in failures):
        verdicts: dict[str, Verdict] = {}
        for f in failures:
            for cid, v in f.verdicts.items():
                verdicts[cid] = worst([verdicts.get(cid, Verdict.PASS), Verdict(v)])
        reason = " | ".join(f.reason for f in failures if f is not None)[:MAX_REASON]
        return Outcome(worst(verdicts.values()), reason, verdicts)
    if isinstance(exc, BaseExceptionGroup):  # e.g. Hypothesis: a failure that did not replay
        # the traceback's tail shows only the last leaf: name each first
        return Outcome(Verdict.BROKEN, f"harness error: {_text(leaves)}"[:MAX_REASON])
    return Outcome(Verdict.BROKEN, f"harness error: {_traceback(report)}")


def _as_failure(exc: BaseException | None, clauses: tuple[str, ...]) -> ClauseFailure | None:
    if isinstance(exc, ClauseFailure) and exc.verdicts:
        return exc
    if isinstance(exc, CaptureDeclined):
        needed = [c for c in clauses if c in (*CAPTURE_CLAUSES, "CON-3")] or list(clauses)
        return ClauseFailure(dict.fromkeys(needed, Verdict.INCONCLUSIVE.value), str(exc))
    if isinstance(exc, DeviceError | ResponseBreach):
        return device_failure(exc)
    return None


def _text(leaves: list[BaseException | None]) -> str:
    return " | ".join(f"{type(e).__name__}: {e}"[:500] for e in leaves if e is not None)[
        :MAX_REASON
    ]


def _traceback(report: pytest.TestReport) -> str:
    return str(report.longrepr)[-MAX_REASON:]


def _leaves(group: BaseExceptionGroup) -> Iterator[BaseException]:
    for e in group.exceptions:
        if isinstance(e, BaseExceptionGroup):
            yield from _leaves(e)
        else:
            yield e


def _caused_by_bench(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, BenchFault):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False

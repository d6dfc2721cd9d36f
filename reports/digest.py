"""Verdicts and measurements as a reviewer reads them: worst first, long lists collapsed.

A clause can gather hundreds of measurements; the report shows one line per measured
quantity, every measurement that did not pass (up to `WORST_ROWS`) and the few passing
ones closest to their limits. The full list stays in `measurements.jsonl`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from harness.judge.verdict import Verdict, safe_margin
from harness.judge.verdict import worst as worst_verdict
from reports.values import as_num, clip

WORST_ROWS = 8  # measurements shown per clause; the rest are counted
PASSING_ROWS = 3  # of which at most this many passing ones (those closest to the limit)


def rank(verdict: str) -> int:
    """Severity of a verdict string; anything unknown counts as BROKEN (worst)."""
    return Verdict.parse(verdict).rank


def worst(verdicts: Iterable[str]) -> str:
    """The run's rule (`harness.judge.verdict.worst`) over verdict strings read back."""
    return worst_verdict(Verdict.parse(v) for v in verdicts).value


def by_severity(counts: Mapping[str, int]) -> dict[str, int]:
    """Verdict counts, worst first (NOT_TESTED last), for reading left to right."""
    return dict(sorted(((k, n) for k, n in counts.items() if n), key=lambda kv: _order(kv[0])))


def _order(verdict: str) -> int:
    return 99 if verdict == Verdict.NOT_TESTED else -rank(verdict)


def margin(m: Mapping[str, Any]) -> float:
    """How far a measurement is on the safe side of its limit (negative: on the wrong side)."""
    value, limit = as_num(m.get("value")), as_num(m.get("limit"))
    if value is None or limit is None:
        return float("-inf")
    return safe_margin(value, limit, "<=" if m.get("comparison") == "<=" else ">=")


def _severity_key(m: Mapping[str, Any]) -> tuple[int, float]:
    return (-rank(str(m.get("verdict"))), margin(m))


def measurement_row(m: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": clip(m.get("name"), 120),
        "subject": clip(m.get("subject"), 200),
        "value": as_num(m.get("value")),
        "unit": clip(m.get("unit"), 20),
        "uncertainty": as_num(m.get("uncertainty")),
        "comparison": clip(m.get("comparison"), 4),
        "limit": as_num(m.get("limit")),
        "verdict": clip(m.get("verdict"), 20),
        "detail": clip(m.get("detail"), 300),
        "test": clip(m.get("test"), 300),
    }


def measurement_digest(ms: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts, one line per measured quantity, and the worst `WORST_ROWS` measurements."""
    by_verdict = Counter(str(m.get("verdict")) for m in ms)
    names: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for m in ms:
        names.setdefault((str(m.get("name")), str(m.get("unit"))), []).append(m)
    by_name = []
    for (name, unit), group in names.items():
        values = [v for v in (as_num(m.get("value")) for m in group) if v is not None]
        w = min(group, key=_severity_key)
        by_name.append(
            {
                "name": clip(name, 120),
                "unit": clip(unit, 20),
                "n": len(group),
                "min": min(values) if values else None,
                "max": max(values) if values else None,
                "comparison": clip(w.get("comparison"), 4),
                "limit": as_num(w.get("limit")),
                "worst": measurement_row(w),
                "verdict": worst(str(m.get("verdict")) for m in group),
                "counts": dict(Counter(str(m.get("verdict")) for m in group)),
            }
        )
    rows = worst_rows(ms)
    return {
        "total": len(ms),
        "by_verdict": by_severity(by_verdict),
        "by_name": by_name,
        "worst": [measurement_row(m) for m in rows],
        "hidden": max(0, len(ms) - len(rows)),
    }


def _informative(m: Mapping[str, Any]) -> bool:
    """A passing zero count says nothing the per-quantity line does not already say."""
    return m.get("verdict") != Verdict.PASS or not (m.get("unit") == "count" and not m.get("value"))


def worst_rows(ms: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Every non-passing measurement (up to `WORST_ROWS`), then the passing ones closest to
    their limits (up to `PASSING_ROWS`): what a reviewer needs to see, worst first."""
    ranked = sorted((m for m in ms if _informative(m)), key=_severity_key)
    bad = [m for m in ranked if m.get("verdict") != Verdict.PASS][:WORST_ROWS]
    good = [m for m in ranked if m.get("verdict") == Verdict.PASS]
    return bad + good[: max(0, min(PASSING_ROWS, WORST_ROWS - len(bad)))]


def verdict_for(test: Mapping[str, Any], cid: str) -> str:
    """What one test's outcome means for one clause (harness.judge.verdict.TestOutcome):
    the clause verdicts it carries as data, BROKEN for the clauses of a broken test, and
    otherwise its own PASS or NOT_TESTED (never read from its reason's text)."""
    verdicts = test.get("verdicts")
    if isinstance(verdicts, Mapping) and cid in verdicts:
        return Verdict.parse(verdicts[cid]).value
    outcome = Verdict.parse(test.get("outcome", "NOT_TESTED"))
    clauses = test.get("clauses")
    if outcome == Verdict.BROKEN:
        return outcome.value if isinstance(clauses, list) and cid in clauses else "PASS"
    return outcome.value if outcome in (Verdict.PASS, Verdict.NOT_TESTED) else "PASS"


def reason_for(reason: Any, cid: str) -> str:
    """A finding cut to the lines about this clause ("test: IND-1 FAIL: ..."), when it has such."""
    text = str(reason or "")
    test, sep, message = text.partition(": ")
    if not sep:
        return clip(text)
    message = message.removeprefix("AssertionError: ")
    pattern = re.compile(rf"(?<![\w-]){re.escape(cid)}(?![\w-])")
    lines = [ln for ln in message.splitlines() if pattern.search(ln)]
    return clip(f"{test}: " + ("\n".join(lines) if lines else message))

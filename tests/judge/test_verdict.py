"""The guard-band decision rule, worst-wins, measurements and limits."""

from __future__ import annotations

import pytest

from harness.judge.clauses import DEFAULT_LIMITS, Limits
from harness.judge.verdict import Measurement, Verdict, decide, worst


@pytest.mark.parametrize(
    "value,limit,cmp,u,expected",
    [
        (10.0, 12.5, "<=", 1.0, Verdict.PASS),  # inside, margin 2.5 >= U
        (12.0, 12.5, "<=", 0.5, Verdict.PASS),  # margin exactly U: meets with U on safe side
        (12.0, 12.5, "<=", 1.0, Verdict.INCONCLUSIVE),  # inside, within the band
        (13.0, 12.5, "<=", 1.0, Verdict.INCONCLUSIVE),  # outside, within the band
        (13.5, 12.5, "<=", 1.0, Verdict.INCONCLUSIVE),  # misses by exactly U: not more than U
        (13.6, 12.5, "<=", 1.0, Verdict.FAIL),  # misses by more than U
        (5.0, 0.0, ">=", 2.0, Verdict.PASS),
        (1.0, 0.0, ">=", 2.0, Verdict.INCONCLUSIVE),
        (-1.0, 0.0, ">=", 2.0, Verdict.INCONCLUSIVE),
        (-3.0, 0.0, ">=", 2.0, Verdict.FAIL),
        (0.0, 0.0, "<=", 0.0, Verdict.PASS),  # a count of nothing, exact
        (1.0, 0.0, "<=", 0.0, Verdict.FAIL),
    ],
)
def test_guard_band_rule(value, limit, cmp, u, expected):
    assert decide(value, limit, cmp, u) == expected
    assert Measurement("IND-3", "x", value, "ms", limit, cmp, u).verdict == expected


def test_worst_wins_and_not_tested_only_when_alone():
    assert worst([Verdict.PASS, Verdict.INCONCLUSIVE, Verdict.NOT_TESTED]) == Verdict.INCONCLUSIVE
    assert worst([Verdict.FAIL, Verdict.BROKEN]) == Verdict.BROKEN
    assert worst([Verdict.NOT_TESTED]) == Verdict.NOT_TESTED
    assert worst([]) == Verdict.NOT_TESTED


def test_measurement_rejects_nonsense():
    with pytest.raises(ValueError):
        Measurement("IND-1", "x", float("nan"), "ms", 0, ">=")
    with pytest.raises(ValueError):
        Measurement("IND-1", "x", 1, "ms", 0, ">=", -1)


def test_profile_overrides_are_recorded():
    p = Limits.with_overrides({"revoke_ms": 800, "lead_ms": None})
    assert p["revoke_ms"] == 800 and p["lead_ms"] == DEFAULT_LIMITS["lead_ms"]
    assert p.as_dict()["overridden"] == ["revoke_ms"]
    with pytest.raises(KeyError):
        Limits.with_overrides({"brightness": 3})

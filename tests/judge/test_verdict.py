"""The guard-band decision rule and the ledger's clause verdicts."""

from __future__ import annotations

import json

import pytest

from harness.judge.clauses import CLAUSES, DEFAULT_LIMITS, Limits
from harness.judge.verdict import Measurement, TestOutcome, Verdict, decide, worst
from harness.record.ledger import Ledger
from harness.record.rundir import RunDir


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


def test_ledger_gathers_clause_verdicts_and_writes_as_it_goes(tmp_path):
    ledger = Ledger(RunDir(tmp_path), station="s1", limits=Limits())
    ledger.measurement(Measurement("IND-3", "gap", 3.0, "ms", 12.5, "<=", 0.4, test="t1"))
    ledger.test(TestOutcome("t1", ("IND-3",), Verdict.PASS))
    ledger.measurement(Measurement("CON-3", "revoke", 2500, "ms", 1000, "<=", 1, test="t2"))
    ledger.test(TestOutcome("t2", ("CON-3",), Verdict.FAIL, "CON-3 FAIL: slow", blamed=("CON-3",)))
    ledger.test(
        TestOutcome("t3", ("MIN-1", "MIN-2"), Verdict.FAIL, "MIN-2 FAIL", blamed=("MIN-2",))
    )
    ledger.test(TestOutcome("t4", ("IND-1",), Verdict.BROKEN, "serial port gone"))
    ledger.test(TestOutcome("t5", ("CON-2",), Verdict.NOT_TESTED, "no audio"))
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk["complete"] is False  # written before the run finished
    v = ledger.clause_verdicts()
    assert v["IND-3"] == Verdict.PASS
    assert v["CON-3"] == Verdict.FAIL
    assert v["MIN-1"] == Verdict.PASS and v["MIN-2"] == Verdict.FAIL
    assert v["IND-1"] == Verdict.BROKEN
    assert v["CON-2"] == Verdict.NOT_TESTED and v["IND-6"] == Verdict.NOT_TESTED
    assert ledger.run_verdict() == Verdict.BROKEN
    s = ledger.write_summary(complete=True)
    assert set(s["clauses"]) == {c.id for c in CLAUSES}
    assert "no test exercised" in s["clauses"]["IND-6"]["reasons"][0]
    assert s["deviations"][0]["test"] == "t4"
    lines = (tmp_path / "measurements.jsonl").read_text().splitlines()
    assert [json.loads(x)["verdict"] for x in lines] == ["PASS", "FAIL"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert {"summary.json", "measurements.jsonl", "tests.jsonl"} <= set(manifest["files"])

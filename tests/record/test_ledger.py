"""The ledger: clause verdicts gathered from tests, written to the run directory as it goes."""

from __future__ import annotations

import harness.record.ledger as ledger_module
from harness.judge.clauses import CLAUSES, Limits
from harness.judge.verdict import Measurement, TestOutcome, Verdict
from harness.record.ledger import Ledger
from harness.record.rundir import RunDir
from tests.runs import read_json

FAIL, INC = Verdict.FAIL, Verdict.INCONCLUSIVE


def test_ledger_gathers_clause_verdicts_and_writes_as_it_goes(tmp_path):
    ledger = Ledger(RunDir(tmp_path), station="s1", limits=Limits())
    ledger.measurement(Measurement("IND-3", "gap", 3.0, "ms", 12.5, "<=", 0.4, test="t1"))
    ledger.test(TestOutcome("t1", ("IND-3",), Verdict.PASS))
    ledger.measurement(Measurement("CON-3", "revoke", 2500, "ms", 1000, "<=", 1, test="t2"))
    ledger.test(TestOutcome("t2", ("CON-3",), Verdict.FAIL, "slow", verdicts={"CON-3": FAIL}))
    # A typed failure counts only for the clauses it names, whatever its text says.
    ledger.test(
        TestOutcome("t3", ("MIN-1", "MIN-2"), Verdict.FAIL, "MIN-1 FAIL", verdicts={"MIN-2": FAIL})
    )
    ledger.measurement(Measurement("MIN-1", "fields", 0, "count", 0, "<=", test="t3"))
    ledger.test(TestOutcome("t4", ("IND-1",), Verdict.BROKEN, "serial port gone"))
    ledger.test(TestOutcome("t5", ("CON-2",), Verdict.NOT_TESTED, "no audio"))
    # No evidence, no PASS: a passing test with no measurement gives its clause nothing.
    ledger.test(TestOutcome("t6", ("CON-1", "MIN-4"), Verdict.PASS))
    # A typed INCONCLUSIVE (nothing observed) for a clause no test was marked with.
    ledger.test(TestOutcome("t7", (), Verdict.INCONCLUSIVE, "none", verdicts={"IND-5": INC}))
    on_disk = read_json(tmp_path / "summary.json")
    assert on_disk["complete"] is False  # written before the run finished
    v = ledger.clause_verdicts()
    assert v["IND-3"] == Verdict.PASS
    assert v["CON-3"] == Verdict.FAIL
    assert v["MIN-1"] == Verdict.PASS and v["MIN-2"] == Verdict.FAIL
    assert v["IND-1"] == Verdict.BROKEN
    assert v["CON-2"] == Verdict.NOT_TESTED and v["IND-6"] == Verdict.NOT_TESTED
    assert v["CON-1"] == Verdict.NOT_TESTED and v["MIN-4"] == Verdict.NOT_TESTED
    assert v["IND-5"] == Verdict.INCONCLUSIVE
    assert ledger.run_verdict() == Verdict.BROKEN
    s = ledger.write_summary(complete=True)
    assert set(s["clauses"]) == {c.id for c in CLAUSES}
    assert "no measurement" in s["clauses"]["IND-6"]["reasons"][0]
    assert "no measurement" in s["clauses"]["CON-1"]["reasons"][0]
    assert s["clauses"]["CON-2"]["reasons"] == ["t5: no audio"]
    assert s["tests"]["t3"]["verdicts"] == {"MIN-2": "FAIL"}
    assert s["deviations"][0]["test"] == "t4"
    lines = read_json(tmp_path / "measurements.jsonl")
    assert [x["verdict"] for x in lines] == ["PASS", "FAIL", "PASS"]
    manifest = read_json(tmp_path / "manifest.json")
    assert {"summary.json", "measurements.jsonl", "tests.jsonl"} <= set(manifest["files"])


def test_stored_files_are_summarised_within_bounds(tmp_path, monkeypatch):
    monkeypatch.setattr(ledger_module, "MAX_ARTIFACTS_PER_TEST", 2)
    ledger = Ledger(RunDir(tmp_path), station="s1", limits=Limits())
    inventory = {"format": "jpeg", "metadata_keys": ["ifd0:Make", "xmp"], "problem": None}
    for i in range(3):
        ledger.artifact("t1", {"artifact": f"a-{i}", "inventory": inventory})
    ledger.artifact("t2", {"artifact": "a-9", "inventory": inventory})
    s = ledger.write_summary(complete=True)
    assert [a["artifact"] for a in s["artifacts"]["t1"]] == ["a-0", "a-1"]
    assert s["artifacts"]["t2"][0]["inventory"] == {**inventory, "metadata_keys": 2}
    assert read_json(tmp_path / "summary.json")["artifacts"] == s["artifacts"]

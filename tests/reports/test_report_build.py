"""The conformance report: every clause, escaped device strings, one self-contained file."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from markupsafe import escape

from harness.judge.clauses import CLAUSES
from reports.__main__ import main
from reports.build import build
from reports.digest import WORST_ROWS, reason_for, verdict_for
from tests.reports.handmade import MakeRun, make_summary, measurement

HOSTILE = '<script>alert("x")</script>'


def test_report_has_every_clause_and_is_self_contained(make_run: MakeRun) -> None:
    run = make_run(png=True)
    html_path, json_path, model = build(run)
    html = html_path.read_text(encoding="utf-8")
    for clause in CLAUSES:
        assert f'id="clause-{clause.id}"' in html  # the anchors Allure links point at
        assert str(escape(clause.statement)) in html
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "@import" not in html and "url(" not in html
    # the plot is inlined, byte for byte, and named by its hash
    png = next(run.glob("tests/*/light-1-*.png")).read_bytes()
    assert "data:image/png;base64," + base64.b64encode(png).decode() in html
    assert model["plots"][0]["sha256"] == hashlib.sha256(png).hexdigest()
    assert json.loads(json_path.read_text()) == model


def test_report_id_is_stable_and_follows_the_content(make_run: MakeRun) -> None:
    run = make_run()
    _, _, first = build(run, now=0)
    _, _, again = build(run, now=10**9)
    assert first["report"]["id"] == again["report"]["id"]
    assert first["report"]["id"].startswith("tally-20260101-000000-deadbeef-")
    other = make_run(make_summary(verdict="FAIL"))
    assert build(other)[2]["report"]["id"] != first["report"]["id"]


def test_hostile_device_strings_are_escaped(make_run: MakeRun) -> None:
    s = make_summary()
    s["dut"].update(vendor=HOSTILE, firmware=f'1.0"><img src=x onerror=alert(1)>{HOSTILE}')
    s["dut"]["serial_number"] = "S1</style><script>x()</script>"
    test = "suites/test_x.py::test_x"
    s["tests"][test].update(outcome="FAIL", reason=f"AssertionError: MIN-1 FAIL: {HOSTILE}")
    s["clauses"]["MIN-1"].update(
        verdict="FAIL",
        tests=[test],
        reasons=[f"{test}: AssertionError: MIN-1 FAIL: {HOSTILE}"],
        measurements=[
            measurement(
                "MIN-1", "unrequested_fields_stored", 1.0, unit="count", limit=0.0,
                comparison="<=", uncertainty=0.0, verdict="FAIL",
                subject=f"photo {HOSTILE}", detail=f"stored [{HOSTILE!r}]",
            )
        ],
    )  # fmt: skip
    s["deviations"] = [{"test": test, "clauses": ["MIN-1"], "reason": HOSTILE}]
    run = make_run(s)
    html = build(run)[0].read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&lt;/style&gt;&lt;script&gt;" in html


def test_hostile_run_id_does_not_reach_the_stylesheet(make_run: MakeRun) -> None:
    run = make_run(make_summary(run_id='x"; } body { display: none } @page { x: "'))
    html = build(run)[0].read_text(encoding="utf-8")
    style = html[html.index("<style>") : html.index("</style>")]
    assert "display: none" not in style


def test_incomplete_run_is_said_prominently(make_run: MakeRun) -> None:
    run = make_run(make_summary(complete=False), finish=False)
    _, _, model = build(run)
    html = (run / "report.html").read_text(encoding="utf-8")
    assert not model["run"]["complete"]
    head = html[: html.index("Overall verdict")]
    assert "INCOMPLETE RUN" in head


def test_limits_overrides_not_tested_and_deviations(make_run: MakeRun) -> None:
    s = make_summary(limits_overridden=["revoke_ms"])
    s["limits"]["revoke_ms"] = 800.0
    s["deviations"] = [{"test": "t::b", "clauses": ["CON-3"], "reason": "TransportError: gone"}]
    _, _, model = build(make_run(s))
    revoke = next(row for row in model["limits"] if row["name"] == "revoke_ms")
    assert revoke == {
        "name": "revoke_ms", "value": 800.0, "unit": "ms", "default": 1000.0, "overridden": True,
    }  # fmt: skip
    assert {c["id"] for c in model["not_tested"]} == {c.id for c in CLAUSES} - {"IND-2"}
    assert model["deviations"][0]["reason"] == "TransportError: gone"
    assert model["reproduce"]["hypothesis_seed"] == 7
    assert model["reproduce"]["command"] == "python -m pytest suites --station sim"


def test_report_of_a_bench_that_never_opened(make_run: MakeRun) -> None:
    s = make_summary(verdict="BROKEN", bench_error="TransportError: /dev/ttyACM0: no such port")
    for key in ("dut", "calibration", "instrument", "hypothesis", "sim", "station_config"):
        s.pop(key)
    test = "suites/test_x.py::test_x"
    s["tests"][test].update(outcome="BROKEN", reason="TransportError: no such port")
    s["deviations"] = [s["tests"][test]]
    s["clauses"]["IND-2"].update(verdict="BROKEN", measurements=[])
    html_path, _, model = build(make_run(s))
    html = html_path.read_text(encoding="utf-8")
    assert not model["item"]["identified"]
    assert "The device did not identify itself" in html
    assert "The bench failed to open" in html and "no such port" in html
    assert "No calibration was recorded" in html


def test_long_measurement_lists_collapse_to_the_worst(make_run: MakeRun) -> None:
    s = make_summary()
    ms = [measurement("IND-2", "indicator_lead", 50.0 + i) for i in range(40)]
    ms += [measurement("IND-2", "indicator_lead", -3.0, verdict="FAIL", subject="photo bad")]
    s["clauses"]["IND-2"].update(verdict="FAIL", measurements=ms)
    _, _, model = build(make_run(s))
    ind2 = next(c for p in model["principles"] for c in p["clauses"] if c["id"] == "IND-2")
    digest = ind2["measurements"]
    assert digest["total"] == 41 and digest["by_verdict"] == {"PASS": 40, "FAIL": 1}
    assert len(digest["worst"]) <= WORST_ROWS
    assert digest["worst"][0]["subject"] == "photo bad"
    assert [r["value"] for r in digest["worst"][1:]] == [50.0, 51.0, 52.0]
    assert digest["by_name"][0]["min"] == -3.0 and digest["by_name"][0]["max"] == 89.0


def test_a_failure_counts_only_for_the_clauses_it_names() -> None:
    rec = {"outcome": "FAIL", "clauses": ["IND-1", "IND-2"], "verdicts": {"IND-1": "FAIL"}}
    assert verdict_for(rec, "IND-1") == "FAIL"
    assert verdict_for(rec, "IND-2") == "PASS"
    broken = {"outcome": "BROKEN", "clauses": ["IND-2"], "verdicts": {}}
    assert verdict_for(broken, "IND-2") == "BROKEN"
    assert verdict_for(broken, "IND-3") == "PASS"
    reason = "t::x: AssertionError: IND-1 FAIL: a\nIND-3 FAIL: b\nIND-1 FAIL: c"
    assert reason_for(reason, "IND-1") == "t::x: IND-1 FAIL: a\nIND-1 FAIL: c"
    assert reason_for(reason, "IND-12") == "t::x: IND-1 FAIL: a\nIND-3 FAIL: b\nIND-1 FAIL: c"


def test_cli_build(make_run: MakeRun, capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run()
    assert main(["build", str(run)]) == 0
    assert "verdict PASS (complete)" in capsys.readouterr().out
    assert main(["build", str(run.parent / "nope")]) == 2


@pytest.mark.slow
@pytest.mark.xdist_group("failing_run")  # the session's run: made once, on one worker
def test_report_of_a_real_failing_run(failing_run: Path) -> None:
    html_path, _, model = build(failing_run)
    html = html_path.read_text(encoding="utf-8")
    for clause in CLAUSES:
        assert f'id="clause-{clause.id}"' in html
    assert model["run"]["verdict"] == "BROKEN"  # the lost link outranks the failures
    min1 = next(c for p in model["principles"] for c in p["clauses"] if c["id"] == "MIN-1")
    assert min1["verdict"] == "FAIL" and min1["measurements"]["by_verdict"]["FAIL"] > 0
    assert [d["test"].split("::")[-1] for d in model["deviations"]] == ["test_bench_link_lost"]
    assert "serial link lost" in model["deviations"][0]["reason"]
    assert model["item"]["vendor"] == "Simulated Optics"
    assert model["station"]["simulated"] and model["reproduce"]["sim_faults"] == ["extra_metadata"]
    assert "SIMULATED BENCH" in html and "INCOMPLETE RUN" not in html


def test_report_shows_the_current_signature_and_names_a_profile_deviation(
    make_run: MakeRun,
) -> None:
    level = {"amps": 0.12, "u": 0.0003, "n": 25}
    sensor = {
        "sensor": "microphone", "amps": 0.03, "u": 0.0005, "learned_from": "audio",
        "learned_a": 0.0001, "stated_a": 0.03, "already_powered": True, "resolved": True,
        "judged": False, "note": f"the microphone was already powered {HOSTILE}",
    }  # fmt: skip
    s = make_summary(
        profile_allowances={"mic_listening_allowed": True},
        current_calibration={
            "idle": level, "indicator": {**level, "amps": 0.128}, "noise_a": 0.0007,
            "rises": {"audio": {**level, "amps": 0.0001}, "photo": None},
            "sensors": [sensor], "idle_ref_a": 0.12, "smallest_a": 0.18,
            "threshold_a": 0.21, "usable": True, "problems": [], "notes": [],
        },
        ind7_watch={"judged": True, "judged_s": 70.0, "seen_s": 66.5, "coverage": 0.95,
                    "current_rate_hz": 49.5, "current_readings": 3500, "flagged_stretches": 0},
    )  # fmt: skip
    html_path, _, model = build(make_run(s))
    html = html_path.read_text(encoding="utf-8")
    (allowance,) = model["profile"]
    assert allowance["deviation"] and allowance["name"] == "mic_listening_allowed"
    assert "DEVIATION" in html and "IND-7 judges the camera alone" in html
    sig = model["station"]["current"]
    assert sig["threshold_ma"] == 210.0 and sig["sensors"][0]["already_powered"]
    assert "POWERED AT IDLE" in html and "coverage 95 %" in html
    assert HOSTILE not in html  # the device-derived note is escaped
    plain = build(make_run(make_summary()))[2]
    assert not plain["profile"][0]["deviation"] and plain["station"]["current"] is None

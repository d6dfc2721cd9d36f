"""The pytest plugin, tested through pytester: options, fixtures, markers, verdicts."""

from __future__ import annotations

import pytest

from tests.runs import read_json

pytest_plugins = ["pytester"]

PROBE = """
import time
import pytest
from harness.errors import TransportError
from harness.judge.verdict import Measurement

@pytest.mark.clause("MIN-1")
def test_pass(dut, evidence):
    assert dut.hello_info.protocol == "1.1"
    evidence.count("MIN-1", "nothing_wrong", 0)

@pytest.mark.clause("MIN-2")
def test_failing_measurement(dut, evidence):
    evidence.record(Measurement("MIN-2", "made_up", 5.0, "ms", 1.0, "<=", 0.5))

@pytest.mark.clause("MIN-3")
def test_inconclusive_measurement(dut, evidence):
    evidence.record(Measurement("MIN-3", "close_call", 1.2, "ms", 1.0, "<=", 0.5))

@pytest.mark.clause("CON-1")
def test_bench_fault_is_broken(dut):
    raise TransportError("serial port went away (probe)")

@pytest.mark.clause("CON-2")
def test_not_supported(dut):
    pytest.skip("NOT_TESTED: probe says so")

@pytest.mark.clause("IND-1")
def test_light_fixture_records(dut, light, evidence):
    dut.consent_grant("video")
    with light.recording() as rec:
        time.sleep(0.05)
        dut.record_start("video", "user")
        time.sleep(0.3)
        dut.record_stop()
        time.sleep(0.2)
    ms = evidence.check_light(rec.trace, rec.events)
    assert any(m.clause == "IND-1" for m in ms)

def test_left_not_recording(dut):
    dut.consent_grant("audio")
    dut.record_start("audio", "user")   # the fixture must stop it
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_probe=PROBE)
    return pytester.runpytest_subprocess(*args, "-p", "no:cacheprovider", timeout=180)


def test_verdicts_summary_and_exit_code(pytester: pytest.Pytester) -> None:
    out = pytester.path / "run"
    res = run(pytester, "--station", "sim", "--report-dir", str(out))
    res.assert_outcomes(passed=3, failed=3, skipped=1)
    assert res.ret == 1
    s = read_json(out / "summary.json")
    v = {
        c: s["clauses"][c]["verdict"]
        for c in ("MIN-1", "MIN-2", "MIN-3", "CON-1", "CON-2", "IND-1")
    }
    assert v == {
        "MIN-1": "PASS",
        "MIN-2": "FAIL",
        "MIN-3": "INCONCLUSIVE",
        "CON-1": "BROKEN",
        "CON-2": "NOT_TESTED",
        "IND-1": "PASS",
    }
    assert s["verdict"] == "BROKEN" and s["complete"] is True
    assert s["dut"]["model"] == "SimGlass-1" and s["calibration"]["dark_mean_v"] < 0.5
    assert "serial port went away" in s["deviations"][0]["reason"]
    logs = list(out.glob("tests/*test_pass*/serial.log"))
    assert logs and '"cmd":"state"' in logs[0].read_text()
    assert list(out.glob("tests/*light_fixture*/light-1*.png"))
    man = read_json(out / "manifest.json")
    assert man["complete"] and "summary.json" in man["files"]
    assert list((out / "allure-results").glob("*-result.json"))
    # the test that left a recording running: the fixture stopped it afterwards
    (log,) = out.glob("tests/*left_not_recording*/serial.log")
    text = log.read_text()
    assert text.index('"cmd":"record.stop"') > text.index('"cmd":"record.start"')


def test_only_passing_clauses_exit_zero(pytester: pytest.Pytester) -> None:
    res = run(
        pytester,
        "--station",
        "sim",
        "--report-dir",
        str(pytester.path / "r"),
        "-k",
        "test_pass or left_not_recording",
    )
    res.assert_outcomes(passed=2, deselected=5)
    assert res.ret == 0
    res.stdout.fnmatch_lines(["*RUN    PASS*"])


def test_bad_station_is_a_one_line_usage_error(pytester: pytest.Pytester) -> None:
    bad = pytester.makefile(".toml", bad='[station]\nname = "x"\n[dut]\nport = 5\n')
    res = run(pytester, "--station", str(bad))
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines(["*bad.toml: key dut.port: *string*"])


def test_listing_the_tests_records_nothing_but_still_reads_the_station(
    pytester: pytest.Pytester,
) -> None:
    out = pytester.path / "r"
    res = run(pytester, "--collect-only", "-q", "--station", "sim", "--report-dir", str(out))
    assert res.ret == 0
    res.stdout.fnmatch_lines(["*test_probe.py::test_pass", "*7 tests collected*"])
    assert not out.exists() and "tally: run directory" not in res.stdout.str()
    assert not (pytester.path / "out").exists()  # no default run directory either
    bad = pytester.makefile(".toml", bad='[station]\nname = "x"\n[dut]\nport = 5\n')
    res = run(pytester, "--collect-only", "--station", str(bad))
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines(["*bad.toml: key dut.port: *string*"])


def test_fixtures_without_a_station_say_so(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_needs="def test_needs(dut):\n    pass\n")
    res = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=60)
    res.assert_outcomes(errors=1)
    res.stdout.fnmatch_lines(["*--station*"])


def test_unknown_clause_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bad='import pytest\n@pytest.mark.clause("IND-9")\ndef test_x():\n    pass\n'
    )
    res = pytester.runpytest_subprocess(
        "--station",
        "sim",
        "--report-dir",
        str(pytester.path / "o"),
        "-p",
        "no:cacheprovider",
        timeout=60,
    )
    assert res.ret != 0
    assert "unknown clause 'IND-9'" in res.stdout.str() + res.stderr.str()

"""Reproducing a run: rerun carries profile, seed, limits and faults over; compare agrees."""

from __future__ import annotations

import copy
import json
import math
import tomllib
from pathlib import Path

import pytest

from harness.bench.station import parse_station
from reports.__main__ import main
from reports.compare import compare, compatible, subject_kind
from reports.rerun import plan, selection, station_copy
from reports.rundata import load_run
from reports.tomlw import dumps
from tests.reports.handmade import MakeRun, make_summary, measurement
from tests.runs import ROOT, read_json

LAB_STATION = ROOT / "fixtures" / "bench-3.example.toml"


def test_toml_writer_round_trips_a_station() -> None:
    data = tomllib.loads(LAB_STATION.read_text())
    data["station"]["description"] = 'quote " backslash \\ newline \n tab \t \x01 眼鏡'
    data["sim"] = {"faults": ["crlf"], "knobs": {"drift_ppm": 200.0, "crlf": True}, "seed": 3}
    data["limits"]["lead_ms"] = -0.5
    text = dumps(data)
    assert tomllib.loads(text) == data
    parse_station(text, "copy.toml")  # and the harness accepts it


def test_selection_keeps_paths_and_filters_only() -> None:
    argv = [
        "/venv/pytest/__main__.py", "suites/test_consent.py", "-k", "partial", "--station",
        "lab.toml", "--sim-fault", "crlf", "--report-dir", "/out/a", "-p", "no:cacheprovider",
        "-q", "--deselect", "suites/test_consent.py::x", "-m=not slow",
    ]  # fmt: skip
    assert selection(argv) == [
        "suites/test_consent.py", "-k", "partial", "--deselect", "suites/test_consent.py::x",
        "-m=not slow",
    ]  # fmt: skip
    assert selection(["pytest", "--station", "sim"]) == ["suites"]
    assert selection(None) == ["suites"]


def test_station_copy_takes_the_recorded_limits_and_seed(make_run: MakeRun) -> None:
    hyp = {"profile": "lab", "seed": 99, "long_recording_s": 15.0, "shrink_budget_s": 90.0}
    s = make_summary(limits_overridden=["max_gap_ms"], hypothesis=hyp)
    s["limits"]["max_gap_ms"] = 10.0
    s.pop("sim")
    data, notes = station_copy(load_run(make_run(s)), str(LAB_STATION))
    assert data["limits"] == {"max_gap_ms": 10.0}  # the lab's revoke_ms was not in force then
    assert any("revoke_ms" in n for n in notes)
    assert data["hypothesis"] == hyp
    assert data["dut"]["port"] == "/dev/ttyACM0"  # the bench is the given station's


def test_plan_for_a_simulated_run(make_run: MakeRun, tmp_path: Path) -> None:
    s = make_summary(sim={"faults": ["led_late", "crlf"], "knobs": {"chatter": 5.0}})
    s["station_config"]["sim"]["seed"] = 4
    s["hypothesis"] = {"profile": "sim", "seed": None}
    cmd, text, notes = plan(load_run(make_run(s)), "sim", tmp_path / "new", [])
    assert cmd[cmd.index("--sim-fault") + 1] == "led_late" and cmd.count("--sim-fault") == 2
    assert cmd[cmd.index("--hypothesis-profile") + 1] == "sim"
    assert "--hypothesis-seed" not in cmd and "--search-replay" not in cmd
    assert any("no Hypothesis seed" in n for n in notes)
    station = tomllib.loads(text)
    assert station["sim"] == {"faults": [], "knobs": {"chatter": 5.0}, "seed": 4}
    assert cmd[cmd.index("--station") + 1] == str(tmp_path / "new.station.toml")


def test_plan_replays_a_recorded_state_machine_failure(make_run: MakeRun, tmp_path: Path) -> None:
    s = make_summary()
    s["hypothesis"] = {"profile": "sim", "seed": 5, "failure": "6.170.17:AXicY2BkYAAAAAYAAQ=="}
    cmd, _, _ = plan(load_run(make_run(s)), "sim", tmp_path / "new", [])
    assert cmd[cmd.index("--search-replay") + 1] == "6.170.17:AXicY2BkYAAAAAYAAQ=="
    # a foreign run's blob is data: anything but VERSION:BASE64 is dropped with a note
    s["hypothesis"]["failure"] = "6.1:x' --rootdir /etc"
    cmd, _, notes = plan(load_run(make_run(s)), "sim", tmp_path / "new2", [])
    assert "--search-replay" not in cmd and any("blob is malformed" in n for n in notes)


def test_rerun_cli(make_run: MakeRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "x").write_text("x")
    run = make_run()
    assert main(["rerun", str(run), "--station", "sim", "--report-dir", str(used)]) == 2
    new = tmp_path / "new"
    args = ["rerun", str(run), "--station", "sim", "--report-dir", str(new), "--dry-run"]
    assert main([*args, "--", "-x", "--maxfail", "2"]) == 0
    command = capsys.readouterr().out.strip().splitlines()[-1]
    assert command.endswith("-p no:cacheprovider -x --maxfail 2")
    assert "--hypothesis-seed 7" in command and not new.exists()


def test_compatible_within_combined_uncertainty() -> None:
    assert compatible(10.0, 0.3, 10.4, 0.4) == (True, pytest.approx(0.8))
    ok, en = compatible(10.0, 0.3, 10.6, 0.4)
    assert not ok and en == pytest.approx(1.2)
    assert compatible(0.0, 0.0, 0.0, 0.0) == (True, 0.0)
    assert compatible(0.0, 0.0, 1.0, 0.0) == (False, math.inf)
    assert subject_kind("video/user a-0011 unlit") == "video/user" and subject_kind("") == "—"


def test_compare_finds_a_different_verdict_and_value(
    make_run: MakeRun, capsys: pytest.CaptureFixture[str]
) -> None:
    a = make_summary()
    b = copy.deepcopy(a)
    b["run_id"] = "tally-20260101-000001-cafecafe"
    b["clauses"]["IND-2"]["measurements"] = [measurement("IND-2", "indicator_lead", 56.0)]
    ra, rb = make_run(a), make_run(b)
    res = compare(load_run(ra), load_run(rb))
    assert res["verdicts_agree"] and res["incompatible"] == 1  # 1 ms apart, U = 0.2 each
    assert main(["compare", str(ra), str(rb)]) == 0
    b["clauses"]["IND-2"]["verdict"] = "FAIL"
    b["verdict"] = "FAIL"
    rc = make_run(b)
    capsys.readouterr()
    assert main(["compare", str(ra), str(rc), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    ind2 = next(c for c in out["clauses"] if c["clause"] == "IND-2")
    assert ind2 == {"clause": "IND-2", "a": "PASS", "b": "FAIL", "same": False}


@pytest.mark.slow
def test_rerun_reproduces_and_compare_agrees(
    consent_runs: tuple[Path, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, printed = consent_runs
    sa, sb = read_json(a / "summary.json"), read_json(b / "summary.json")
    assert "-m pytest suites/test_consent.py -k partial" in printed
    # same tests, limits (the lab's override came along), seed, profile and faults
    assert set(sa["tests"]) == set(sb["tests"]) and len(sa["tests"]) == 6
    assert sb["limits"] == sa["limits"] and sb["limits"]["revoke_ms"] == 900.0
    assert sb["limits_overridden"] == sa["limits_overridden"] == ["revoke_ms"]
    assert sb["hypothesis"] == sa["hypothesis"]
    assert sa["hypothesis"]["profile"] == "sim" and sa["hypothesis"]["seed"] == 12345
    assert sa["hypothesis"]["long_recording_s"] == 2.5  # the sim profile's, carried over
    assert sb["sim"]["faults"] == sa["sim"]["faults"] == ["crlf"]
    assert Path(sb["station_file"]) == b.with_name(b.name + ".station.toml")

    res = compare(load_run(a), load_run(b))
    assert res["verdicts_agree"], res["clauses"]
    assert res["measurements"] and res["incompatible"] == 0
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "verdicts AGREE" in out and "CON-2" in out

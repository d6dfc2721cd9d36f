"""The property search's own promises, end to end: the search profile's keys reach the
suites, and a failure the state machine shrinks is on record with its `@reproduce_failure`
blob, which `python -m reports rerun` replays (a certification body's re-run).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.pytestplugin.hypothesis_profiles import SEARCH_KEYS, search_keys
from tests.runs import ROOT, read_json, run_module, run_pytest

MACHINE = "suites/test_state_machine.py"
BLOB = re.compile(r"\d[\w.]*:[A-Za-z0-9+/=]+")


def test_profiles_record_long_recordings_a_certificate_can_rest_on() -> None:
    assert SEARCH_KEYS["lab"].long_recording_s >= 10
    assert SEARCH_KEYS["certification"].long_recording_s >= 10
    assert SEARCH_KEYS["sim"].long_recording_s < 10
    assert search_keys("mine", simulated=False, long_recording_s=None) == SEARCH_KEYS["lab"]
    assert search_keys("lab", simulated=True, long_recording_s=30.0).long_recording_s == 30.0
    own = search_keys("sim", simulated=True, shrink_budget_s=200.0)
    assert (own.shrink_budget_s, own.long_recording_s) == (200.0, 2.5)


@pytest.mark.slow(minutes=5)
def test_a_state_machine_failure_is_recorded_and_rerun_replays_it(tmp_path: Path) -> None:
    # Shrinking replays examples in real time, bounded by the wall clock, so how far it
    # gets depends on the host's load: a photo-only device (~1 s an example; `rerun` must
    # carry that knob over, or the blob would not replay) shrank from 9 steps to 2 in 150 s
    # here, alone and beside four busy loops, and to 7 on CI's loaded machine (so 240 s).
    # The first failing example may already be minimal (CI once found this fault at 2
    # steps: the initial captures, then a reboot), so no test can demand that shrinking
    # shortened it. This test checks that both lengths are on record, the shrunk one no
    # longer than the first, and that the shrunk sequence holds the step the failure
    # needs (a restart); how short the search's failures end is measured by `make bench`
    # (sm_shrunk_steps_median beside sm_found_steps_median).
    station = tmp_path / "sim-patient.toml"
    sim = (ROOT / "fixtures" / "sim.toml").read_text()
    sim = sim.replace('profile = "sim"', 'profile = "sim"\nshrink_budget_s = 240')
    sim = sim.replace("tamper_detect = true }", 'tamper_detect = true, capture_kinds = "photo" }')
    station.write_text(sim)
    first = tmp_path / "first"
    args = [MACHINE, "--station", str(station), "--hypothesis-seed", "4"]
    run = run_pytest(args, report_dir=first, faults=["consent_persists"])
    assert run.verdicts.get("CON-4") == "FAIL", run.output[-3000:]
    hyp = run.summary["hypothesis"]
    assert hyp["shrink_budget_s"] == 240, hyp
    assert run.summary["sim"]["knobs"]["capture_kinds"] == "photo", run.summary["sim"]
    assert BLOB.fullmatch(hyp["failure"]), hyp
    assert hyp["failure_test"].endswith("test_random_sequences_keep_every_promise")
    (failure,) = first.glob("tests/*/state_machine_failure.json")
    found = read_json(failure)
    assert found["replay"] == f"--search-replay {hyp['failure']}"
    assert 1 <= found["shrunk_steps"] <= found["found_steps"] <= 12, found  # sim: 12 steps
    assert any(map(restarts, found["steps"])), found  # CON-4: consent survived a restart
    assert not found["from_replay"]

    second = tmp_path / "second"
    rerun = run_module("reports", ["rerun", str(first), "--station", "sim",
                                   "--report-dir", str(second)], timeout_s=600)  # fmt: skip
    assert f"--search-replay {hyp['failure']}" in rerun.output
    again = read_json(second / "summary.json")
    assert again["clauses"]["CON-4"]["verdict"] == "FAIL", rerun.output[-3000:]
    (failure,) = second.glob("tests/*/state_machine_failure.json")
    replayed = read_json(failure)
    assert replayed["from_replay"], replayed  # the blob failed again, before any search
    assert replayed["error"] == found["error"]  # the same failure, the same values


def restarts(step: str) -> bool:
    """A step of the state machine's that restarts the device (CON-4's subject)."""
    if step.startswith("state.delete("):
        return "then_reboot=True" in step
    return step.startswith(("state.reboot(", "state.factory_reset("))


def test_a_blob_from_another_hypothesis_is_refused_by_name(tmp_path: Path) -> None:
    args = [MACHINE, "--station", "sim", "--search-replay", "0.0.1:AXicY2BkYAAAAAYAAQ=="]
    run = run_pytest(args, report_dir=tmp_path / "run", timeout_s=120)
    assert run.returncode == 4, run.output[-2000:]  # a usage error, before any bench opens
    assert "printed by Hypothesis '0.0.1'" in run.output
    args[-1] = "6.0:not base64!"
    run = run_pytest(args, report_dir=tmp_path / "run2", timeout_s=120)
    assert run.returncode == 4 and "--search-replay takes VERSION:BLOB" in run.output

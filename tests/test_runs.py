"""Two halves of one device's run read as one (`tests.runs.Merged`): the worst verdict per
clause wins, so a halved run can FAIL, BROKEN or stay NOT_TESTED as a whole run would."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.runs import Merged, Run


def half(tmp_path: Path, name: str, verdicts: dict[str, str], code: int = 0) -> Run:
    run_dir = tmp_path / name
    run_dir.mkdir()
    summary = {
        "verdict": max(verdicts.values(), key=["NOT_TESTED", "PASS", "FAIL"].index),
        "clauses": {cid: {"verdict": v} for cid, v in verdicts.items()},
        "deviations": [f"{name} deviation"],
        "dut": {"capabilities": {"capture": ["photo", "video", "audio"]}},
    }
    (run_dir / "summary.json").write_text(json.dumps(summary))
    (run_dir / "tests.jsonl").write_text(json.dumps({"test": f"suites/{name}.py::t"}) + "\n")
    return Run(subprocess.CompletedProcess([], code, f"{name} out", ""), 10.0, run_dir)


def test_the_worst_of_two_halves_is_the_verdict(tmp_path: Path) -> None:
    machine = half(
        tmp_path, "machine", {"IND-1": "PASS", "CON-1": "FAIL", "MIN-4": "NOT_TESTED"}, 1
    )
    rest = half(
        tmp_path, "rest", {"IND-1": "PASS", "CON-1": "PASS", "MIN-4": "PASS", "IND-7": "PASS"}
    )
    run = Merged([machine, rest])
    assert run.verdicts == {"IND-1": "PASS", "CON-1": "FAIL", "MIN-4": "PASS", "IND-7": "PASS"}
    assert run.summary["verdict"] == "FAIL" and run.returncode == 1
    assert run.summary["deviations"] == ["machine deviation", "rest deviation"]
    assert [t["test"] for t in run.tests] == ["suites/machine.py::t", "suites/rest.py::t"]
    assert "machine out" in run.output and "rest out" in run.output


def test_a_half_that_wrote_no_summary_is_broken(tmp_path: Path) -> None:
    rest = half(tmp_path, "rest", {"IND-1": "PASS"})
    lost = Run(subprocess.CompletedProcess([], 3, "", "crashed"), 1.0, tmp_path / "nowhere")
    run = Merged([lost, rest])
    assert run.summary["verdict"] == "BROKEN" and run.returncode == 3

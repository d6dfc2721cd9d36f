"""The two newer witnesses end to end, as a lab runs them (subprocesses, simulated bench).

A profile that allows wake-word listening turns a microphone left on from a FAIL into a
named deviation; a station without a supply or a shutter gives IND-7 and IND-8 as
NOT_TESTED with the reason; Ctrl-C while the shutter covers the indicator still leaves
it open.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixtures import fixture_path
from tests.runs import ROOT, Results, pytest_command, run_pytest

pytestmark = pytest.mark.slow

COVERT = "suites/test_covert.py"
TAMPER = "suites/test_tamper.py"


def station(tmp_path: Path, *, extra: str = "", drop: tuple[str, ...] = ()) -> Path:
    """The simulated station file, with `drop`ped tables and `extra` text."""
    out, skip = [], False
    for line in fixture_path("sim.toml").read_text().splitlines():
        if line.startswith("["):
            skip = line.strip() in drop
        if not skip:
            out.append(line)
    path = tmp_path / "station.toml"
    path.write_text("\n".join(out) + "\n" + extra)
    return path


def test_wake_word_listening_allowed_by_the_profile_is_a_named_deviation(tmp_path: Path):
    st = station(tmp_path, extra="\n[profile]\nmic_listening_allowed = true\n")
    out = tmp_path / "run"
    run = run_pytest([COVERT, "--station", str(st)], report_dir=out, faults=["mic_wake_word"])
    assert run.summary["verdict"] == "PASS", run.output[-3000:]
    assert run.verdicts["IND-7"] == "PASS"
    assert run.summary["profile_deviations"] == ["mic_listening_allowed"]
    cam, mic = run.summary["current_calibration"]["sensors"]
    assert cam["judged"] and not mic["judged"]
    built = subprocess.run(
        [sys.executable, "-m", "reports", "build", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    assert "DEVIATION" in (out / "report.html").read_text()


def test_a_station_without_supply_or_shutter_says_why_not_tested(tmp_path: Path):
    st = station(tmp_path, drop=("[power]", "[shutter]"))
    run = run_pytest([COVERT, TAMPER, "--station", str(st)], report_dir=tmp_path / "run")
    assert run.summary["verdict"] == "NOT_TESTED", run.output[-3000:]  # nothing else ran
    clauses = run.summary["clauses"]
    assert clauses["IND-7"]["verdict"] == "NOT_TESTED"
    assert any("no bench supply" in r for r in clauses["IND-7"]["reasons"])
    assert clauses["IND-8"]["verdict"] == "NOT_TESTED"
    assert any("no indicator shutter" in r for r in clauses["IND-8"]["reasons"])
    assert "current_calibration" not in run.summary and "shutter_at_end" not in run.summary


def test_ctrl_c_while_covered_leaves_the_shutter_open(tmp_path: Path):
    out = tmp_path / "run"
    cmd = pytest_command([TAMPER, "--station", "sim"], report_dir=out)
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        log = out / "tests" / "suites_test_tamper.py__test_covering_ends_a_recording_video"
        deadline = time.monotonic() + 90
        while '"record.start"' not in _read(log / "serial.log"):
            assert proc.poll() is None and time.monotonic() < deadline, "never recorded"
            time.sleep(0.02)
        time.sleep(0.5)  # recording for 0.4 s, then covered
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, output[-3000:]
    summary = Results(out).summary
    assert summary["complete"] is False
    assert summary["ind7_watch"]["shutter_covered"], "the run never covered the indicator"
    assert summary["shutter_at_end"] == "open"


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""

"""Hard knocks: every hostile link or instrument ends BROKEN, bounded, with the reason.

Each knock is a real subprocess run of the conformance suites against the simulated
bench with one transport fault (`python -m harness.sim faults`). The affected clauses
must be BROKEN (never FAIL or PASS: the bench, not the device, failed), the reason must
name the problem, and the whole run must end within a bound computed from its number of
tests; a hang is a subprocess timeout at that bound. The run directory must stay intact
(every file the manifest lists matches its hash) and, where the device still answers,
it is left not recording.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.runs import ROOT, Results, Run, pytest_command, run_suites

MINIMUM = ("suites/test_minimum.py",)  # 14 tests: device and link knocks
INDICATOR = ("suites/test_indicator.py",)  # 9 tests: photodiode instrument knocks
MIN_ALL = ("MIN-1", "MIN-2", "MIN-3", "MIN-4")
IND_ALL = ("IND-1", "IND-2", "IND-3", "IND-4", "IND-5", "IND-6")

STARTUP_S = 30.0  # interpreter, plugins, the simulated bench process, opening the bench
# The longest test here takes ~1.5 s; a knock may add a response timeout (1.5 s) and a
# bounded wait for a port to come back (boot_timeout_s, 12 s).
PER_TEST_S = 15.0

pytestmark = pytest.mark.slow


def bound_s(n_tests: int) -> float:
    return STARTUP_S + n_tests * PER_TEST_S


@dataclass(frozen=True)
class Knock:
    fault: str
    suites: tuple[str, ...]
    n_tests: int
    broken: tuple[str, ...]  # clauses that must be BROKEN
    reason: str  # regex the BROKEN tests' reason must match
    answers: bool  # the device still answers afterwards (so it must be left idle)
    all_broken: bool = True  # every test BROKEN (else: the first, then recovery)


KNOCKS = [
    Knock("silent_after_5", MINIMUM, 14, MIN_ALL, r"no response to request \d+ within", False),
    Knock("flood", MINIMUM, 14, MIN_ALL, r"device floods the link: .* MB of non-message", False),
    Knock("dup_response", MINIMUM, 14, MIN_ALL, r"duplicate response for request id", True),
    Knock(
        "unknown_id",
        MINIMUM,
        14,
        MIN_ALL,
        r"response with an id never sent|late or duplicate response",
        False,
    ),
    # the port's end is seen by a read (EOF) or, first, by a write (EIO): either names it
    Knock(
        "vanish",
        MINIMUM,
        14,
        ("MIN-1",),
        r"(serial port|write to) '.+' failed: (port closed|\[Errno 5\] Input/output error)",
        True,
        False,
    ),
    Knock("event_flood", MINIMUM, 14, MIN_ALL, r"device floods the link: \d+ events in", False),
    Knock("clock_overflow", MINIMUM, 14, MIN_ALL, r"'t_us' is an integer of 20 digits: out", False),
    Knock("instrument.scpi_timeout", INDICATOR, 9, IND_ALL, r"timed out on R\?", True),
    Knock("instrument.short_block", INDICATOR, 9, IND_ALL, r"short block: its header", True),
    Knock("instrument.scpi_error", INDICATOR, 9, IND_ALL, r'-222,"Data out of range"', True),
    # the bench supply's own faults are knocks like the photodiode's
    Knock("power.scpi_error", MINIMUM, 14, MIN_ALL, r'supply .* reports: -222,"Data out', False),
    Knock("power.scpi_timeout", MINIMUM, 14, MIN_ALL, r"MEAS:CURR\? failed: .*Timeout", True),
]


def run_knock(out: Path, knock: Knock) -> Run:
    try:
        return run_suites(out, [knock.fault], knock.suites, timeout_s=bound_s(knock.n_tests))
    except subprocess.TimeoutExpired:
        pytest.fail(f"{knock.fault}: the run hung past its bound of {bound_s(knock.n_tests)} s")


@pytest.mark.parametrize("knock", KNOCKS, ids=[k.fault for k in KNOCKS])
def test_knock_ends_broken_bounded_with_its_reason(tmp_path: Path, knock: Knock):
    run = run_knock(tmp_path, knock)
    records = run.tests
    n_broken = sum(r["outcome"] == "BROKEN" for r in records)
    print(f"\n[knock] {knock.fault}: run {run.seconds:.1f} s, {n_broken}/{len(records)} BROKEN")
    assert run.seconds < bound_s(knock.n_tests)
    assert run.returncode == 1 and run.summary["verdict"] == "BROKEN", run.output[-3000:]
    assert run.summary["complete"] is True
    assert len(records) == knock.n_tests, "every test has its verdict, none lost"
    assert not run.with_verdict("FAIL", "INCONCLUSIVE"), run.verdicts
    assert set(knock.broken) <= run.with_verdict("BROKEN"), run.verdicts
    broken = [r for r in records if r["outcome"] == "BROKEN"]
    assert all(re.search(knock.reason, r["reason"]) for r in broken), [
        r["reason"][:200] for r in broken
    ]
    if knock.all_broken:
        assert len(broken) == len(records), [r["outcome"] for r in records]
    else:  # the knock hit the first test; the next ones reconnected and went on
        assert records[0]["outcome"] == "BROKEN"
        assert all(r["outcome"] == "PASS" for r in records[1:]), [r["outcome"] for r in records]
    damaged = run.damaged()
    assert run.manifest["complete"] is True and not damaged, damaged
    logs = sorted(tmp_path.glob("tests/*/serial.log"))
    if knock.answers and logs:
        left = [p.parent.name for p in logs if recording_at_end(p.read_text())]
        assert not left, f"device left recording after {left}"


@pytest.mark.suite_run("bad_utf8", faults=["bad_utf8"])
def test_noisy_uart_still_passes(suite_run: Run):
    """`bad_utf8` (invalid UTF-8, oversize lines, broken JSON between messages) is a
    conforming device on a noisy line: the harness must read through it, not break.
    (Its run of every suite is the detection matrix's, made once: `SuiteRuns`.)"""
    run = suite_run
    print(f"\n[knock] bad_utf8: {run.seconds:.1f} s, verdict {run.summary.get('verdict')}")
    assert run.returncode == 0 and run.summary["verdict"] == "PASS", run.verdicts
    assert run.run_dir is not None
    logs = " ".join(p.read_text() for p in run.run_dir.glob("tests/*/serial.log"))
    assert "bad_utf8" in logs and "oversize" in logs and "bad_json" in logs


def _recording_now(out: Path) -> bool:
    """True while some test's serial log shows a recording it started and has not ended."""
    return any(
        recording_at_end(p.read_text(errors="replace")) for p in out.glob("tests/*/serial.log")
    )


def test_ctrl_c_mid_recording_seals_the_run_incomplete_and_stops_the_device(tmp_path: Path):
    out = tmp_path / "run"
    cmd = pytest_command(["suites", "--station", "sim"], report_dir=out)
    # A shell's background job ignores SIGINT and its children inherit that: restore it.
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not _recording_now(out):
            assert proc.poll() is None, "the run ended before any recording started"
            assert time.monotonic() < deadline, "no recording started within 120 s"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        output, _ = proc.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    print(f"\n[knock] SIGINT: the run ended {took:.1f} s after Ctrl-C")
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, output[-3000:]
    assert "Traceback" not in output and "INTERNALERROR" not in output, output[-3000:]
    results = Results(out)
    assert results.summary["complete"] is False
    damaged = results.damaged()
    assert results.manifest["complete"] is False and not damaged, damaged
    assert "tests.jsonl" in results.manifest["files"], "the finished tests' evidence is kept"
    left = [
        p.parent.name for p in out.glob("tests/*/serial.log") if recording_at_end(p.read_text())
    ]
    assert not left, f"the device was left recording by {left}"


# -- whether a serial log leaves the device recording ----------------------------------------

REQUEST_MARK = " > message "
DEVICE_MARK = " < message "


def recording_at_end(serial_log: str) -> bool | None:
    """Whether the device was recording when this serial log ends, as far as it tells.

    Follows requests (by id) and their responses, and `capture.end` events: a successful
    `record.start` starts a recording; `record.stop`, a `capture.end` of it, a `boot`, or
    a `state` showing `recording: null` ends it. None if the log shows no recording at all.
    """
    cmds: dict[int, str] = {}
    recording: bool | None = None
    for line in serial_log.splitlines():
        if REQUEST_MARK in line:
            msg = _json(line.split(REQUEST_MARK, 1)[1])
            if isinstance(msg.get("id"), int):
                cmds[msg["id"]] = str(msg.get("cmd"))
            continue
        if DEVICE_MARK not in line:
            continue
        msg = _json(line.split(DEVICE_MARK, 1)[1])
        if msg.get("event") == "capture.end" and "session" in msg:
            recording = False
            continue
        if msg.get("event") == "boot" and recording is not None:
            recording = False  # a new power session: no capture runs (bench-protocol.md)
            continue
        cmd = cmds.get(msg.get("id", -1)) if msg.get("ok") is True else None
        result = msg.get("result") or {}
        if cmd == "record.start":
            recording = True
        elif cmd == "record.stop":
            recording = False
        elif cmd == "state" and recording is not None:
            recording = result.get("recording") is not None
    return recording


def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}

"""Attacks by the firmware and crashes of the run, each tried: the host stays in charge.

A device that writes terminal controls into everything it says, sends integers no
int64 holds, reports more captures than any test asks for or more than the host should
keep; a run pointed at a directory of someone else's files; pytest killed outright; a
device that hangs in the middle of a recording. Each ends the way the brief says:
escaped, bounded, refused, cleaned up, or BROKEN with the reason and the run going on.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import threading
import time
import tty
from pathlib import Path

import numpy as np
import pytest

from harness.bench.clock import ClockSync
from harness.errors import ProtocolError
from harness.judge.clauses import Limits
from harness.judge.indicator import check_timeline
from harness.judge.light import LightTrace
from harness.judge.timebase import Mapped
from harness.judge.timeline import MAX_CAPTURES, Timeline
from harness.record import rundir as rundir_module
from harness.record.rundir import RunDir, safe_name
from harness.wire import client as client_module
from harness.wire.client import DeviceClient
from harness.wire.framing import Line
from harness.wire.messages import EVENT_FIELDS, MAX_TEXT, Event
from harness.wire.text import unescape
from tests.knocks.test_knocks import MINIMUM, bound_s, recording_at_end
from tests.runs import ROOT, Results, Run, pytest_command, run_pytest, run_suites

pytestmark = pytest.mark.slow

# A test with no clause (it takes the bench, not the `dut` that ties IND-7 to a test) whose
# failure carries device text: a harness error, BROKEN for no clause, printed escaped.
HOSTILE_PROBE = """
def test_device_text_reaches_a_failure(bench):
    hello = bench.client.hello()
    raise AssertionError(f"the device calls itself {hello.vendor} / {hello.model}")
"""


# -- 2. device text is harmless everywhere -----------------------------------------------


@pytest.mark.suite_run("hostile_text", faults=["hostile_text"])
def test_hostile_device_text_is_escaped_everywhere_and_the_device_still_passes(
    suite_run: Run,
):
    """The `hostile_text` device's run of every suite (the detection matrix's, made once:
    `SuiteRuns`): rude, not wrong, and nothing it says reaches a terminal or a file raw."""
    run = suite_run
    print(f"\n[hardening] hostile_text: {run.seconds:.1f} s, {run.summary.get('verdict')}")
    assert run.summary["verdict"] == "PASS", run.verdicts
    assert run.with_verdict("PASS") == set(run.verdicts)
    assert_no_raw_controls(run.output)
    # the serial logs: escaped, reversibly (the device's console bytes come back exactly)
    assert run.run_dir is not None
    logs = [p.read_bytes() for p in run.run_dir.glob("tests/*/serial.log")]
    assert len(logs) == len(run.tests)
    assert not any(b"\x1b" in log or b"\r" in log or "\u202e".encode() in log for log in logs)
    console = [
        line.split(" console  ", 1)[1]
        for log in logs
        for line in log.decode().splitlines()
        if " console  boot: " in line
    ]
    assert console and unescape(console[0]) == (
        "boot: \x1b[2J\x1b[H\rsignature: VALID \u202e$x^{2}${}\x07".encode()
    )
    # mathtext in ids broke no plot: one per capture test, with the id as its label
    captures = list(run.run_dir.glob("tests/*indicator_lit_for_capture*"))
    assert captures and all(len(list(d.glob("light-*.png"))) == 1 for d in captures)
    # nor any test's current-and-light picture, whose marks name the device's sessions
    assert len(list(run.run_dir.glob("tests/*/current-and-light.png"))) == len(run.tests)
    assert not run.damaged()


def test_hostile_device_text_in_a_failure_is_escaped(tmp_path: Path):
    """A test failing with the device's own words: pytest shows them, escaped."""
    probe = tmp_path / "probe" / "test_probe.py"
    probe.parent.mkdir()
    probe.write_text(HOSTILE_PROBE)
    args = [str(probe), "--rootdir", str(ROOT), "--station", "sim"]
    run = run_pytest(args, report_dir=tmp_path / "run", faults=["hostile_text"],
                     timeout_s=bound_s(1))  # fmt: skip
    assert run.returncode == 1, run.output[-3000:]
    assert_no_raw_controls(run.output)
    assert "the device calls itself Simulated Optics\\x1b[2J\\x1b[H\\x0dsignature: VALID" in (
        run.output
    )


def assert_no_raw_controls(output: str) -> None:
    for raw in ("\x1b", "\r", "\u202e", "\x07"):
        assert raw not in output, repr(raw)
    assert not [ln for ln in output.splitlines() if ln.startswith("signature: VALID")]


# -- 3. bounded costs -----------------------------------------------------------------------


def test_events_keep_only_the_spec_fields_within_a_byte_bound(monkeypatch: pytest.MonkeyPatch):
    """A device pads every event with junk fields and long text, by the hundred thousand:
    the host keeps the spec's fields, cut short, and no more bytes than its bound."""
    bound = 256 * 1024
    monkeypatch.setattr(client_module, "MAX_EVENT_BYTES", bound)
    c = DeviceClient("/dev/null-never-opened")
    msg = {"event": "log", "level": "info", "message": "m" * 3000,
           "blob": {"nested": ["x" * 100] * 20}, "more": "y" * 1000}  # fmt: skip
    for i in range(30_000):
        c._on_line(Line("message", "", {**msg, "t_us": i}), 0.0)
    kept = c.events_since(0)
    assert c.event_mark == 30_000 and 0 < len(kept) <= bound // 200
    assert c._event_bytes <= bound
    assert set(kept[-1].fields) == set(EVENT_FIELDS["log"])
    assert len(kept[-1].fields["message"]) == MAX_TEXT and kept[-1].t_us == 29_999
    assert not c.anomalies


def test_integers_beyond_int64_are_protocol_errors_never_overflow(tmp_path: Path):
    """A device on a real pty answers `clock` with 10^400 and sends events with times and
    counts past 2^63: each is a protocol error (the event is dropped and said), none an
    OverflowError in the clock sync."""
    master, slave = os.openpty()
    tty.setraw(slave)
    stop = threading.Event()

    def device() -> None:
        buf = b""
        while not stop.is_set():
            try:
                buf += os.read(master, 4096)
            except OSError:
                return
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                rid = json.loads(line)["id"]
                event = {"event": "capture.end", "t_us": 5, "session": "s-1", "reason": "user",
                         "last_frame_us": 2**70}  # fmt: skip
                os.write(master, json.dumps(event).encode() + b"\n")
                os.write(master, b'{"event":"log","t_us":%d}\n' % 10**400)
                os.write(master, b'{"id":%d,"ok":true,"result":{"t_us":%d}}\n' % (rid, 10**400))

    threading.Thread(target=device, daemon=True).start()
    c = DeviceClient(os.ttyname(slave)).open()
    try:
        with pytest.raises(ProtocolError, match=r"'t_us' is an integer of 401 digits"):
            ClockSync(c).sync(2)
        time.sleep(0.1)
        assert any("'last_frame_us' is an integer of 22 digits" in a for a in c.anomalies)
        assert any("'t_us' is an integer of 401 digits" in a for a in c.anomalies)
        assert not c.events_since(0), "no event with an out-of-range integer is kept"
    finally:
        stop.set()
        c.close()
        for fd in (master, slave):
            os.close(fd)


class _Clock:
    def to_host(self, t_us: int, epoch: int) -> Mapped:
        return Mapped(t_us / 1e6, 1e-5)

    def to_device_us(self, host_t: float, epoch: int) -> tuple[float, float]:
        return host_t * 1e6, 10.0


def test_captures_beyond_the_cap_fail_ind1_and_are_not_judged():
    """A device reports 20,000 one-frame captures inside one recording: the first
    `MAX_CAPTURES` are judged, the rest counted, and the count FAILs IND-1."""
    n = 20 * MAX_CAPTURES
    events = [
        Event("capture.frame", 1_000_000 + 100 * i, 0.0, 1, {"artifact": f"a-{i}", "seq": 0})
        for i in range(n)
    ]
    trace = LightTrace(0.5, 0.001, np.full(4000, 3.0), 1e-5, 0.5)
    began = time.perf_counter()
    timeline = Timeline(events, _Clock())
    ms = check_timeline(timeline, trace, Limits())
    took = time.perf_counter() - began
    assert len(timeline.captures) == MAX_CAPTURES and timeline.beyond_cap == n - MAX_CAPTURES
    cap = [m for m in ms if m.name == "captures_beyond_cap"]
    assert len(cap) == 1 and cap[0].clause == "IND-1" and cap[0].verdict.value == "FAIL"
    assert cap[0].value == n - MAX_CAPTURES
    print(f"\n[hardening] {n} reported captures judged (capped) in {took:.2f} s")


def test_the_manifest_never_rereads_an_append_only_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    calls: list[Path] = []
    real = rundir_module.sha256_file
    monkeypatch.setattr(rundir_module, "sha256_file", lambda p: calls.append(p) or real(p))
    rd = RunDir(tmp_path / "run")
    for i in range(3000):
        rd.append_jsonl("measurements.jsonl", {"i": i, "pad": "x" * 200})
    assert calls == [], "an append re-hashed the whole file"
    data = (rd.root / "measurements.jsonl").read_bytes()
    entry = json.loads((rd.root / "manifest.json").read_text())["files"]["measurements.jsonl"]
    assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


# -- 4. fresh run directories ---------------------------------------------------------------


def test_a_used_report_dir_is_refused_in_one_line_and_nothing_is_sealed(tmp_path: Path):
    used = tmp_path / "used"
    used.mkdir()
    (used / "planted.log").write_text("written by someone else\n")
    run = run_pytest([*MINIMUM, "--station", "sim"], report_dir=used, timeout_s=120)
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.output[-2000:]
    errors = [ln for ln in run.stderr.splitlines() if ln.startswith("ERROR:")]
    assert errors == [
        f"ERROR: --report-dir {used}: exists and is not empty; a run seals every file in its "
        "directory, so give a new or empty one (or leave --report-dir out for a fresh one)"
    ], run.stderr
    assert sorted(p.name for p in used.iterdir()) == ["planted.log"]


def test_without_report_dir_the_run_writes_a_fresh_directory_it_names(tmp_path: Path):
    suite = str(ROOT / "suites" / "test_minimum.py")
    args = [suite, "-k", "deleted", "--station", "sim", "--rootdir", str(ROOT)]
    first = run_pytest(args, cwd=tmp_path, timeout_s=120)
    second = run_pytest(args, cwd=tmp_path, timeout_s=120)
    assert first.returncode == 0 and second.returncode == 0, second.output[-2000:]
    dirs = sorted((tmp_path / "out").iterdir())
    assert len(dirs) == 2
    assert all(re.fullmatch(r"run-\d{8}-\d{6}-[0-9a-f]{6}", d.name) for d in dirs), dirs
    for d in dirs:
        assert Results(d).manifest["complete"] and not Results(d).damaged()
    named = {ln.split("(", 1)[1].removesuffix("/summary.json)") for r in (first, second)
             for ln in r.stdout.splitlines() if ln.startswith("RUN    PASS")}  # fmt: skip
    assert named == {str(d) for d in dirs}, (first.stdout[-1500:], dirs)


# -- 6. crashes leave nothing behind ---------------------------------------------------------


def _sim_children(pid: int) -> list[int]:
    """The simulated bench processes started by `pid`."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"harness.sim\x00serve" in cmdline:
            out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_sigkill_of_pytest_leaves_no_simulated_bench_running(tmp_path: Path):
    out = tmp_path / "run"
    cmd = pytest_command([*MINIMUM, "--station", "sim"], report_dir=out)
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        sims: list[int] = []
        while not (sims and list(out.glob("tests/*/serial.log"))):
            assert proc.poll() is None, "the run ended before the bench was up"
            assert time.monotonic() < deadline, "no simulated bench within 60 s"
            sims = _sim_children(proc.pid)
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # no cleanup of any kind can run
        proc.wait(10)
        killed = time.monotonic()
        while any(_alive(p) for p in sims) and time.monotonic() - killed < 20:
            time.sleep(0.05)
        gone_after = time.monotonic() - killed
    finally:
        if proc.poll() is None:
            proc.kill()
    left = [p for p in sims if _alive(p)]
    for p in left:  # do not leave it to the next test either
        os.kill(p, signal.SIGKILL)
    print(f"\n[hardening] SIGKILL: simulated bench gone {gone_after:.2f} s after pytest")
    assert not left, f"simulated bench {left} outlived pytest killed with SIGKILL"


def _without_supply(tmp_path: Path) -> Path:
    text = (ROOT / "fixtures" / "sim.toml").read_text()
    station = tmp_path / "sim-no-supply.toml"
    station.write_text(re.sub(r"\[power\]\n(?:[^\[\n][^\n]*\n|\n)*", "", text))  # the table
    assert "[power]" not in station.read_text()
    return station


def test_silent_device_is_power_cycled_once_and_the_run_goes_on(tmp_path: Path):
    run = run_suites(tmp_path, ["silent_mid_recording"], MINIMUM, timeout_s=bound_s(14))
    records = run.tests
    print(f"\n[hardening] silent, with a supply: {run.seconds:.1f} s, "
          f"{[r['outcome'] for r in records]}")  # fmt: skip
    assert run.seconds < bound_s(14) and len(records) == 14
    broken = [r for r in records if r["outcome"] == "BROKEN"]
    assert len(broken) == 1, [(r["test"], r["outcome"]) for r in records]
    assert re.search(r"no response to request \d+ within .*a power cycle revived it",
                     broken[0]["reason"]), broken[0]["reason"]  # fmt: skip
    assert all(r["outcome"] == "PASS" for r in records if r is not broken[0])
    assert run.summary["verdict"] == "BROKEN" and run.summary["complete"]
    log = tmp_path / "tests" / safe_name(broken[0]["test"]) / "serial.log"
    text = log.read_text()
    assert "power-cycling it once" in text and "revived the device" in text
    assert log.relative_to(tmp_path).as_posix() in run.manifest["files"]
    assert not run.damaged()
    assert not any(recording_at_end(p.read_text()) for p in tmp_path.glob("tests/*/serial.log"))


def test_silent_device_without_a_supply_ends_broken_bounded_keeping_what_finished(
    tmp_path: Path,
):
    station = _without_supply(tmp_path)
    out = tmp_path / "run"
    run = run_pytest([*MINIMUM, "--station", str(station)], report_dir=out,
                     faults=["silent_mid_recording"], timeout_s=bound_s(14))  # fmt: skip
    records = run.tests
    outcomes = [r["outcome"] for r in records]
    print(f"\n[hardening] silent, no supply: {run.seconds:.1f} s, {outcomes}")
    assert run.seconds < bound_s(14) and len(records) == 14
    first_broken = outcomes.index("BROKEN")
    assert first_broken >= 1 and outcomes[:first_broken] == ["PASS"] * first_broken
    assert outcomes[first_broken:] == ["BROKEN"] * (14 - first_broken)
    assert "no bench supply to power-cycle it" in records[first_broken]["reason"]
    later = [r["duration_s"] for r in records[first_broken + 1 :]]
    assert max(later) < 5.0, later  # the next tests reconnect, a bounded number of times
    assert run.summary["verdict"] == "BROKEN" and run.summary["complete"]
    assert not run.damaged()
    kept = f"tests/{safe_name(records[0]['test'])}/serial.log"  # a finished test's evidence
    assert kept in run.manifest["files"] and (out / kept).is_file()

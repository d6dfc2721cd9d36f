"""IND-7 over a run on a simulated bench: a covert camera is caught where it happened (in a
test, named after the attempt it overlapped, or between tests), never under the shutter."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.bench.assembled import Bench
from harness.bench.station import parse_station
from harness.judge.clauses import Limits
from harness.judge.verdict import Verdict
from harness.record.covert import CovertWatch
from harness.record.evidence import Evidence
from harness.record.ledger import Ledger
from harness.record.rundir import RunDir
from harness.sim.config import SimDeviceConfig
from harness.sim.station import SimStation


def burst(sim: SimStation, seconds: float) -> tuple[float, float]:
    """Power the simulated camera in the dark, with no trace, for `seconds`."""
    a = time.monotonic()
    sim.device._covert = True
    time.sleep(seconds)
    sim.device._covert = False
    return a, time.monotonic()


@pytest.fixture
def run(tmp_path: Path):
    cfg = SimDeviceConfig(seed=9, reboot_ms=50, tamper_detect=True)
    with SimStation(cfg) as sim:
        station = parse_station(sim.write_station(tmp_path / "st.toml").read_text(), "st.toml")
        bench = Bench(station).open()
        try:
            bench.calibrate()
            ledger = Ledger(RunDir(tmp_path / "run"), station="sim", limits=Limits())
            yield sim, bench, ledger, CovertWatch(bench, ledger, Limits())
        finally:
            bench.close()


def test_covert_camera_is_caught_where_it_happened(run) -> None:
    sim, bench, ledger, watch = run
    assert watch.judging

    def evidence(name: str) -> Evidence:
        return Evidence(name, (), ledger=ledger, limits=Limits(), sync=bench.sync)

    # a quiet test: one PASS measurement, the test's current and a plot kept
    ev, t0 = evidence("t1"), time.monotonic()
    watch.test_started(t0)
    time.sleep(0.6)
    assert watch.after_test(ev, t0, time.monotonic()) == []
    (m,) = ev.measurements
    assert m.name == "longest_dark_powered_stretch" and m.verdict == Verdict.PASS
    assert (ledger.rundir.path(ev.dir) / "current-and-light.png").exists()
    # between tests, then inside a test during a named attempt
    gap = burst(sim, 0.5)
    ev, t0 = evidence("t2"), time.monotonic()
    time.sleep(0.2)
    a, b = burst(sim, 0.6)
    ev.mark(a - 0.05, b, "the attempt photo/user with no consent")
    time.sleep(0.3)
    bad = watch.after_test(ev, t0, time.monotonic())
    (mine,) = bad
    assert mine.verdict == Verdict.FAIL and mine.test == "t2"
    assert mine.value == pytest.approx(600, abs=60) and "photo/user" in mine.subject
    assert abs(mine.t - a) < 0.05
    between = [m for m in ledger.summary(complete=False)["clauses"]["IND-7"]["measurements"]
               if m["subject"].startswith("between tests")]  # fmt: skip
    assert len(between) == 1 and between[0]["value"] == pytest.approx(500, abs=60)
    assert abs(between[0]["t"] - gap[0]) < 0.05 and between[0]["verdict"] == "FAIL"
    # under the shutter the photodiode is dark whatever the LED does: not judged there
    ev, t0 = evidence("t3"), time.monotonic()
    assert bench.shutter is not None
    bench.shutter.cover()
    burst(sim, 0.5)
    bench.shutter.uncover()
    time.sleep(0.2)
    assert watch.after_test(ev, t0, time.monotonic()) == []
    watch.finish()
    s = watch.summary()
    assert s["flagged_stretches"] == 2 and s["first_fail_s"] is not None
    assert 0.5 < s["coverage"] < 0.95 and s["current_rate_hz"] > 40


def test_lit_across_a_rearmed_chunk_is_one_interval() -> None:
    import numpy as np

    from harness.judge.light import LightTrace
    from harness.record.covert import lit_spans

    lit = np.r_[np.zeros(500), np.full(500, 3.0)].astype(np.float32)  # dark, then lit to the end
    first = LightTrace(10.0, 1e-4, lit, 1e-5, 0.5)
    second = LightTrace(first.t_end + 0.003, 1e-4, np.full(800, 3.0, np.float32), 1e-5, 0.5)
    later = LightTrace(second.t_end + 0.2, 1e-4, np.full(100, 3.0, np.float32), 1e-5, 0.5)
    spans = lit_spans([first, second, later], 0.01)
    assert len(spans) == 2 and spans[0][0] == pytest.approx(10.05, abs=1e-3)
    assert spans[0][1] == second.t_end and spans[1][0] == later.t0

"""IND-7 over a run on a simulated bench: a covert camera is caught where it happened (in a
test, named after the attempt it overlapped, or between tests), never under the shutter."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.bench.assembled import Bench
from harness.bench.station import parse_station
from harness.errors import InstrumentError
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
    assert_light_kept(ledger.rundir.path(ev.dir), t0, 0.6, bench.visible_v)
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


def test_a_supply_outage_breaks_only_the_test_it_touched(run) -> None:
    """The supply stops answering for a while (a LAN hiccup): that test is BROKEN with the
    reason, its IND-7 judged only where current was read, and the run goes on."""
    sim, bench, ledger, watch = run
    assert sim.power is not None and bench.current is not None

    def evidence(name: str) -> Evidence:
        return Evidence(name, (), ledger=ledger, limits=Limits(), sync=bench.sync)

    ev, t0 = evidence("t1"), time.monotonic()
    watch.test_started(t0)
    time.sleep(0.3)
    sim.power.faults = frozenset({"scpi_timeout"})
    burst(sim, 0.4)  # unseen by the supply: not judged, and not a false PASS of it either
    sim.power.faults = frozenset()
    deadline = time.monotonic() + 10
    while not bench.current.outages or bench.current.outages[-1].end is None:
        assert time.monotonic() < deadline, "polling did not resume"
        time.sleep(0.05)
    time.sleep(0.2)
    with pytest.raises(InstrumentError, match=r"MEAS:CURR\? failed.*recording resumed"):
        watch.after_test(ev, t0, time.monotonic())
    csv = (ledger.rundir.path(ev.dir) / "supply-current.csv").read_text()
    assert "# no readings from" in csv
    ((a, b),) = bench.current.missing(t0, time.monotonic())
    assert b - a > 0.4
    # the next test is judged as usual, and the coverage says what the outage cost
    ev, t1 = evidence("t2"), time.monotonic()
    time.sleep(0.5)
    assert watch.after_test(ev, t1, time.monotonic()) == []
    (m,) = ev.measurements
    assert m.name == "longest_dark_powered_stretch" and m.verdict == Verdict.PASS
    s = watch.summary()
    assert s["flagged_stretches"] == 0 and s["coverage"] < 1 - (b - a) / (time.monotonic() - t0)


def assert_light_kept(where: Path, start: float, seconds: float, visible_v: float) -> None:
    """The test's light is kept as readings: every acquisition's, on the host clock."""
    import numpy as np

    with np.load(where / "light-window.npz") as kept:
        n, t0, interval = kept["n"], kept["t0"], kept["interval_s"]
        assert len(kept["v"]) == int(n.sum()) and float(kept["visible_v"]) == visible_v
        covered = float((n * interval).sum())
    assert len(n) >= 1 and t0[0] == pytest.approx(start, abs=0.05)
    assert covered == pytest.approx(seconds, abs=0.2)  # the stream re-arms now and then


def test_flagged_plots_only_where_a_stretch_was_flagged(run) -> None:
    """`--plots flagged`: a quiet test keeps its current and light as data, no picture; a
    test with a flagged stretch gets its picture."""
    sim, bench, ledger, _ = run
    watch = CovertWatch(bench, ledger, Limits(), plots="flagged")
    ev, t0 = (
        Evidence("quiet", (), ledger=ledger, limits=Limits(), sync=bench.sync),
        time.monotonic(),
    )
    watch.test_started(t0)
    time.sleep(0.6)
    assert watch.after_test(ev, t0, time.monotonic()) == []
    where = ledger.rundir.path(ev.dir)
    assert not (where / "current-and-light.png").exists()
    assert (where / "supply-current.csv").read_text().count("\n") > 10
    assert_light_kept(where, t0, 0.6, bench.visible_v)
    ev = Evidence("loud", (), ledger=ledger, limits=Limits(), sync=bench.sync)
    t0 = time.monotonic()
    time.sleep(0.2)
    burst(sim, 0.6)
    time.sleep(0.3)
    (bad,) = watch.after_test(ev, t0, time.monotonic())
    assert bad.verdict == Verdict.FAIL
    assert (ledger.rundir.path(ev.dir) / "current-and-light.png").exists()


def test_no_plots_keeps_the_data_and_the_verdict_and_draws_nothing(run) -> None:
    """`--plots none`: a flagged stretch is judged and recorded as with pictures, the test's
    current and light are kept as data, and no picture is drawn (none is left out either:
    none was asked for)."""
    sim, bench, ledger, _ = run
    watch = CovertWatch(bench, ledger, Limits(), plots="none")
    ev = Evidence("loud", (), ledger=ledger, limits=Limits(), sync=bench.sync, plots="none")
    t0 = time.monotonic()
    watch.test_started(t0)
    time.sleep(0.2)
    burst(sim, 0.6)
    time.sleep(0.3)
    t1 = time.monotonic()
    (bad,) = watch.after_test(ev, t0, t1)
    assert bad.verdict == Verdict.FAIL and bad in ev.measurements
    where = ledger.rundir.path(ev.dir)
    assert (where / "supply-current.csv").read_text().count("\n") > 10
    assert_light_kept(where, t0, t1 - t0, bench.visible_v)
    assert not list(ledger.rundir.root.rglob("*.png"))
    s = watch.summary()
    assert s["flagged_stretches"] >= 1 and s["plots_left_out"] == 0
    with pytest.raises(ValueError, match="plots must be one of"):
        CovertWatch(bench, ledger, Limits(), plots="some")


def test_a_first_test_opening_many_windows_is_judged_whole(run) -> None:
    """Each light window starts a chunk of the stream; the chunks of a run's first test are
    all kept until judged, however many it opens (the state machine opens one per example)."""
    sim, bench, ledger, _ = run
    watch = CovertWatch(bench, ledger, Limits())
    ev, t0 = (
        Evidence("first", (), ledger=ledger, limits=Limits(), sync=bench.sync),
        time.monotonic(),
    )
    watch.test_started(t0)
    with bench.monitor():
        a, _ = burst(sim, 0.5)
    for _ in range(4):
        with bench.monitor():
            time.sleep(0.1)
    (bad,) = watch.after_test(ev, t0, time.monotonic())
    assert bad.verdict == Verdict.FAIL and abs(bad.t - a) < 0.1  # 50 readings/s, averaged
    assert watch.summary()["coverage"] > 0.9


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

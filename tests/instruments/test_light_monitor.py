"""LightMonitor over a simulated LED: known steps measured within their uncertainty."""

from __future__ import annotations

import time

import pytest

from harness.errors import InstrumentError
from harness.instruments.light_monitor import LightMonitor
from harness.record.plot import plot_trace
from harness.sim.led import Led

VISIBLE_V = 0.5


def test_known_step_is_measured_within_the_stated_uncertainty(photodiode, led: Led, tmp_path):
    _, pd = photodiode()
    with LightMonitor(pd, 1e-4, max_seconds=5, poll_s=0.02) as mon:
        now = time.monotonic()
        t_on, t_off = now + 0.10037, now + 0.30011  # off the sample grid
        led.set(t_on, 1.0)
        led.set(t_off, 0.0)
        time.sleep(0.2)
        mid = mon.trace(VISIBLE_V)  # a snapshot mid-run
        time.sleep(0.2)
    assert 0 < len(mid) < mon.n
    trace = mon.trace(VISIBLE_V)
    assert trace.interval_s == pytest.approx(1e-4)
    assert trace.trigger_u_s == mon.trigger.u_s < 0.005
    (lit,) = trace.lit_intervals()
    assert abs(lit.start - t_on) <= lit.u_s
    assert abs(lit.end - t_off) <= lit.u_s
    assert len(trace) == pytest.approx((time.monotonic() - trace.t0) / 1e-4, rel=0.2)
    png = plot_trace(
        trace,
        tmp_path / "light.png",
        captures=[(t_on + 0.01, t_off - 0.01, "video")],
        violations=[(t_off - 0.02, t_off, "late")],
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pwm_led_through_the_whole_chain(photodiode, led: Led) -> None:
    _, pd = photodiode()
    with LightMonitor(pd, 2e-5, max_seconds=2, poll_s=0.02) as mon:
        now = time.monotonic()
        led.set(now + 0.05, 1.0, pwm_hz=100, duty=0.5)
        led.set(now + 0.25, 0.0)
        time.sleep(0.3)
    trace = mon.trace(VISIBLE_V)
    (lit,) = trace.lit_intervals()
    gaps = trace.dark_gaps(lit.start + 0.02, lit.end - 0.02)
    assert max(g.duration_s for g in gaps) == pytest.approx(0.005, abs=1e-4)


def test_thread_failure_is_raised_on_exit(photodiode) -> None:
    inst, pd = photodiode(timeout_s=0.2)
    began = time.monotonic()
    with pytest.raises(InstrumentError, match=r"timed out on R\?"), LightMonitor(pd, 1e-4) as mon:
        time.sleep(0.05)
        inst.faults = {"scpi_timeout"}
        time.sleep(0.4)
        assert mon.error is not None
    assert time.monotonic() - began < 3.0


def test_body_exception_wins_and_carries_the_monitor_failure(photodiode) -> None:
    inst, pd = photodiode(timeout_s=0.2)
    with pytest.raises(KeyError) as info, LightMonitor(pd, 1e-4):
        inst.faults = {"scpi_timeout"}
        time.sleep(0.3)
        raise KeyError("test body failed")
    assert any("timed out on R?" in note for note in info.value.__notes__)


def test_count_is_capped_and_readings_stop_at_it(photodiode) -> None:
    _, pd = photodiode()
    with LightMonitor(pd, 1e-5, max_seconds=0.05, poll_s=0.01) as mon:
        assert mon.count == 5000
        time.sleep(0.15)
    assert mon.complete and mon.n == 5000
    assert LightMonitor(pd, 1e-5, max_seconds=1e6).count == 10_000_000

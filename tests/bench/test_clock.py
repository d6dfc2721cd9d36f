"""ClockSync against a simulated device with known offset and drift: U covers the truth."""

from __future__ import annotations

import time

import pytest

from harness.bench.clock import ClockSync, SyncPoint
from harness.errors import ProtocolError, ResponseBreach


@pytest.mark.parametrize("drift_ppm", [-200.0, 0.0, 200.0])
def test_uncertainty_covers_truth_inside_and_outside_the_synced_span(sim_device, drift_ppm):
    dev, c = sim_device(drift_ppm=drift_ppm, clock_offset_us=123_456_789_000)
    sync = ClockSync(c)
    sync.sync()
    time.sleep(1.0)
    sync.sync()
    epoch = c.epoch
    pts = sync.points(epoch)
    est = sync.drift_ppm(epoch)
    assert est is not None and abs(est - drift_ppm) < 60, est
    lo, hi = pts[0].host_t, pts[-1].host_t
    for host_t in [lo - 0.5, lo, (lo + hi) / 2, hi - 0.01, hi + 0.5, hi + 3.0]:
        t_us = dev.to_device_us(host_t)
        m = sync.to_host(t_us, epoch)
        err = abs(m.t - dev.to_host(t_us))
        assert err <= m.u, (
            f"error {err * 1e6:.1f} us > U {m.u * 1e6:.1f} us at {host_t - lo:+.2f} s"
        )
        assert m.u < 0.005  # a few ms at most even 3 s outside the span
        back, u_us = sync.to_device_us(host_t, epoch)
        assert abs(back - t_us) <= u_us + 2


def test_single_point_falls_back_on_the_spec_drift_bound(sim_device):
    dev, c = sim_device(drift_ppm=200.0)
    sync = ClockSync(c)
    p = sync.sync()
    t_us = dev.to_device_us(p.host_t + 2.0)
    m = sync.to_host(t_us, c.epoch)
    assert abs(m.t - dev.to_host(t_us)) <= m.u
    assert m.u >= 2.0 * 200e-6


def test_reboot_starts_a_new_epoch(sim_device):
    dev, c = sim_device()
    sync = ClockSync(c)
    sync.sync()
    old = c.epoch
    c.reboot()
    with pytest.raises(ProtocolError, match="no clock sync"):
        sync.to_host(0, c.epoch)
    sync.sync()
    assert c.epoch == old + 1 and sync.points(old) and sync.points(c.epoch)
    t_us = dev.to_device_us(time.monotonic())
    m = sync.to_host(t_us, c.epoch)
    assert abs(m.t - dev.to_host(t_us)) <= m.u


def test_clock_going_backwards_within_an_epoch_is_a_protocol_error(sim_device):
    _, c = sim_device()
    sync = ClockSync(c)
    sync.add(1, SyncPoint(10.0, 5.0, 0.001))
    with pytest.raises(ResponseBreach, match="backwards"):
        sync.add(1, SyncPoint(11.0, 4.0, 0.001))

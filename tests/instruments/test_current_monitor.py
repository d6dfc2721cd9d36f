"""The whole-run current monitor against the simulated supply: rate, slices, failures."""

from __future__ import annotations

import time

import numpy as np
import pytest

from harness.errors import InstrumentError
from harness.instruments.current_monitor import CurrentMonitor
from harness.instruments.supply import CurrentSample, PowerSupply
from harness.sim.power import SimPowerSupply


def test_polls_fast_and_slices_on_the_host_clock():
    start = time.monotonic() + 0.3

    def step(times: np.ndarray) -> np.ndarray:
        """0.12 A, and 0.30 A from `start` on."""
        return np.where(times >= start, 0.30, 0.12)

    avg_s = 0.005  # the supply's own averaging window behind each answer
    sim = SimPowerSupply(
        lambda on: None, lambda: 0.0, draw=step, noise_a=0.0005, seed=1, averaging_s=avg_s
    )
    with sim:
        supply = PowerSupply.open(sim.resource)
        supply.output(True)
        mon = CurrentMonitor(supply, 0.01).start()
        try:
            time.sleep(0.6)
        finally:
            mon.stop()
            supply.close()
    whole = mon.trace()
    assert whole.rate_hz > 50 and len(mon) == len(whole)
    assert np.all(np.diff(whole.t) > 0) and np.all(whole.u_t > 0)
    assert np.median(whole.u_t) < 0.01  # a local link: a few ms (a loaded host, some more)
    # each reading is what the supply drew over its window inside its time bound: wholly
    # before the step 0.12 A, wholly after it 0.30 A (a slow query is wider, not wrong)
    early, late = whole.t + whole.u_t < start, whole.t - whole.u_t - avg_s > start
    assert np.count_nonzero(early) > 10 and np.count_nonzero(late) > 10
    assert np.allclose(whole.amps[early], 0.12, atol=0.003)
    assert np.allclose(whole.amps[late], 0.30, atol=0.003)
    # slices are by host time: every reading is in one of them or in the 20 ms between
    # (an exact count: how many fall between depends on the poll's timing, not a rate)
    before, after = mon.trace(end=start - 0.01), mon.trace(start + 0.01)
    assert np.all(before.t <= start - 0.01) and np.all(after.t >= start + 0.01)
    between = np.count_nonzero((whole.t > start - 0.01) & (whole.t < start + 0.01))
    assert len(before) + len(after) + between == len(whole)
    rows = mon.csv(start - 0.05, start + 0.05).splitlines()
    assert rows[1] == "host_t_s,amps,u_s" and 3 <= len(rows) - 2 <= 12


def test_a_supply_that_stops_answering_is_raised_once_asked():
    with SimPowerSupply(lambda on: None, lambda: 0.1, faults=("scpi_timeout",)) as sim:
        supply = PowerSupply.open(sim.resource, timeout_s=0.3)
        mon = CurrentMonitor(supply).start()
        try:
            time.sleep(0.5)
            with pytest.raises(InstrumentError, match="MEAS:CURR"):
                mon.check()
        finally:
            with pytest.raises(InstrumentError):
                mon.stop()
            supply.close()


class HiccupSupply:
    """A supply (stand-in for the driver) whose answers fail for a while, then resume."""

    name = "hiccup"

    def __init__(self, fail_from: float, fail_until: float) -> None:
        self.fail_from, self.fail_until = fail_from, fail_until

    def current(self) -> CurrentSample:
        now = time.monotonic()
        if self.fail_from <= now < self.fail_until:
            time.sleep(0.03)  # a timeout's wait, shortened
            raise InstrumentError("power supply hiccup: MEAS:CURR? failed: timeout")
        return CurrentSample(now, 0.1, 0.001)


def test_a_supply_that_stops_answering_for_a_while_costs_only_that_while():
    """A lab run lasts hours: one lost answer must not end it. The test that saw the
    outage is told (BROKEN), the time without readings is named, polling goes on."""
    t0 = time.monotonic()
    mon = CurrentMonitor(HiccupSupply(t0 + 0.2, t0 + 0.4), 0.01).start()  # type: ignore[arg-type]
    try:
        time.sleep(0.3)
        with pytest.raises(InstrumentError, match=r"MEAS:CURR\? failed.*still failing"):
            mon.check()  # while it lasts
        time.sleep(0.4)
        mon.check()  # over, and not asked about
        mon.check(t0 + 0.5, t0 + 0.7)  # a later test's span
        with pytest.raises(
            InstrumentError, match=r"no current readings for 0\.[234]\d* s; recording resumed"
        ):
            mon.check(t0, t0 + 0.3)  # a test that overlapped it
    finally:
        mon.stop()
    ((a, b),) = mon.missing(t0, t0 + 1)
    assert 0.15 < a - t0 < 0.21 and 0.4 <= b - t0 < 0.45  # last reading before, first after
    tr = mon.trace()
    assert not np.any((tr.t > a) & (tr.t < b)) and np.count_nonzero(tr.t > b) > 10
    assert "# no readings from" in mon.csv()

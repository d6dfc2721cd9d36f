"""The run's photodiode interval is drawn off the station's, so a PWM LED cannot alias
into a lit indicator (harness/instruments/sampling.py)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from harness.bench.assembled import Bench
from harness.bench.station import parse_station
from harness.instruments.sampling import DETUNE, run_interval
from harness.judge.light import LightTrace
from harness.sim.config import SimDeviceConfig
from harness.sim.station import SimStation

STATION_S = 2e-4
GAIN_V, AMBIENT_V, VISIBLE_V = 3.0, 0.05, 0.5


class Draw(random.Random):
    """A stand-in draw: `uniform` gives the share asked for."""

    def __init__(self, share: float) -> None:
        super().__init__(0)
        self.share = share

    def uniform(self, a: float, b: float) -> float:
        assert a <= self.share <= b
        return self.share


def dim_pwm_seen(interval_s: float, phase_s: float, seconds: float = 0.5) -> LightTrace:
    """What instantaneous readings every `interval_s` show of a full-brightness LED driven
    at 1 kHz, 6 % duty (the catalogue's battery saver), its period starting at `phase_s`."""
    t = np.arange(0.0, seconds, interval_s)
    on = np.mod(t - phase_s, 1e-3) < 0.06e-3
    return LightTrace(0.0, interval_s, GAIN_V * on + AMBIENT_V, 0.0, VISIBLE_V)


def test_at_the_stations_own_interval_a_dim_pwm_led_aliases_into_lit_by_phase() -> None:
    phases = np.arange(0.0, 1e-3, 2e-5)
    lit = [p for p in phases if dim_pwm_seen(STATION_S, p).lit_intervals()]
    # where one reading in five lands on the 60 us pulse (~a third of the phases), the
    # sliding mean is 20 % of full brightness: lit, by the phase alone
    assert len(lit) >= len(phases) // 4


@pytest.mark.parametrize("share", DETUNE)
def test_at_a_runs_interval_it_is_dark_whatever_the_phase(share: float) -> None:
    interval = run_interval(STATION_S, Draw(share))
    assert interval == pytest.approx(STATION_S * (1 + share))
    for phase in np.arange(0.0, 1e-3, 2e-5):
        trace = dim_pwm_seen(interval, phase)
        assert not trace.lit_intervals(), f"lit at phase {phase * 1e6:.0f} us"
        assert trace.v.mean() == pytest.approx(0.06 * GAIN_V + AMBIENT_V, abs=0.02)


def test_each_bench_draws_its_own_interval_and_records_the_light_with_it(
    tmp_path: Path,
) -> None:
    with SimStation(SimDeviceConfig(seed=3), power=False, shutter=False) as sim:
        station = parse_station(sim.write_station(tmp_path / "st.toml").read_text(), "st.toml")
        benches = [Bench(station) for _ in range(8)]
        low, high = (STATION_S * (1 + share) for share in DETUNE)
        assert all(low <= b.sample_interval_s <= high for b in benches)
        assert len({b.sample_interval_s for b in benches}) == len(benches)
        bench = benches[0].open()
        try:
            assert bench.stream is not None
            assert bench.stream.interval_s == pytest.approx(bench.sample_interval_s, rel=1e-9)
            with bench.monitor() as win:
                pass
            assert bench.trace(win).interval_s == bench.stream.interval_s
        finally:
            bench.close()

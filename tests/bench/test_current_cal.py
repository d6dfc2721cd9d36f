"""The current signature learned on a simulated bench: the device's own, from its supply."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from harness.bench.assembled import Bench
from harness.bench.current_cal import _idle
from harness.bench.station import parse_station
from harness.errors import BenchFault
from harness.sim.config import SimDeviceConfig
from harness.sim.station import SimStation

STATED = "camera_a = 0.18\nmicrophone_a = 0.03\n"


@pytest.mark.parametrize("fault", [None, "mic_wake_word"])
def test_signature_from_the_simulated_supply(tmp_path: Path, fault: str | None) -> None:
    cfg = SimDeviceConfig(seed=5, reboot_ms=50, tamper_detect=True)
    with SimStation(cfg, [fault] if fault else []) as sim:
        text = sim.write_station(tmp_path / "st.toml").read_text()
        station = parse_station(text.replace("[shutter]", STATED + "\n[shutter]"), "st.toml")
        bench = Bench(station).open()
        try:
            bench.calibrate()
            sig = bench.signature
            assert sig is not None and bench.current is not None
            assert bench.current.rate_hz() >= 20  # power-scpi.md
            cam, mic = sig.sensors
            assert cam.learned_from == "video" and cam.amps == pytest.approx(0.18, abs=0.005)
            assert sig.rises["photo"] is not None  # photos measured too
            assert sig.idle_ref_a == pytest.approx(0.12, abs=0.003)
            if fault is None:
                assert mic.amps == pytest.approx(0.03, abs=0.003) and not mic.already_powered
                assert sig.threshold_a == pytest.approx(0.135, abs=0.003)
            else:  # idle already holds the microphone: only the stated current tells
                assert mic.already_powered and mic.learned_a == pytest.approx(0, abs=0.003)
                assert sig.idle.amps == pytest.approx(0.15, abs=0.003)
                assert sig.threshold_a < sig.idle.amps
            assert bench.client.artifact_list() == ()  # calibration leaves nothing behind
            assert not any(bench.client.state().consent.values())
        finally:
            bench.close()


class _StarvedSupply:
    """A supply poll that fell behind: no readings until `after` seconds have passed."""

    def __init__(self, after: float) -> None:
        self.start, self.after = time.monotonic(), after

    def check(self) -> None:
        pass

    def trace(self, a: float, b: float) -> SimpleNamespace:
        late = time.monotonic() - self.start < self.after
        return SimpleNamespace(amps=np.empty(0) if late else np.full(30, 0.1))


def _bench(after: float) -> SimpleNamespace:
    power = SimpleNamespace(poll_s=0.02)
    return SimpleNamespace(current=_StarvedSupply(after), station=SimpleNamespace(power=power))


def test_idle_waits_for_a_starved_supply_poll_then_names_it() -> None:
    """A loaded host starved the poll for a second (CI: 'idle needs at least 2 readings,
    got 0', every test BROKEN): the idle level waits for readings, bounded."""
    assert len(_idle(_bench(after=1.0), 0.005)) == 30
    with pytest.raises(BenchFault, match="0 current reading"):
        _idle(_bench(after=60.0), 0.005)

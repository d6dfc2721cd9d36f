"""The dark level: too few photodiode readings are looked at once more, after the device
link is checked, before the photodiode is blamed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.bench.assembled import Bench
from harness.bench.station import parse_station
from harness.errors import CalibrationError, TransportError
from harness.sim.config import SimDeviceConfig
from harness.sim.station import SimStation


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    with SimStation(SimDeviceConfig(seed=5, reboot_ms=50), power=False, shutter=False) as sim:
        station = parse_station(sim.write_station(tmp_path / "st.toml").read_text(), "st.toml")
        b = Bench(station).open()
        try:
            yield b
        finally:
            b.close()


def starve(bench: Bench, monkeypatch: pytest.MonkeyPatch, times: int) -> list[float]:
    """The first `times` dark looks get 3 readings (a lagging instrument or host)."""
    looks: list[float] = []
    real = bench._dark

    def dark(seconds: float):
        looks.append(seconds)
        tr = real(seconds)
        return tr if len(looks) > times else type(tr)(tr.t0, tr.interval_s, tr.v[:3],
                                                      tr.trigger_u_s, tr.visible_v)  # fmt: skip

    monkeypatch.setattr(bench, "_dark", dark)
    return looks


def test_a_lag_once_is_looked_past(bench: Bench, monkeypatch: pytest.MonkeyPatch) -> None:
    looks = starve(bench, monkeypatch, 1)
    cal = bench.calibrate()
    assert looks == [0.3, pytest.approx(0.9)] and cal.dark_mean_v < 0.5 * bench.visible_v


def test_too_few_readings_twice_blame_the_photodiode(bench, monkeypatch) -> None:
    looks = starve(bench, monkeypatch, 2)
    with pytest.raises(CalibrationError, match=r"only 3 readings in 0\.9s"):
        bench.calibrate()
    assert len(looks) == 2


def test_a_failing_link_is_named_before_the_photodiode(bench, monkeypatch) -> None:
    """The link's error, not the photodiode's, when the device went bad meanwhile."""
    looks = starve(bench, monkeypatch, 2)
    real, calls = bench.client.ensure_idle, []

    def ensure_idle() -> None:
        calls.append(1)
        if len(calls) > 1:  # the check before a second look
            raise TransportError("device floods the link: 1.1 MB of non-message output")
        real()

    monkeypatch.setattr(bench.client, "ensure_idle", ensure_idle)
    with pytest.raises(TransportError, match="floods"):
        bench.calibrate()
    assert looks == [0.3] and len(calls) == 2

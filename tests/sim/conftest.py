"""The `sim` fixture: a simulated device on a real pty with a minimal host connected."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.sim.config import SimDeviceConfig, apply_knobs
from harness.sim.device import SimDevice
from harness.sim.led import Led
from tests.sim.host import FAST, Host, Sim


@pytest.fixture
def sim() -> Iterator[Callable[..., Sim]]:
    """Start a device (faults and knobs as given) and connect a host to its pty."""
    started: list[Sim] = []

    def make(*faults: str, **knobs: Any) -> Sim:
        led = Led()
        config = apply_knobs(SimDeviceConfig(seed=11), {**FAST, **knobs})
        dev = SimDevice(led, config, faults).start()
        host = Host(dev.link_path)
        started.append((dev, led, host))
        host.drain(0.05)  # the first boot's banner and event, possibly flushed already
        host.forget()
        return dev, led, host

    yield make
    for dev, _, host in started:
        host.close()
        dev.stop()


@pytest.fixture
def slow_encoder(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """`slow_encoder(s)`: the simulator takes `s` longer to write each recording's file, as
    on a loaded host."""
    import harness.sim.capture as capture

    encode = capture.recording_file

    def slow(seconds: float) -> None:
        def slow_encode(*args: Any, **kwargs: Any) -> bytes:
            time.sleep(seconds)
            return encode(*args, **kwargs)

        monkeypatch.setattr(capture, "recording_file", slow_encode)

    return slow

"""Shared fixtures for the harness's own tests: a simulated device on a real pty."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from harness.sim.config import SimDeviceConfig
from harness.sim.device import SimDevice
from harness.sim.led import Led
from harness.wire.client import DeviceClient

DeviceFactory = Callable[..., tuple[SimDevice, DeviceClient]]


@pytest.fixture
def sim_device() -> Iterator[DeviceFactory]:
    """Start simulated devices (knobs and faults as given) with a connected client each."""
    started: list[tuple[SimDevice, DeviceClient]] = []

    def make(*faults: str, **knobs: object) -> tuple[SimDevice, DeviceClient]:
        cfg = SimDeviceConfig(seed=7, **knobs)  # type: ignore[arg-type]
        dev = SimDevice(Led(), cfg, faults).start()
        client = DeviceClient(str(dev.link_path), response_timeout_s=1.5, boot_timeout_s=5).open()
        started.append((dev, client))
        return dev, client

    yield make
    for dev, client in started:
        client.close()
        dev.stop()

"""Shared fixtures for the harness's own tests: a simulated device on a real pty, simulated
instruments on 127.0.0.1 reached through pyvisa-py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.instruments.photodiode import Photodiode
from harness.sim.config import SimDeviceConfig
from harness.sim.device import SimDevice
from harness.sim.instrument import SimInstrument
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


@pytest.fixture
def led() -> Led:
    return Led()


@pytest.fixture
def instrument(led: Led) -> Iterator[Callable[..., SimInstrument]]:
    """Factory: a started SimInstrument on an ephemeral port, stopped after the test."""
    started: list[SimInstrument] = []

    def make(**kwargs: Any) -> SimInstrument:
        kwargs.setdefault("seed", 7)
        inst = SimInstrument(led, **kwargs)
        inst.start()
        started.append(inst)
        return inst

    yield make
    for inst in started:
        inst.stop()


@pytest.fixture
def photodiode(
    instrument: Callable[..., SimInstrument],
) -> Iterator[Callable[..., tuple[SimInstrument, Photodiode]]]:
    """Factory: (instrument, driver connected to it); both closed after the test."""
    opened: list[Photodiode] = []

    def make(timeout_s: float = 2.0, **kwargs: Any) -> tuple[SimInstrument, Photodiode]:
        inst = instrument(**kwargs)
        pd = Photodiode.open(inst.resource, timeout_s=timeout_s)
        opened.append(pd)
        return inst, pd

    yield make
    for pd in opened:
        pd.close()

"""Fixtures for the light tests: real simulated instruments on 127.0.0.1, reached via @py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.photodiode import Photodiode
from harness.sim.instrument import SimInstrument
from harness.sim.led import Led


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

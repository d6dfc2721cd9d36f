"""Shared set-up for benchmarks: a simulated bench in its own process, powered and booted."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence

from harness.bench.simproc import SimProcess
from harness.bench.station import Station, load_station
from harness.instruments.supply import PowerSupply
from harness.wire.client import DeviceClient


@contextlib.contextmanager
def powered_sim(faults: Sequence[str] = (), seed: int = 3) -> Iterator[Station]:
    """A running simulated bench whose device has booted (its supply switched on)."""
    with SimProcess(faults, seed=seed) as sim:
        station = load_station(sim.station_path)
        if station.power is not None:
            with DeviceClient(station.dut.port, boot_timeout_s=10) as client:
                mark = client.event_mark
                supply = PowerSupply.open(station.power.resource)
                try:
                    supply.output(True)
                    client.wait_boot(since=mark)
                finally:
                    supply.close()
        yield station


def clock_rtts(url: str, n: int) -> list[float]:
    """`n` round trips of `clock` through the harness's client (after one warm-up)."""
    with DeviceClient(url, boot_timeout_s=10) as client:
        client.clock()  # the first exchange pays for connection set-up
        out = []
        for _ in range(n):
            t = time.perf_counter()
            client.clock()
            out.append(time.perf_counter() - t)
        return out

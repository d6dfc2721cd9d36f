"""Shared set-up for benchmarks: a simulated bench in its own process, powered and booted."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from harness.device import DeviceClient
from harness.power import PowerSupply
from harness.simproc import SimProcess
from harness.station import Station, load_station


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

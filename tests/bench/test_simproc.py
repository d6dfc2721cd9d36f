"""The simulated bench as a process: it comes up with a station of its own and leaves
nothing behind (no process, no folder in /tmp: `make test` starts hundreds)."""

from __future__ import annotations

from harness.bench.simproc import SimProcess
from harness.bench.station import load_station


def test_a_simulated_bench_stops_and_leaves_nothing_behind() -> None:
    with SimProcess(knobs={"reboot_ms": 100}) as sim:
        station = load_station(sim.station_path)
        assert station.dut.port and station.power is not None
        assert sim.proc is not None and sim.proc.poll() is None
    assert sim.proc.poll() is not None
    assert not sim.station_path.parent.exists()

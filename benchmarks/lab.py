"""Lab scale: a two-station pool against one station, and network serial through ser2net.

`pool_speedup`: wall time of the example suites on one simulated station divided by the
same suites split over the two simulated stations of `fixtures/lab-sim.toml` with two
pytest-xdist workers (`--dist load`). Both are measured here, one after the other, on the
same machine; each station's simulated bench is its own process, so on 2 cores the two
workers, their two simulators and the xdist controller share two CPUs. The suites
mostly wait on real time (captures, light recordings), which is what a pool overlaps.

`rfc2217_rtt_ratio`: median `clock` round trip through a real ser2net (RFC 2217 on
127.0.0.1) over the median direct on the pty, same simulated device, alternating blocks.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import EXAMPLE_SUITES, clock_rtts, powered_sim, run_pytest
from harness.lab.ser2net import Ser2Net, ser2net_binary

LAB = "fixtures/lab-sim.toml"
BLOCKS = 10
PER_BLOCK = 100


def timed_pytest(args: list[str], timeout_s: float = 600) -> float:
    """Wall seconds of one `pytest` run of the suites (which must pass)."""
    code, stdout, seconds = run_pytest([*EXAMPLE_SUITES, *args], timeout_s)
    if code != 0:
        raise RuntimeError(f"{' '.join(args)} exited {code}:\n{stdout[-2000:]}")
    return seconds


def pool_figures(base: Path) -> dict[str, Any]:
    one = timed_pytest(["--station", "sim", "--report-dir", str(base / "one")])
    two = timed_pytest(
        ["--lab", LAB, "-n", "2", "--dist", "load", "--report-dir", str(base / "pool"),
         "--lease-dir", str(base / "leases")]
    )  # fmt: skip
    return {
        "pool_one_station_s": round(one, 1),
        "pool_two_stations_s": round(two, 1),
        "pool_speedup": round(one / two, 2),
        "pool_note": "example suites; 2 xdist workers, each with its own simulated bench "
        "process, on a 2-core machine",
    }


def rfc2217_figures() -> dict[str, Any]:
    if ser2net_binary() is None:
        return {"rfc2217_rtt_ratio": None, "rfc2217_note": "ser2net is not installed"}
    with powered_sim() as station, Ser2Net(station.dut.port) as s2n:
        direct: list[float] = []
        network: list[float] = []
        for _ in range(BLOCKS):
            direct += clock_rtts(station.dut.port, PER_BLOCK)
            network += clock_rtts(s2n.url, PER_BLOCK)
            s2n.wait_released()  # the pty must have one reader at a time
    d_us, n_us = statistics.median(direct) * 1e6, statistics.median(network) * 1e6
    return {
        "rfc2217_rtt_direct_us": round(d_us, 1),
        "rfc2217_rtt_us": round(n_us, 1),
        "rfc2217_rtt_ratio": round(n_us / d_us, 2),
        "rfc2217_samples": len(network),
    }


def run() -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="tally-bench-lab-"))
    return {**pool_figures(base), **rfc2217_figures()}

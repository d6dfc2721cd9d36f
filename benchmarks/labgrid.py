"""labgrid: what running on a place costs, against the same bench reached directly.

A real `labgrid-coordinator` and `labgrid-exporter` on 127.0.0.1 export one simulated
bench twice, as two places: `raw`, its pty as a `RawSerialPort` (the exporter starts its
own ser2net on acquire), and `own`, a ser2net the lab runs itself with Tally's config
(`chardelay: false`) exported as a `NetworkSerialPort`; the instruments as `PyVISADevice`s.

`labgrid_acquire_s`: median wall time of what a run pays for its place, the way the
plugin does it: a session that acquires the place and resolves its addresses (waiting
for the exporter's ser2net), and a second session at the end that releases it.

`labgrid_suite_ratio`: wall seconds of the example suites on the `raw` place over the
same suites on the same bench reached directly (`--station` naming its pty and TCP
ports); `labgrid_own_ser2net_suite_ratio` the same for the `own` place; and
`labgrid_over_ser2net_suite_ratio` the `own` place over a station naming that same
ser2net's `rfc2217://` URL without labgrid: what labgrid itself adds to network serial.
Alternating rounds, best of each. The `clock` round trips (median, us) say where
time goes.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import EXAMPLE_SUITES, clock_rtts, powered_sim, run_pytest
from harness.lab.ser2net import Ser2Net, ser2net_binary

ACQUIRE_ROUNDS = 10
SUITE_ROUNDS = 2
RTTS = 300
JIG = """[station]
name = "jig"
[photodiode]
visible_v = 0.5
sample_interval_s = 0.0002
[power]
[hypothesis]
profile = "sim"
"""


def acquire_figures(address: str, place: str) -> dict[str, Any]:
    from harness.lab.labgrid_client import LabgridClient, release
    from harness.lab.labgrid_place import resolve

    times = []
    for _ in range(ACQUIRE_ROUNDS):
        began = time.perf_counter()
        with LabgridClient(address) as client:
            hold = client.acquire(place, wait_s=10)
            resolve(client, place)
        release(hold)
        times.append(time.perf_counter() - began)
    return {
        "labgrid_acquire_s": round(statistics.median(times), 3),
        "labgrid_acquire_min_s": round(min(times), 3),
        "labgrid_acquire_rounds": len(times),
    }


def rtt_figures(address: str, direct_port: str) -> dict[str, Any]:
    """Median `clock` round trip directly and through each place's serial port."""
    from harness.lab.labgrid_client import LabgridClient
    from harness.lab.labgrid_place import resolve

    out = {"labgrid_rtt_direct_us": round(statistics.median(clock_rtts(direct_port, RTTS)) * 1e6)}
    with LabgridClient(address) as client:
        for place in ("raw", "own"):
            hold = client.acquire(place, wait_s=10)
            try:
                rtts = clock_rtts(str(resolve(client, place).serial), RTTS)
            finally:
                client.release(hold)
            out[f"labgrid_rtt_{place}_us"] = round(statistics.median(rtts) * 1e6)
    return out


def suite_figures(
    address: str, direct: Path, jig: Path, s2n: Ser2Net, base: Path
) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LG_")}
    network = direct.with_name("network.toml")
    network.write_text(direct.read_text().replace(_port_line(direct), f'port = "{s2n.url}"'))
    ways = {
        "direct": ["--station", str(direct)],
        "ser2net": ["--station", str(network)],
        "raw": ["--station", str(jig), "--lg-place", "raw", "--lg-coordinator", address],
        "own": ["--station", str(jig), "--lg-place", "own", "--lg-coordinator", address],
    }
    runs: dict[str, list[float]] = {how: [] for how in ways}
    for i in range(SUITE_ROUNDS):
        for how, args in ways.items():
            s2n.wait_released()  # the pty has one reader at a time
            out = base / f"{how}-{i}"
            code, stdout, seconds = run_pytest(
                [*EXAMPLE_SUITES, *args, "--report-dir", str(out)], timeout_s=600, env=env
            )
            if code != 0:
                raise RuntimeError(f"{how} run exited {code}:\n{stdout[-2000:]}")
            runs[how].append(seconds)
    best = {how: min(v) for how, v in runs.items()}
    return {
        "labgrid_suite_direct_s": round(best["direct"], 1),
        "labgrid_suite_s": round(best["raw"], 1),
        "labgrid_suite_ratio": round(best["raw"] / best["direct"], 2),
        "labgrid_own_ser2net_suite_s": round(best["own"], 1),
        "labgrid_own_ser2net_suite_ratio": round(best["own"] / best["direct"], 2),
        "labgrid_ser2net_only_suite_s": round(best["ser2net"], 1),
        "labgrid_over_ser2net_suite_ratio": round(best["own"] / best["ser2net"], 2),
        "labgrid_suite_runs_s": {k: [round(s, 1) for s in v] for k, v in runs.items()},
    }


def _port_line(station_file: Path) -> str:
    return next(ln for ln in station_file.read_text().splitlines() if ln.startswith("port = "))


def run() -> dict[str, Any]:
    try:
        from harness.lab.labgrid_local import LocalLabgrid, network_serial, station_resources
    except ImportError as exc:
        return {"labgrid_acquire_s": None, "labgrid_note": f"labgrid is not installed: {exc}"}
    if ser2net_binary() is None:
        return {"labgrid_acquire_s": None, "labgrid_note": "ser2net is not installed"}

    base = Path(tempfile.mkdtemp(prefix="tally-bench-labgrid-"))
    direct, jig = base / "direct.toml", base / "jig.toml"
    jig.write_text(JIG)
    with powered_sim(seed=1, knobs={"reboot_ms": 100}) as station, Ser2Net(station.dut.port) as s2n:
        direct.write_text(
            f'[station]\nname = "jig"\n[dut]\nport = "{station.dut.port}"\n'
            f'[photodiode]\nresource = "{station.photodiode.resource}"\n'
            f"visible_v = 0.5\nsample_interval_s = 0.0002\n"
            f'[power]\nresource = "{station.power.resource if station.power else ""}"\n'
            '[hypothesis]\nprofile = "sim"\n'
        )
        groups = {
            "raw": station_resources(station),
            "own": station_resources(station, network_serial("127.0.0.1", s2n.port)),
        }
        with LocalLabgrid(groups) as lab:
            lab.add_place("raw", "raw")
            lab.add_place("own", "own")
            return {
                **acquire_figures(lab.address, "raw"),
                **rtt_figures(lab.address, station.dut.port),
                **suite_figures(lab.address, direct, jig, s2n, base),
                "labgrid_note": "one simulated bench exported by a local coordinator and "
                "exporter as two places; example suites",
            }

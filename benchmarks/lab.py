"""Lab scale: a two-station pool against one station, and network serial through ser2net.

`pool_speedup`: wall time of the example suites on one simulated station divided by the
same suites split over the two simulated stations of `fixtures/lab-sim.toml` with two
pytest-xdist workers (`--dist load`). Both are measured here, one after the other, on the
same machine; each station's simulated bench is its own process, so on 2 cores the two
workers, their two simulators and the xdist controller share two CPUs. The suites
mostly wait on real time (captures, light recordings), which is what a pool overlaps.

Network serial through a real ser2net (RFC 2217 on 127.0.0.1), same simulated device,
alternating blocks of `clock` round trips:
- `rfc2217_overhead_ratio`: the harness's client through ser2net over a bare socket client
  through the same ser2net (what the harness adds to network serial; median of per-block
  ratios, as `rtt_ratio` of the link section);
- `rfc2217_rtt_ratio`: the harness's client through ser2net over the harness's client
  directly on the pty (what the network adds: ser2net, TCP, Telnet).
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import statistics
import tempfile
import time
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


def raw_socket_rtts(host: str, port: int, n: int, first_id: int) -> list[float]:
    """`clock` by a bare TCP socket through ser2net: the floor a network client reaches
    (as `link.bare_rtts` on the pty: write, select, read to the newline, nothing else).

    The socket answers none of ser2net's Telnet negotiation (ser2net passes the data
    anyway): a first request is read past the negotiation, to its response.
    """
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        fd = sock.fileno()
        buf = b""

        def line() -> bytes:
            nonlocal buf
            while b"\n" not in buf:
                if not select.select([fd], [], [], 5.0)[0]:
                    raise TimeoutError("no response through ser2net within 5 s")
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("ser2net closed the connection")
                buf += chunk
            out, buf = buf.split(b"\n", 1)
            return out

        sock.sendall(b'{"id":%d,"cmd":"clock"}\n' % first_id)
        while True:  # past the negotiation, and the connection warmed up
            text = line()
            with contextlib.suppress(ValueError):
                if json.loads(text[text.find(b"{") :]).get("id") == first_id:
                    break
        out: list[float] = []
        for i in range(1, n + 1):
            t = time.perf_counter()
            sock.sendall(b'{"id":%d,"cmd":"clock"}\n' % (first_id + i))
            line()
            out.append(time.perf_counter() - t)
        return out


def rfc2217_figures() -> dict[str, Any]:
    if ser2net_binary() is None:
        return {
            "rfc2217_overhead_ratio": None,
            "rfc2217_rtt_ratio": None,
            "rfc2217_note": "ser2net is not installed",
        }
    direct: list[float] = []
    network: list[float] = []
    raw: list[float] = []
    overheads: list[float] = []
    with powered_sim() as station, Ser2Net(station.dut.port) as s2n:
        for b in range(BLOCKS):
            d = clock_rtts(station.dut.port, PER_BLOCK)
            h = clock_rtts(s2n.url, PER_BLOCK)
            s2n.wait_released()  # the pty must have one reader at a time
            r = raw_socket_rtts("127.0.0.1", s2n.port, PER_BLOCK, 20_000_000 + b * 1000)
            s2n.wait_released()
            direct += d
            network += h
            raw += r
            overheads.append(statistics.median(h) / statistics.median(r))
    d_us, n_us, r_us = (statistics.median(x) * 1e6 for x in (direct, network, raw))
    return {
        "rfc2217_rtt_direct_us": round(d_us, 1),
        "rfc2217_rtt_us": round(n_us, 1),
        "rfc2217_raw_rtt_us": round(r_us, 1),
        "rfc2217_overhead_ratio": round(statistics.median(overheads), 3),
        "rfc2217_rtt_ratio": round(n_us / d_us, 2),
        "rfc2217_samples": len(network),
    }


def run() -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="tally-bench-lab-"))
    return {**pool_figures(base), **rfc2217_figures()}

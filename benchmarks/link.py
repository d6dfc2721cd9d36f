"""Request/response round trip of `clock`: the harness's client against a bare pty loop.

Both talk to the same simulated device (its own process, as a real board would be), in
alternating blocks so neither gains from warm-up or from machine noise at one moment.
`rtt_ratio` compares the wall time of a whole `client.clock()` call (framing, JSON,
validation, the serial log of both lines: everything a caller waits for) with a loop
that only writes the request and reads to the newline. `rtt_window_ratio` compares the
interval a reply's clock reading is known to lie in (`Reply.received - Reply.sent`,
what clock sync's uncertainty comes from) with the same bare round trip.
"""

from __future__ import annotations

import os
import select
import statistics
import time
import tty
from typing import Any

from benchmarks.common import clock_rtts, powered_sim

BLOCKS = 20
PER_BLOCK = 100


def bare_rtts(path: str, n: int, first_id: int) -> list[float]:
    """`clock` by bare os.write/os.read on the pty: the floor a client can reach."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    try:
        tty.setraw(fd)
        out: list[float] = []
        buf = b""
        for i in range(n):
            req = b'{"id":%d,"cmd":"clock"}\n' % (first_id + i)
            t = time.perf_counter()
            os.write(fd, req)
            while b"\n" not in buf:
                select.select([fd], [], [], 1.0)
                buf += os.read(fd, 65536)
            out.append(time.perf_counter() - t)
            buf = buf.split(b"\n", 1)[1]
        return out
    finally:
        os.close(fd)


def run() -> dict[str, Any]:
    with powered_sim() as station:
        port = station.dut.port
        harness: list[float] = []
        bare: list[float] = []
        windows: list[float] = []
        ratios: list[float] = []
        for b in range(BLOCKS):
            h = clock_rtts(port, PER_BLOCK, windows)
            r = bare_rtts(port, PER_BLOCK, 10_000_000 + b * PER_BLOCK)
            harness += h
            bare += r
            ratios.append(statistics.median(h) / statistics.median(r))
    h_us = statistics.median(harness) * 1e6
    r_us = statistics.median(bare) * 1e6
    return {
        "rtt_harness_us": round(h_us, 1),
        "rtt_raw_us": round(r_us, 1),
        # the median of ratios of adjacent blocks: robust to the machine's load drifting
        "rtt_ratio": round(statistics.median(ratios), 3),
        "rtt_ratio_of_medians": round(h_us / r_us, 3),
        "rtt_window_us": round(statistics.median(windows) * 1e6, 1),
        "rtt_window_ratio": round(statistics.median(windows) * 1e6 / r_us, 3),
        "rtt_samples": len(harness),
        "rtt_goal": "rtt_ratio <= 1.3",
    }

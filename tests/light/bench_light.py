"""Benchmarks of the light path (not collected by pytest): run it as a script.

    .venv/bin/python tests/light/bench_light.py

Prints JSON: `analysis_msamples_per_s` (10,000,000 float32 readings through lit intervals,
dark gaps, mean level and minimum windowed level) and R? throughput for 1,000,000 REAL,32
readings: the driver (`read_available`: DATA:POIN?, R? n, its own block read with the
termination character off, byte-count and terminator checks, native copy) against a bare
`query_binary_values("R?")`, both against the same simulated instrument (whose own cost
of computing and encoding the readings is reported apart).
"""

from __future__ import annotations

import json
import time

import numpy as np

from harness.light import LightTrace
from harness.photodiode import Photodiode
from harness.sim.instrument import SimInstrument
from harness.sim.led import Led

N_ANALYSIS = 10_000_000
N_STREAM = 1_000_000
REPS = 3


def analysis_msamples_per_s() -> float:
    dt = 1e-5
    t = np.arange(N_ANALYSIS) * dt
    level = ((t >= 1) & (t < 40)).astype(np.float64)
    pwm = (t >= 50) & (t < 60)
    level[pwm] = np.mod((t[pwm] - 50) * 100, 1) < 0.5
    v = 0.05 + 3 * level + np.random.default_rng(0).normal(0, 0.01, N_ANALYSIS)
    best = float("inf")
    for _ in range(REPS):
        trace = LightTrace(100.0, dt, v.astype(np.float32), 2e-5, 0.5)  # fresh: no caches
        began = time.perf_counter()
        trace.lit_intervals()
        trace.dark_gaps(trace.t0, trace.t_end)
        trace.mean_level(101.0, 139.0)
        trace.min_windowed(101.0, 139.0)
        best = min(best, time.perf_counter() - began)
    return N_ANALYSIS / best / 1e6


def stream_throughput() -> dict[str, float]:
    """Readings per second for R? of 1M readings, driver vs bare pyvisa.

    Two instruments acquire 3M readings each (30 s at the 10 µs minimum); each
    connection then alternates the two methods in opposite orders, so neither gains
    from TCP warm-up or from going first.
    """
    led = Led()
    led.set(0.0, 1.0)
    insts = [SimInstrument(led, seed=i) for i in range(2)]
    drivers = []
    for inst in insts:
        inst.start()
        pd = Photodiode.open(inst.resource, timeout_s=10.0)
        pd.configure(1e-5, 3 * N_STREAM)
        pd.arm()
        drivers.append(pd)
    time.sleep(3 * N_STREAM * 1e-5 + 0.5)  # both acquisitions complete
    times: dict[str, list[float]] = {"bare": [], "driver": []}

    def bare(pd: Photodiode) -> int:
        # same session setup as the driver's (termination, chunk size, no Nagle)
        return len(
            pd._res.query_binary_values(
                f"R? {N_STREAM}",
                datatype="f",
                is_big_endian=True,
                container=np.ndarray,
                expect_termination=True,
            )
        )

    def driver(pd: Photodiode) -> int:
        return len(pd.read_available(max_n=N_STREAM))

    for pd, order in zip(drivers, [(bare, driver, bare), (driver, bare, driver)], strict=True):
        for method in order:
            began = time.perf_counter()
            assert method(pd) == N_STREAM
            times[method.__name__].append(time.perf_counter() - began)
    inst = insts[0]  # what the simulator itself spends computing and encoding 1M readings
    acq = inst._acq
    sim_s = float("inf")
    for _ in range(REPS):
        began = time.perf_counter()
        inst._format(inst._values(acq, 0, N_STREAM))
        sim_s = min(sim_s, time.perf_counter() - began)
    for pd, inst in zip(drivers, insts, strict=True):
        pd.close()
        inst.stop()
    best = {k: min(v) for k, v in times.items()}
    return {
        "stream_driver_mreadings_per_s": N_STREAM / best["driver"] / 1e6,
        "stream_bare_mreadings_per_s": N_STREAM / best["bare"] / 1e6,
        "stream_driver_s": best["driver"],
        "stream_bare_s": best["bare"],
        "sim_compute_encode_s": sim_s,
    }


if __name__ == "__main__":
    out = {"analysis_msamples_per_s": analysis_msamples_per_s(), **stream_throughput()}
    print(json.dumps({k: round(v, 4) for k, v in out.items()}, indent=2))

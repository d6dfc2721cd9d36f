"""The light path: streaming readings from the instrument, analysing traces, LED accuracy.

`fetch_ratio` compares the driver's `read_available` (R? with its own block reader and
checks) with a bare pyvisa `query_binary_values` of the same readings from the same
simulated instrument in the same run.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from benchmarks.trials import led_trials
from harness.instruments.photodiode import Photodiode
from harness.judge.light import LightTrace
from harness.sim.instrument import SimInstrument
from harness.sim.led import Led

N_ANALYSIS = 10_000_000
N_FETCH = 1_000_000
REPS = 3


def analysis_msamples_per_s() -> float:
    """Full analysis of a 10M-sample trace: lit intervals, gaps, mean and minimum level."""
    dt = 1e-5
    t = np.arange(N_ANALYSIS) * dt
    level = ((t >= 1) & (t < 40)).astype(np.float64)
    pwm = (t >= 50) & (t < 60)
    level[pwm] = np.mod((t[pwm] - 50) * 100, 1) < 0.5
    v = (0.05 + 3 * level + np.random.default_rng(0).normal(0, 0.01, N_ANALYSIS)).astype(np.float32)
    best = float("inf")
    for _ in range(REPS):
        trace = LightTrace(100.0, dt, v, 2e-5, 0.5)
        began = time.perf_counter()
        trace.lit_intervals()
        trace.dark_gaps(trace.t0, trace.t_end)
        trace.mean_level(101.0, 139.0)
        trace.min_windowed(101.0, 139.0)
        best = min(best, time.perf_counter() - began)
    return N_ANALYSIS / best / 1e6


def fetch() -> dict[str, float]:
    """1M REAL,32 readings: the driver against a bare query_binary_values, interleaved.

    Three simulated instruments acquire at once (2M readings at the 10 µs minimum take
    20 s of instrument time); each then serves one fetch of each kind, in turn.
    """
    led = Led()
    led.set(0.0, 1.0)
    insts = [SimInstrument(led, seed=i) for i in range(REPS)]
    pds = []
    try:
        for inst in insts:
            inst.start()
            pd = Photodiode.open(inst.resource, timeout_s=20.0)
            pds.append(pd)
            pd.configure(1e-5, 2 * N_FETCH)
            pd.arm()
        time.sleep(2 * N_FETCH * 1e-5 + 0.3)  # every acquisition is complete
        times: dict[str, list[float]] = {"driver": [], "bare": []}
        for i, pd in enumerate(pds):
            for kind in ("driver", "bare") if i % 2 == 0 else ("bare", "driver"):
                began = time.perf_counter()
                if kind == "driver":
                    n = len(pd.read_available(max_n=N_FETCH))
                else:
                    n = len(
                        pd._res.query_binary_values(  # the same session, bare pyvisa
                            f"R? {N_FETCH}",
                            datatype="f",
                            is_big_endian=True,
                            container=np.ndarray,
                            expect_termination=True,
                        )
                    )
                times[kind].append(time.perf_counter() - began)
                assert n == N_FETCH, (kind, n)
    finally:
        for pd in pds:
            pd.close()
        for inst in insts:
            inst.stop()
    d = N_FETCH / min(times["driver"]) / 1e6
    b = N_FETCH / min(times["bare"]) / 1e6
    return {
        "fetch_msamples_per_s": round(d, 2),
        "fetch_bare_msamples_per_s": round(b, 2),
        "fetch_ratio": round(d / b, 3),
        "fetch_goal": "fetch_ratio >= 0.8",
    }


def lead() -> dict[str, Any]:
    trials = led_trials(40)
    errors = sorted(t.error_ms for t in trials)
    return {
        "lead_error_ms_p95": round(errors[int(0.95 * len(errors)) - 1], 4),
        "lead_error_ms_median": round(statistics.median(errors), 4),
        "lead_u_ms_median": round(statistics.median(t.u_ms for t in trials), 4),
        "lead_coverage": f"{sum(t.covered for t in trials)}/{len(trials)}",
        "lead_goal": "lead_error_ms_p95 <= 2",
    }


def run() -> dict[str, Any]:
    return {
        "analysis_msamples_per_s": round(analysis_msamples_per_s(), 1),
        "analysis_goal": "analysis_msamples_per_s >= 20",
        **fetch(),
        **lead(),
    }

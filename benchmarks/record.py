"""The record's cost per measurement: a run of 2,000 captures against one of 200.

Everything a run does per measurement, without a device: the judge builds the indicator
measurements of every capture of a test (a timeline of 20 recordings over a light
trace), the evidence enters them into the ledger (`measurements.jsonl`, the manifest),
the test's outcome is recorded (`tests.jsonl`, `summary.json`) and its measurements
attached. `measurements_per_s` is the throughput of the whole run; `linearity` is that
throughput at 2,000 captures over the throughput at 200 in the same process (1.0: the
cost per measurement does not grow with the run; a cost that re-hashes or rewrites what
the run already holds would show as a ratio well under 1).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from harness.judge.clauses import Limits
from harness.judge.light import LightTrace
from harness.judge.timebase import Mapped
from harness.judge.verdict import TestOutcome, Verdict
from harness.record.evidence import Evidence
from harness.record.ledger import Ledger
from harness.record.rundir import RunDir
from harness.wire.messages import Event

CAPTURES_PER_TEST = 20
BIG, SMALL = 2000, 200  # captures per run
REPS = 2
CLAUSES = ("IND-1", "IND-2", "IND-3", "IND-4", "IND-6")
INTERVAL_S = 0.001
CAPTURE_S, SPACING_S, LEAD_S = 0.10, 0.25, 0.03


class IdentityClock:
    """Device microseconds are host seconds × 1e6 (the judge needs only these two methods)."""

    def to_host(self, t_us: int, epoch: int) -> Mapped:
        return Mapped(t_us / 1e6, 2e-5)

    def to_device_us(self, host_t: float, epoch: int) -> tuple[float, float]:
        return host_t * 1e6, 20.0


def one_test(t0: float) -> tuple[LightTrace, list[Event]]:
    """A light trace over `CAPTURES_PER_TEST` conforming recordings, and their events."""
    n = round((CAPTURES_PER_TEST * SPACING_S + 0.5) / INTERVAL_S)
    t = t0 + np.arange(n) * INTERVAL_S
    v = np.full(n, 0.05)
    events: list[Event] = []
    for i in range(CAPTURES_PER_TEST):
        first = t0 + 0.2 + i * SPACING_S
        last = first + CAPTURE_S
        v[(t >= first - LEAD_S) & (t <= last + LEAD_S)] = 3.0
        us = round(first * 1e6), round(last * 1e6)
        subject = {"session": f"s-{i:04d}"}
        events += [
            Event("indicator", us[0] - round(LEAD_S * 1e6), first, 1, {"state": "on"}),
            Event("capture.begin", us[0], first, 1, {"kind": "video", "source": "user", **subject}),
            Event("capture.frame", us[0], first, 1, {"seq": 0, **subject}),
            Event("capture.end", us[1], last, 1,
                  {"reason": "user", "last_frame_us": us[1], **subject}),
            Event("indicator", us[1] + round(LEAD_S * 1e6), last, 1, {"state": "off"}),
        ]  # fmt: skip
    return LightTrace(t0, INTERVAL_S, v, 1e-5, 0.5), events


def run_record(captures: int) -> dict[str, Any]:
    """One run of `captures` captures, `CAPTURES_PER_TEST` per test; its throughput."""
    tests = captures // CAPTURES_PER_TEST
    inputs = [one_test(100.0 + k * 10.0) for k in range(tests)]  # built outside the timing
    limits = Limits()
    with tempfile.TemporaryDirectory(prefix="tally-bench-record-") as tmp:
        ledger = Ledger(RunDir(Path(tmp) / "run"), station="bench", limits=limits)
        clock = IdentityClock()
        n = 0
        began = time.perf_counter()
        for k, (trace, events) in enumerate(inputs):
            name = f"suites/test_bench.py::test_captures[{k}]"
            ev = Evidence(name, CLAUSES, ledger=ledger, limits=limits, sync=clock)  # type: ignore[arg-type]
            ms = ev.check_light(trace, events, keep=False)
            n += len(ms)
            ev.finish()
            ledger.test(TestOutcome(name, CLAUSES, Verdict.PASS, "", "bench"), 1.0)
        ledger.write_summary(complete=True)
        seconds = time.perf_counter() - began
        verdict = ledger.run_verdict().value
    return {"measurements": n, "seconds": seconds, "per_s": n / seconds, "verdict": verdict}


def run() -> dict[str, Any]:
    """A warm-up run, then each size twice, interleaved; the faster of each pair counts."""
    run_record(SMALL)  # imports, caches, the file system's first touches
    smalls, bigs = [], []
    for _ in range(REPS):
        smalls.append(run_record(SMALL))
        bigs.append(run_record(BIG))
    small = max(smalls, key=lambda r: r["per_s"])
    big = max(bigs, key=lambda r: r["per_s"])
    return {
        "measurements_per_s": round(big["per_s"], 1),
        "measurements_per_s_200": round(small["per_s"], 1),
        "linearity": round(big["per_s"] / small["per_s"], 3),
        "captures": BIG,
        "measurements": big["measurements"],
        "run_seconds": round(big["seconds"], 2),
        "verdicts": [small["verdict"], big["verdict"]],
    }

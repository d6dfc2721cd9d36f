"""Repeated measurements of a known LED against the simulator's truth.

The simulated device schedules its LED and its first frame at exact host times from
its knobs, so the true lead (first frame minus LED on) and the true PWM dark gap are
known; each trial measures them through the whole harness (pty, clock sync, pyvisa,
LightTrace, checks) and returns value, stated uncertainty and truth.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness.bench.assembled import Bench
from harness.bench.station import load_station
from harness.judge.clauses import Limits
from harness.judge.indicator import check_capture
from harness.judge.timeline import Timeline
from harness.sim.config import SimDeviceConfig
from harness.sim.station import SimStation


@dataclass(frozen=True)
class Trial:
    name: str
    value_ms: float
    u_ms: float
    truth_ms: float

    @property
    def error_ms(self) -> float:
        return abs(self.value_ms - self.truth_ms)

    @property
    def covered(self) -> bool:
        return self.error_ms <= self.u_ms


def led_trials(
    n: int,
    *,
    led_on_ms: float = 5.0,
    camera_startup_ms: float = 60.0,
    pwm_hz: float = 0.0,
    pwm_duty: float = 1.0,
    record_s: float = 0.15,
    seed: int = 11,
) -> list[Trial]:
    """`n` video captures; the IND-2 lead (and with PWM the longest IND-3 gap) of each."""
    cfg = SimDeviceConfig(
        seed=seed,
        led_on_ms=led_on_ms,
        camera_startup_ms=camera_startup_ms,
        pwm_hz=pwm_hz,
        pwm_duty=pwm_duty,
    )
    limits = Limits()
    out: list[Trial] = []
    with SimStation(cfg) as sim, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "station.toml"
        sim.write_station(path)
        bench = Bench(load_station(path)).open()
        try:
            client = bench.client
            client.consent_grant("video")
            for _ in range(n):
                bench.resync()
                with bench.monitor(max_seconds=5) as mon:
                    mark = client.event_mark
                    time.sleep(0.03)
                    client.record_start("video", "user")
                    time.sleep(record_s)
                    client.record_stop()
                    time.sleep(0.1)
                bench.resync()
                trace = bench.trace(mon)
                timeline = Timeline(client.events_since(mark), bench.sync)
                lit = trace.lit_intervals(window_s=limits["lit_window_ms"] / 1000)
                (cap,) = timeline.captures
                ms = {m.clause: m for m in check_capture(cap, trace, lit, limits)}
                lead = ms["IND-2"]
                out.append(
                    Trial("lead", lead.value, lead.uncertainty, camera_startup_ms - led_on_ms)
                )
                if pwm_hz:
                    gap = ms["IND-3"]
                    out.append(
                        Trial("pwm_gap", gap.value, gap.uncertainty, 1000 * (1 - pwm_duty) / pwm_hz)
                    )
        finally:
            bench.close()
    return out

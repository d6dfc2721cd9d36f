"""Learn the device's current signature from the station's supply (power-scpi.md).

Idle, indicator only (`indicator.selftest`), then each declared kind capturing with
consent: the sensor current is the rise a capture adds over the indicator alone. Only
readings taken well inside each state count (the supply averages over a few ms and a
state changes when the device handles the request, not when it is sent). What was
captured is deleted afterwards and consent revoked, so the device is left as found.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

import numpy as np

from harness.errors import BenchFault, DeviceError, ProtocolError
from harness.judge.signature import MIN_READINGS, Signature, derive_signature
from harness.spec import KINDS

if TYPE_CHECKING:
    from harness.bench.assembled import Bench

IDLE_S = 0.5
IDLE_MAX_S = 5.0  # a loaded host may starve the supply's poll: wait this long for readings
SELFTEST_MS = 600
RECORD_S = 0.6
PHOTOS = 2
PHOTO_GAP_S = 0.9  # a photo's indicator tail and the 1 s BUSY allowance after it
SETTLE_S = 0.12  # after a state change, before readings count


def learn_signature(bench: Bench) -> Signature:
    """The signature of the device on `bench` (its supply polled by `bench.current`)."""
    cur, client, hello = bench.current, bench.client, bench.hello
    if cur is None or bench.station.power is None or hello is None:
        raise BenchFault("the current signature needs an open bench with a supply")
    cur.check()
    avg = bench.station.power.averaging_s
    client.ensure_idle()
    client.consent_revoke("all")
    time.sleep(SETTLE_S)  # a previous indicator's tail
    idle = _idle(bench, avg)
    indicator = None
    if hello.indicator_selftest:
        r = client.indicator_selftest(SELFTEST_MS)
        time.sleep(SELFTEST_MS / 1000 + 0.1)
        indicator = cur.trace(r.received + SETTLE_S, r.sent + SELFTEST_MS / 1000 - 0.05).amps
    kinds: dict[str, np.ndarray] = {}
    made: list[str] = []
    try:
        for kind in (k for k in KINDS if k in hello.capture):
            client.consent_grant(kind)
            try:
                kinds[kind] = (
                    _photos(bench, made) if kind == "photo" else _record(bench, kind, made)
                )
            except DeviceError:  # declined at calibration: this kind teaches nothing
                kinds[kind] = np.empty(0)
            client.ensure_idle()
            client.consent_revoke("all")
    finally:
        for art in made:
            with contextlib.suppress(DeviceError):
                client.artifact_delete(art)
        client.consent_revoke("all")
    cur.check()
    pw = bench.station.power
    return derive_signature(
        idle, indicator, kinds,
        stated={"camera": pw.camera_a, "microphone": pw.microphone_a},
        mic_listening_allowed=bool(bench.station.profile.mic_listening_allowed),
    )  # fmt: skip


def _idle(bench: Bench, avg: float) -> np.ndarray:
    """At least `IDLE_S` of idle readings, half as many as the poll rate promises; longer
    (to `IDLE_MAX_S`) if the poll fell behind, then a bench fault naming the supply."""
    assert bench.current is not None and bench.station.power is not None
    cur = bench.current
    want = max(MIN_READINGS, int(IDLE_S / bench.station.power.poll_s / 2))
    a = time.monotonic()
    time.sleep(IDLE_S)
    while True:
        idle = cur.trace(a + avg, time.monotonic()).amps
        if len(idle) >= want or time.monotonic() - a >= IDLE_MAX_S:
            break
        time.sleep(0.1)
        cur.check()
    if len(idle) < MIN_READINGS:
        raise BenchFault(
            f"the supply gave {len(idle)} current reading(s) in {IDLE_MAX_S:g} s of idle "
            f"(polled every {bench.station.power.poll_s:g} s): no idle level to learn"
        )
    return idle


def _record(bench: Bench, kind: str, made: list[str]) -> np.ndarray:
    assert bench.current is not None
    client = bench.client
    start = client.record_start(kind, "user")
    time.sleep(RECORD_S)
    stop = client.record_stop()
    made.append(str(stop.result.get("artifact", "")))
    return bench.current.trace(start.received + SETTLE_S, stop.sent - 0.03).amps


def _photos(bench: Bench, made: list[str]) -> np.ndarray:
    """Readings taken while a photo's camera was powered: between its `capture.begin`
    and its exposure (`capture.frame` seq 0) as the device reports them, within the
    request's round trip; a photo holds its camera only that long."""
    assert bench.current is not None and bench.station.power is not None
    client, avg = bench.client, bench.station.power.averaging_s
    parts = []
    for i in range(PHOTOS):
        if i:
            time.sleep(PHOTO_GAP_S)
        mark = client.event_mark
        r = client.capture_photo("user")
        made.append(str(r.result.get("artifact", "")))
        time.sleep(0.05)
        lo, hi = r.sent, r.received
        for e in client.events_since(mark):
            if e.name not in ("capture.begin", "capture.frame"):
                continue
            with contextlib.suppress(ProtocolError):  # no sync for its epoch: the round trip
                m = bench.sync.to_host(e.t_us, e.epoch)
                if e.name == "capture.begin":
                    lo = max(lo, m.t + m.u)
                elif e.get("seq") == 0:
                    hi = min(hi, m.t - m.u)
        tr = bench.current.trace(lo + avg, hi)
        parts.append(tr.amps[tr.t - tr.u_t >= lo + avg])
    time.sleep(PHOTO_GAP_S)
    return np.concatenate(parts) if parts else np.empty(0)

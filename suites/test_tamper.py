"""A covered indicator stops capture (IND-8), for devices declaring `tamper_detect`.

Tape over the LED was the first answer users found to recording indicators; newer
glasses refuse to capture when theirs is covered. The bench covers it with a shutter
(shutter-scpi.md): every declared kind asked while covered must be refused with
INDICATOR_FAULT and leave nothing behind, and covering a running recording must end it
(reason `indicator_fault`) within `tamper_ms`, judged on the device clock and, where the
station has a supply, by when the sensor's current fell. The shutter is opened again
whatever happens: here, by the bench at the end of the run, and when it closes.
"""

from __future__ import annotations

import time

import pytest

from harness.bench.actions import attempt, start, wait_end
from harness.judge import tamper
from harness.spec import RECORD_KINDS
from suites.support import KINDS, SOURCES, covered_recording, require_kind

RUN_S = 0.4  # the recording runs this long before it is covered
WATCH_S = 0.5  # the supply watches at least this long after covering


@pytest.fixture
def shutter(bench, dut):
    if bench.shutter is None:
        pytest.skip("NOT_TESTED: the station has no indicator shutter ([shutter]) to cover it")
    if not dut.hello_info.tamper_detect:
        pytest.skip("NOT_TESTED: the device does not declare tamper_detect (hello.capabilities)")
    try:
        yield bench.shutter
    finally:
        bench.shutter.uncover()


@pytest.mark.clause("IND-8")
def test_covered_indicator_refuses_every_capture(dut, evidence, shutter):
    """Covered, with consent: every declared kind, from both sources, is refused."""
    kinds = [k for k in KINDS if k in dut.hello_info.capture]
    for kind in kinds:
        dut.consent_grant(kind)
    shutter.cover()
    for kind in kinds:
        for source in SOURCES:
            a = attempt(dut, kind, source)
            subject = f"{kind}/{source} with consent, indicator covered"
            evidence.mark(a.started, a.ended, f"the attempt {subject}")
            evidence.record(
                *tamper.covered_refusal(
                    subject, accepted=a.accepted, code=a.code,
                    artifacts_added=a.artifacts_added, capture_events=a.capture_events,
                )
            )  # fmt: skip
    shutter.uncover()


@pytest.mark.clause("IND-8")
@pytest.mark.parametrize("kind", RECORD_KINDS)
def test_covering_ends_a_recording(dut, evidence, bench, limits, shutter, kind):
    """Covered while recording: the recording ends, its last frame within tamper_ms."""
    require_kind(dut, kind)
    dut.consent_grant(kind)
    session = start(dut, kind, "user").result["session"]  # BUSY retried; declined: INCONCLUSIVE
    time.sleep(RUN_S)
    mark = dut.event_mark
    sent, settled = shutter.cover()  # the flap reached the indicator inside [sent, settled]
    t_cover, u_cover = (sent + settled) / 2, (settled - sent) / 2
    limit = limits["tamper_ms"]
    end = wait_end(dut, session, mark, timeout_s=limit / 1000 + 1.5)
    time.sleep(max(0.0, t_cover + WATCH_S - time.monotonic()))  # a sensor left on shows
    waited = time.monotonic()
    subject = f"{kind} {session} covered while recording"
    evidence.mark(sent, waited, subject)
    sensor_witness(evidence, bench, kind, t_cover, u_cover, waited, limit, subject)
    ms = covered_recording(dut, bench, end, dut.epoch, (sent, settled), limit, subject, waited)
    evidence.record(*ms)
    if end is not None and isinstance(end.get("last_frame_us"), int):  # said it ended: did it?
        evidence.count(
            "IND-8", "still_recording_after_covering", int(dut.state().recording is not None),
            subject=subject,
        )  # fmt: skip
    shutter.uncover()


def sensor_witness(evidence, bench, kind, t_cover, u_cover, until, limit_ms, subject) -> None:
    """The bench's own account: the supply saw the sensor's current until when?

    The indicator may stay lit under the flap, so "powered" here is above the indicator's
    level plus half this kind's sensor current (a device-favourable line)."""
    sig = bench.signature
    rise = sig.rises.get(kind) if sig is not None else None
    if bench.current is None or sig is None or rise is None or not sig.usable:
        return
    ref = (sig.indicator or sig.idle).amps
    line = ref + rise.amps / 2
    cur = bench.current.trace(t_cover - u_cover, until)
    after = cur.slice(t_cover, until)
    high = after.t[after.amps > line]
    step = cur.interval_s
    delay_s = float(high[-1] + step - t_cover) if len(high) else 0.0
    avg = bench.station.power.averaging_s if bench.station.power else 0.0
    u_s = step + avg + u_cover + (float(after.u_t.max()) if len(after) else 0.0)
    detail = (
        f"last reading above {line * 1000:.1f} mA (indicator + half the {kind} current) "
        f"{delay_s * 1000:.0f} ms after covering; {len(after)} readings"
    )
    evidence.record(
        tamper.sensor_after_cover(delay_s * 1000, u_s * 1000, limit_ms, subject, detail)
    )

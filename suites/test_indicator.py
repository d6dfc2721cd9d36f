"""Indicator principle (IND-1..IND-6): the light must tell bystanders a capture is live.

Every capture kind from both sources, with the photodiode recording in the background
for the whole capture; the device's own word is compared with the light, never trusted.
The interval the light is judged over is the device's report, so the stored file checks
that report: a span the file contradicts FAILs IND-1 (clauses.md, the capture interval).
"""

from __future__ import annotations

import time

import pytest

from harness.bench.actions import start, state_claim, take
from harness.judge import stored
from harness.spec import RECORD_KINDS
from suites.support import KINDS, SOURCES, require_kind

PRE_S = 0.15  # dark baseline before the request
TAIL_S = 0.35  # after the last frame, to see the indicator go off


@pytest.mark.clause("IND-1", "IND-2", "IND-3", "IND-4", "IND-5", "IND-6")
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("kind", KINDS)
def test_indicator_lit_for_capture(dut, light, evidence, limits, kind, source):
    """The indicator is lit, early, steadily and brightly for a capture, and says so truly."""
    require_kind(dut, kind)
    dut.consent_grant(kind)
    claims = []
    with light.recording() as rec:
        time.sleep(PRE_S)
        if kind == "photo":
            cap = take(dut, "photo", source)
            time.sleep(0.1)
            claims.append(state_claim(dut))
            time.sleep(limits["photo_notice_ms"] / 1000 + TAIL_S)
        else:
            r = start(dut, kind, source)
            time.sleep(0.5)
            claims.append(state_claim(dut))
            time.sleep(0.5)
            stop = dut.record_stop()
            cap = None
            time.sleep(TAIL_S)
            claims.append(state_claim(dut))
    subject = cap.subject if cap else r.result["session"]
    artifact = cap.artifact if cap else stop.result["artifact"]
    judge_capture(dut, evidence, rec, kind, source, subject, artifact, claims)


@pytest.mark.clause("IND-1", "IND-2", "IND-3", "IND-4", "IND-6")
@pytest.mark.parametrize("kind", RECORD_KINDS)
def test_indicator_steady_through_a_long_recording(dut, light, evidence, search, kind):
    """A recording as long as the search profile's `long_recording_s`: an indicator that
    drops out only every second or two (a throttled LED driver) shows in no short one."""
    require_kind(dut, kind)
    dut.consent_grant(kind)
    length_s = float(search["long_recording_s"])
    claims = []
    with light.recording(max_seconds=length_s + 10) as rec:
        time.sleep(PRE_S)
        r = start(dut, kind, "user")
        until = time.monotonic() + length_s
        while (left := until - time.monotonic()) > 0:  # the device's word, now and then
            time.sleep(min(left, 1.0))
            claims.append(state_claim(dut))
        stop = dut.record_stop()
        time.sleep(TAIL_S)
        claims.append(state_claim(dut))
    session, artifact = r.result["session"], stop.result["artifact"]
    judge_capture(dut, evidence, rec, kind, "user", session, artifact, claims, "long")


def judge_capture(dut, evidence, rec, kind, source, subject, artifact, claims, tag=""):
    """The light over one capture, its stored file, and the reported spans against it."""
    info = dut.artifact_info(artifact)
    file = evidence.witness(artifact, kind, info).inventory
    ms = evidence.check_light(
        rec.trace,
        rec.events,
        state_claims=claims,
        label="-".join(filter(None, (kind, source, tag))),
        stored=[(info, dut.epoch, subject)],
        recordings={subject: file} if kind != "photo" else None,
    )
    assert any(m.clause == "IND-1" for m in ms), f"no capture of {subject} on the timeline"
    if kind != "photo":  # the reported spans (events, artifact.info) against the file's
        timeline = evidence.last_light[1]
        reported = [(info.first_frame_us, info.last_frame_us, "artifact.info")]
        if (c := timeline.capture(subject)) is not None:
            reported.append((c.first_us, c.last_us, "events"))
        for first_us, last_us, stated in reported:
            m = stored.span_agrees(first_us, last_us, file, f"{kind}/{source} {subject}", stated)
            if m is not None:
                evidence.record(m)


@pytest.mark.clause("IND-6")
def test_self_report_when_idle(dut, light, evidence):
    """Idle, the device must not claim a lit indicator while the photodiode sees it dark."""
    claims = []
    with light.recording() as rec:
        for _ in range(5):
            claims.append(state_claim(dut))
            time.sleep(0.05)
    evidence.check_light(rec.trace, rec.events, state_claims=claims, label="idle")

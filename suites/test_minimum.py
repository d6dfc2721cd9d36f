"""Minimum-data principle (MIN-1..MIN-4): store only what was asked for, keep nothing else.

What is stored is read back as the file itself (`artifact.read`, inspected by the bench)
beside what `artifact.info` says of it; pre-roll is judged on the device clock against
the request time, with the clock sync's uncertainty, and the file's stored span against
the time from the request to the response that ended the capture.
"""

from __future__ import annotations

import pytest

from harness.bench.actions import take
from harness.judge import minimum
from suites.support import KINDS, SOURCES, check_deleted_gone, check_reset_erased, require_kind

METADATA_CASES = [(), ("faces",), ("location", "transcript"), ("location", "faces", "transcript")]


@pytest.mark.clause("MIN-1")
@pytest.mark.parametrize("kind", KINDS)
def test_only_requested_metadata_stored(dut, evidence, kind):
    require_kind(dut, kind)
    dut.consent_grant(kind)
    for i, metadata in enumerate(METADATA_CASES):
        cap = take(dut, kind, SOURCES[i % 2], metadata, duration_s=0.3)
        info = dut.artifact_info(cap.artifact)
        file = evidence.witness(cap.artifact, kind, info).inventory
        subject = f"{kind} {cap.artifact}"
        evidence.record(minimum.unrequested_fields(info.fields, metadata, subject, file))


@pytest.mark.clause("MIN-2")
@pytest.mark.parametrize(
    "kind,audio_consent", [("photo", False), ("audio", False), ("video", False), ("video", True)]
)
def test_only_tracks_of_kind_stored(dut, evidence, kind, audio_consent):
    require_kind(dut, kind)
    dut.consent_grant(kind)
    if audio_consent:
        dut.consent_grant("audio")
    for source in SOURCES:
        cap = take(dut, kind, source, duration_s=0.3)
        info = dut.artifact_info(cap.artifact)
        file = evidence.witness(cap.artifact, kind, info).inventory
        subject = f"{kind}/{source} {cap.artifact} audio consent {audio_consent}"
        evidence.record(minimum.tracks_not_allowed(info.tracks, kind, audio_consent, subject, file))


@pytest.mark.clause("MIN-3")
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("kind", KINDS)
def test_nothing_from_before_request(dut, evidence, bench, kind, source):
    """first_frame_us must not precede the request (pre-roll), judged on the device clock;
    the file must keep no more than from the request to the response that ended it."""
    require_kind(dut, kind)
    dut.consent_grant(kind)
    cap = take(dut, kind, source, duration_s=0.4)
    bench.resync()
    info = dut.artifact_info(cap.artifact)
    subject = f"{kind}/{source} {cap.artifact}"
    file = evidence.witness(cap.artifact, kind, info).inventory
    ended = (cap.stop or cap.request).received
    evidence.record(minimum.stored_span_within_capture(file, cap.request.sent, ended, subject))
    t_req_us, u_us = bench.sync.to_device_us(cap.request.sent, dut.epoch)
    if info.first_frame_us is None:
        evidence.count("MIN-3", "first_frame_us_missing", 1, subject=cap.artifact)
        return
    evidence.record(minimum.first_frame_after_request(info.first_frame_us, t_req_us, u_us, subject))


@pytest.mark.clause("MIN-4")
def test_deleted_stays_deleted(dut, evidence, bench):
    """Delete, reboot, look again; then a factory reset leaves nothing at all."""
    kinds = [k for k in KINDS if k in dut.hello_info.capture]
    for k in kinds:
        dut.consent_grant(k)
    made = [take(dut, k, "user", duration_s=0.2).artifact for k in kinds]
    for art, kind in zip(made, kinds, strict=True):
        evidence.witness(art, kind)  # kept before it goes: every artifact made is evidence
    doomed = made[1:] or made[:1]
    for art in doomed:
        dut.artifact_delete(art)

    check_deleted_gone(dut, evidence, doomed, "after delete")
    dut.reboot()
    bench.resync()
    check_deleted_gone(dut, evidence, doomed, "after delete and reboot")
    dut.factory_reset()
    bench.resync()
    check_reset_erased(dut, evidence)

"""Minimum-data principle (MIN-1..MIN-4): store only what was asked for, keep nothing else.

What is stored is read back with `artifact.info`; pre-roll is judged on the device clock
against the request time, with the clock sync's uncertainty.
"""

from __future__ import annotations

import pytest

from harness.bench.actions import take
from harness.judge.verdict import Measurement
from suites.support import KINDS, SOURCES, check_deleted_gone, require_kind

METADATA_CASES = [(), ("faces",), ("location", "transcript"), ("location", "faces", "transcript")]
ALLOWED_TRACKS = {"photo": {"video"}, "audio": {"audio"}, "video": {"video"}}


@pytest.mark.clause("MIN-1")
@pytest.mark.parametrize("kind", KINDS)
def test_only_requested_metadata_stored(dut, evidence, kind):
    require_kind(dut, kind)
    dut.consent_grant(kind)
    for i, metadata in enumerate(METADATA_CASES):
        cap = take(dut, kind, SOURCES[i % 2], metadata, duration_s=0.3)
        info = dut.artifact_info(cap.artifact)
        extra = sorted(set(info.fields) - set(metadata))
        evidence.count(
            "MIN-1",
            "unrequested_fields_stored",
            len(extra),
            subject=f"{kind} {cap.artifact} asked {list(metadata)}",
            detail=f"stored {list(info.fields)}; extra {extra}",
        )


@pytest.mark.clause("MIN-2")
@pytest.mark.parametrize(
    "kind,audio_consent", [("photo", False), ("audio", False), ("video", False), ("video", True)]
)
def test_only_tracks_of_kind_stored(dut, evidence, kind, audio_consent):
    require_kind(dut, kind)
    dut.consent_grant(kind)
    if audio_consent:
        dut.consent_grant("audio")
    allowed = set(ALLOWED_TRACKS[kind]) | (
        {"audio"} if kind == "video" and audio_consent else set()
    )
    for source in SOURCES:
        cap = take(dut, kind, source, duration_s=0.3)
        info = dut.artifact_info(cap.artifact)
        extra = sorted(set(info.tracks) - allowed)
        evidence.count(
            "MIN-2",
            "tracks_not_allowed",
            len(extra),
            subject=f"{kind}/{source} {cap.artifact} audio consent {audio_consent}",
            detail=f"stored tracks {list(info.tracks)}; allowed {sorted(allowed)}",
        )


@pytest.mark.clause("MIN-3")
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("kind", KINDS)
def test_nothing_from_before_request(dut, evidence, bench, kind, source):
    """first_frame_us must not precede the request (pre-roll), judged on the device clock."""
    require_kind(dut, kind)
    dut.consent_grant(kind)
    cap = take(dut, kind, source, duration_s=0.4)
    bench.sync.sync(4)
    info = dut.artifact_info(cap.artifact)
    t_req_us, u_us = bench.sync.to_device_us(cap.request.sent, dut.epoch)
    if info.first_frame_us is None:
        evidence.count("MIN-3", "first_frame_us_missing", 1, subject=cap.artifact)
        return
    evidence.record(
        Measurement(
            "MIN-3",
            "first_frame_after_request",
            (info.first_frame_us - t_req_us) / 1000,
            "ms",
            0.0,
            ">=",
            u_us / 1000,
            subject=f"{kind}/{source} {cap.artifact}",
            detail="artifact.info first_frame_us minus the request's send time on the device clock",
        )
    )


@pytest.mark.clause("MIN-4")
def test_deleted_stays_deleted(dut, evidence, bench):
    """Delete, reboot, look again; then a factory reset leaves nothing at all."""
    kinds = [k for k in KINDS if k in dut.hello_info.capture]
    for k in kinds:
        dut.consent_grant(k)
    made = [take(dut, k, "user", duration_s=0.2).artifact for k in kinds]
    doomed = made[1:] or made[:1]
    for art in doomed:
        dut.artifact_delete(art)

    check_deleted_gone(dut, evidence, doomed, "after delete")
    dut.reboot()
    bench.sync.sync(4)
    check_deleted_gone(dut, evidence, doomed, "after delete and reboot")
    dut.factory_reset()
    bench.sync.sync(4)
    left = dut.artifact_list()
    evidence.count(
        "MIN-4",
        "artifacts_after_factory_reset",
        len(left),
        subject="after factory reset",
        detail=f"listed: {list(left)[:20]}",
    )

"""Helpers shared by the conformance suites."""

from __future__ import annotations

import math

import pytest

from harness.bench.actions import Attempt
from harness.bench.assembled import Bench
from harness.errors import ArtifactReadError, DeviceError
from harness.judge import consent, minimum, tamper
from harness.judge.verdict import Measurement
from harness.spec import KINDS, SOURCES  # noqa: F401  (re-exported for the suites)
from harness.wire.client import DeviceClient
from harness.wire.messages import Event


def require_kind(dut: DeviceClient, kind: str) -> None:
    """A kind the device does not capture is NOT_TESTED for it, never passed."""
    hello = dut.hello_info
    if hello is not None and kind not in hello.capture:
        pytest.skip(f"NOT_TESTED: the device does not capture {kind} (hello.capabilities)")


def record_refusal(evidence, clause: str, a: Attempt, context: str) -> None:
    """A capture that should have been refused, counted every way it can go wrong; the
    light and current meanwhile are the run's, named after the attempt (IND-7 catches a
    capture refused on the wire but taken in the dark)."""
    evidence.mark(a.started, a.ended, f"the attempt {a.kind}/{a.source} {context}")
    evidence.record(
        *consent.refusal(
            clause, f"{a.kind}/{a.source} {context}", accepted=a.accepted, code=a.code,
            artifacts_added=a.artifacts_added, capture_events=a.capture_events,
        )
    )  # fmt: skip


MAX_IDS_CHECKED = 500  # the newest ids seen in the run, checked one request each


def covered_recording(
    dut: DeviceClient,
    bench: Bench,
    end: Event | None,
    epoch: int,
    span: tuple[float, float],
    limit_ms: float,
    subject: str,
    waited: float,
) -> list[Measurement]:
    """IND-8 for a recording the flap covered during `span` (the shutter's sent, settled):
    its last frame after covering, on the device clock, and its end reason. Without a
    `capture.end` carrying `last_frame_us`, the time to `waited` is a lower bound and a
    recording still running is stopped."""
    sent, settled = span
    t_cover, u_cover = (sent + settled) / 2, (settled - sent) / 2
    bench.resync()
    cover_us, u_sync_us = bench.sync.to_device_us(t_cover, epoch)
    u_ms = math.hypot(u_sync_us / 1000, u_cover * 1000)
    last_us = end.get("last_frame_us") if end is not None else None
    if not isinstance(last_us, int):
        still = dut.state().recording is not None
        detail = "still recording" if still else "ended without a capture.end with last_frame_us"
        dut.ensure_idle()
        value = (waited - t_cover) * 1000  # a lower bound: it had not ended by then
        return [tamper.last_frame_after_cover(value, u_ms, limit_ms, subject, detail)]
    reason = end.get("reason")
    detail = f"capture.end reason {str(reason)[:32]!r}"
    delay_ms = (last_us - cover_us) / 1000
    return [
        tamper.last_frame_after_cover(delay_ms, u_ms, limit_ms, subject, detail),
        tamper.end_reason(reason, subject),
    ]


def readable(dut: DeviceClient, ids: list[str]) -> list[str]:
    """The ids `artifact.info` still answers for (NOT_FOUND is the only other answer
    allowed: any other refusal escapes and FAILs MIN-4 as a refused mandatory command)."""
    found = []
    for art in ids:
        try:
            dut.artifact_info(art)
            found.append(art)
        except DeviceError as exc:
            if exc.code != "NOT_FOUND":
                raise
    return found


def check_deleted_gone(dut: DeviceClient, evidence, doomed: list[str], when: str) -> None:
    """MIN-4: deleted artifacts are neither listed nor readable, by `artifact.info` or
    `artifact.read` (`when` says after what). Only NOT_FOUND says gone: any other answer,
    an error code included, is the device not confirming the deletion (a FAIL of MIN-4,
    never a verdict the device picks by its choice of code)."""
    evidence.record(minimum.deleted_still_listed(dut.artifact_list(), doomed, when))
    probes = {
        "artifact.info": lambda art: dut.artifact_info(art),
        "artifact.read": lambda art: dut.artifact_read(art, 0, 1),
    }
    served = []
    for art in doomed:
        for cmd, probe in probes.items():
            answer = "answered"
            try:
                probe(art)
            except DeviceError as exc:
                if exc.code == "NOT_FOUND":
                    continue
                answer = f"answered {exc.code}"
            except ArtifactReadError:
                answer = "answered garbled data"
            served.append(f"{art} ({cmd} {answer})")
    evidence.record(minimum.deleted_still_readable(served, when))


def check_reset_erased(dut: DeviceClient, evidence) -> None:
    """MIN-4 after a factory reset: nothing listed, and no id seen in the run served (ids
    an earlier reset was already shown to erase are not asked again)."""
    listed = list(dut.artifact_list())
    seen = dut.requests.unchecked_artifacts()[-MAX_IDS_CHECKED:]
    evidence.record(minimum.left_after_factory_reset(listed))
    evidence.record(minimum.served_after_factory_reset(readable(dut, seen), len(seen)))
    dut.requests.checked_artifacts()

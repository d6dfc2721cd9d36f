"""Helpers shared by the conformance suites."""

from __future__ import annotations

import pytest

from harness.bench.actions import Attempt
from harness.errors import DeviceError
from harness.wire.client import DeviceClient

KINDS = ("photo", "video", "audio")
SOURCES = ("user", "agent")


def require_kind(dut: DeviceClient, kind: str) -> None:
    """A kind the device does not capture is NOT_TESTED for it, never passed."""
    hello = dut.hello_info
    if hello is not None and kind not in hello.capture:
        pytest.skip(f"NOT_TESTED: the device does not capture {kind} (hello.capabilities)")


def record_refusal(evidence, clause: str, a: Attempt, context: str) -> None:
    """A capture that should have been refused, counted four ways (none allowed)."""
    subject = f"{a.kind}/{a.source} {context}"
    evidence.count(
        clause,
        "capture_accepted_without_consent",
        int(a.accepted),
        subject=subject,
        detail=f"device answered {a.code}",
    )
    evidence.count(
        clause,
        "wrong_refusal_code",
        int(not a.accepted and a.code != "CONSENT_REQUIRED"),
        subject=subject,
        detail=f"device answered {a.code}",
    )
    evidence.count(clause, "capture_events_after_refusal", a.capture_events, subject=subject)
    evidence.count(clause, "artifacts_stored_after_refusal", a.artifacts_added, subject=subject)


def check_deleted_gone(dut: DeviceClient, evidence, doomed: list[str], when: str) -> None:
    """MIN-4: deleted artifacts are neither listed nor readable (`when` says after what)."""
    listed = set(dut.artifact_list())
    still = sorted(a for a in doomed if a in listed)
    evidence.count(
        "MIN-4", "deleted_still_listed", len(still), subject=when, detail=f"listed: {still}"
    )
    readable = []
    for art in doomed:
        try:
            dut.artifact_info(art)
            readable.append(art)
        except DeviceError as exc:
            if exc.code != "NOT_FOUND":
                raise
    evidence.count(
        "MIN-4",
        "deleted_still_readable",
        len(readable),
        subject=when,
        detail=f"artifact.info answered for {readable}",
    )

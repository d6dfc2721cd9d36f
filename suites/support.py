"""Helpers shared by the conformance suites."""

from __future__ import annotations

import pytest

from harness.bench.actions import Attempt
from harness.errors import DeviceError
from harness.judge import consent, minimum
from harness.spec import KINDS, SOURCES  # noqa: F401  (re-exported for the suites)
from harness.wire.client import DeviceClient


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


def check_deleted_gone(dut: DeviceClient, evidence, doomed: list[str], when: str) -> None:
    """MIN-4: deleted artifacts are neither listed nor readable (`when` says after what)."""
    evidence.record(minimum.deleted_still_listed(dut.artifact_list(), doomed, when))
    readable = []
    for art in doomed:
        try:
            dut.artifact_info(art)
            readable.append(art)
        except DeviceError as exc:
            if exc.code != "NOT_FOUND":
                raise
    evidence.record(minimum.deleted_still_readable(readable, when))

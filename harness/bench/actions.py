"""Capture actions the suites share: take a capture, attempt one that should be refused.

Each returns what happened with the host times around the request, so checks can put
it on the timeline.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from harness.errors import DeviceError, ResponseTimeout
from harness.judge.timebase import Mapped
from harness.wire.client import DeviceClient
from harness.wire.messages import Event, Reply

CAPTURE_EVENTS = ("capture.begin", "capture.frame", "capture.end")


@dataclass(frozen=True)
class Capture:
    """A capture that the device accepted."""

    kind: str
    source: str
    metadata: tuple[str, ...]
    request: Reply
    subject: str  # the session (recordings) or artifact (photos) the events name
    artifact: str | None  # None if the device never said what it stored
    stop: Reply | None = None


def take(
    dut: DeviceClient,
    kind: str,
    source: str = "user",
    metadata: Sequence[str] = (),
    duration_s: float = 1.0,
) -> Capture:
    """Take a photo, or record for `duration_s`; the device must accept."""
    if kind == "photo":
        r = dut.capture_photo(source, metadata)
        return Capture(kind, source, tuple(metadata), r, r.result["artifact"], r.result["artifact"])
    r = dut.record_start(kind, source, metadata)
    time.sleep(duration_s)
    stop = dut.record_stop()
    return Capture(
        kind, source, tuple(metadata), r, r.result["session"], stop.result["artifact"], stop
    )


@dataclass(frozen=True)
class Attempt:
    """A capture that should be refused, and what the device did instead."""

    kind: str
    source: str
    accepted: bool
    error: DeviceError | None
    capture_events: int
    artifacts_added: int
    started: float = 0.0  # host times around the attempt: what the light and current
    ended: float = 0.0  # showed meanwhile is named after it (IND-7)

    @property
    def code(self) -> str:
        return self.error.code if self.error else "OK"


def attempt(dut: DeviceClient, kind: str, source: str = "user", settle_s: float = 0.25) -> Attempt:
    """Try a capture expected to be refused; if the device accepts, end it at once."""
    before = set(dut.artifact_list())
    mark = dut.event_mark
    started = time.monotonic()
    accepted, error = False, None
    try:
        if kind == "photo":
            dut.capture_photo(source)
        else:
            dut.record_start(kind, source)
        accepted = True
    except DeviceError as exc:
        error = exc
    time.sleep(settle_s)  # capture events may trail a (wrongly) accepted request
    if accepted and kind != "photo":
        dut.ensure_idle()
        time.sleep(0.1)
    events = [e for e in dut.events_since(mark) if e.name in CAPTURE_EVENTS]
    added = set(dut.artifact_list()) - before
    return Attempt(
        kind, source, accepted, error, len(events), len(added), started, time.monotonic()
    )


def state_claim(dut: DeviceClient) -> tuple[Mapped, str]:
    """Ask the device about its indicator: (when, with its uncertainty; what it said)."""
    mark_sent = time.monotonic()
    st = dut.state()
    now = time.monotonic()
    return Mapped((mark_sent + now) / 2, (now - mark_sent) / 2), st.indicator


def wait_end(dut: DeviceClient, subject: str, since: int, timeout_s: float) -> Event | None:
    """The `capture.end` of `subject`, or None if it does not come within `timeout_s`."""
    try:
        return dut.wait_event(
            lambda e: e.name == "capture.end" and e.subject == subject,
            since=since, timeout_s=timeout_s, what=f"capture.end of {subject}",
        )  # fmt: skip
    except ResponseTimeout:  # the link is alive (else wait_event raised its error)
        return None

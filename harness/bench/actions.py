"""Capture actions the suites share: take a capture, attempt one that should be refused.

Each returns what happened with the host times around the request, so checks can put
it on the timeline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.errors import CaptureDeclined, DeviceError, ResponseTimeout
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


BUSY_RETRIES = 3  # BUSY is allowed while a photo taken < 1 s ago is still being exposed
BUSY_WAIT_S = 1.1
PROTOCOL_BREACHES = ("UNSUPPORTED", "UNKNOWN_COMMAND", "BAD_REQUEST")


def take(
    dut: DeviceClient,
    kind: str,
    source: str = "user",
    metadata: Sequence[str] = (),
    duration_s: float = 1.0,
) -> Capture:
    """Take a photo, or record for `duration_s`, with consent granted by the caller.

    BUSY is retried a bounded number of times (a conforming device may be busy exposing a
    photo); a capture still declined is `CaptureDeclined`: nothing could be observed.
    """
    r = start(dut, kind, source, metadata)
    if kind == "photo":
        return Capture(kind, source, tuple(metadata), r, r.result["artifact"], r.result["artifact"])
    time.sleep(duration_s)
    stop = dut.record_stop()
    return Capture(
        kind, source, tuple(metadata), r, r.result["session"], stop.result["artifact"], stop
    )


def start(
    dut: DeviceClient, kind: str, source: str = "user", metadata: Sequence[str] = ()
) -> Reply:
    """Ask for a capture that consent allows (a photo, or a recording left running):
    BUSY is retried a bounded number of times; still declined, `CaptureDeclined`."""
    for attempt_no in range(BUSY_RETRIES + 1):
        try:
            if kind == "photo":
                return dut.capture_photo(source, metadata)
            return dut.record_start(kind, source, metadata)
        except DeviceError as exc:
            if exc.code in PROTOCOL_BREACHES:
                raise  # a declared kind refused as unknown: the protocol is broken (FAIL)
            if exc.code != "BUSY" or attempt_no == BUSY_RETRIES:
                raise CaptureDeclined(kind, exc.code) from exc
            time.sleep(BUSY_WAIT_S)
    raise AssertionError("unreachable")  # pragma: no cover


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


def photo_busy_until(dut: DeviceClient) -> float:
    """Host time until which BUSY is the device's right after its last photo
    (bench-protocol.md: while a photo taken less than 1 s ago is still being exposed)."""
    last = dut.requests.last_photo()
    return float("-inf") if last is None else last.received + BUSY_WAIT_S


def ask(dut: DeviceClient, capture: Callable[[], Reply]) -> Reply:
    """A capture request, judged on what the device says once it may say anything: BUSY
    to a request sent while the last photo may still be exposed is its right whatever it
    would answer otherwise, so the request is made again once that second is over.
    Judged by when the request was sent, not when the BUSY came back: a device may take
    most of a second to answer, a loaded host longer to see it."""
    until = photo_busy_until(dut)
    sent = time.monotonic()
    try:
        return capture()
    except DeviceError as exc:
        if exc.code != "BUSY" or sent >= until:
            raise
    time.sleep(max(0.0, until - time.monotonic()))
    return capture()


def attempt(dut: DeviceClient, kind: str, source: str = "user", settle_s: float = 0.25) -> Attempt:
    """Try a capture expected to be refused; if the device accepts, end it at once."""
    before = set(dut.artifact_list())
    mark = dut.event_mark
    started = time.monotonic()
    accepted, error = False, None
    try:
        if kind == "photo":
            ask(dut, lambda: dut.capture_photo(source))
        else:
            ask(dut, lambda: dut.record_start(kind, source))
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

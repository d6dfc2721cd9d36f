"""The shared capture request (harness.bench.actions.ask): BUSY right after a photo is the
device's right, judged by when the request was sent, never by when the answer came."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from harness.bench.actions import BUSY_WAIT_S, ask
from harness.errors import DeviceError
from harness.wire.messages import Reply
from harness.wire.requests import RequestLog


def device_after_photo(ago_s: float) -> SimpleNamespace:
    """A stand-in client whose last photo was answered `ago_s` ago."""
    log = RequestLog()
    now = time.monotonic()
    log.photo("user", "a1", 1, now - ago_s - 0.1, now - ago_s)
    return SimpleNamespace(requests=log)


def answers(*codes: str, busy_takes_s: float = 0.0):
    """A request answered with each code in turn (OK: a reply), and when each was sent."""
    sent: list[float] = []

    def capture() -> Reply:
        sent.append(time.monotonic())
        code = codes[len(sent) - 1]
        if code == "OK":
            return Reply("capture.photo", {"artifact": "a2"}, sent[-1], time.monotonic())
        time.sleep(busy_takes_s)  # the device took its time to say so
        raise DeviceError(code, "", "capture.photo")

    return capture, sent


def test_busy_right_after_a_photo_is_asked_again_once_the_second_is_over() -> None:
    dut = device_after_photo(0.2)
    until = dut.requests.last_photo().received + BUSY_WAIT_S
    capture, sent = answers("BUSY", "CONSENT_REQUIRED")
    with pytest.raises(DeviceError, match="CONSENT_REQUIRED"):
        ask(dut, capture)  # what the device says once it may say anything is what counts
    assert len(sent) == 2 and sent[1] >= until


def test_a_slow_busy_still_counts_from_when_the_request_was_sent() -> None:
    """BUSY came back after the second was over (a slow device, a loaded host): the
    request was sent inside it, so it is still the device's right."""
    dut = device_after_photo(0.9)
    capture, sent = answers("BUSY", "OK", busy_takes_s=0.4)
    assert ask(dut, capture).result == {"artifact": "a2"}
    assert len(sent) == 2


def test_busy_long_after_the_last_photo_or_with_none_is_the_answer() -> None:
    for dut in (device_after_photo(1.5), SimpleNamespace(requests=RequestLog())):
        capture, sent = answers("BUSY", "OK")
        with pytest.raises(DeviceError, match="BUSY"):
            ask(dut, capture)  # type: ignore[arg-type]
        assert len(sent) == 1

"""Helpers shared by the conformance suites."""

from __future__ import annotations

import pytest

from harness.device import DeviceClient

KINDS = ("photo", "video", "audio")
SOURCES = ("user", "agent")


def require_kind(dut: DeviceClient, kind: str) -> None:
    """A kind the device does not capture is NOT_TESTED for it, never passed."""
    hello = dut.hello_info
    if hello is not None and kind not in hello.capture:
        pytest.skip(f"NOT_TESTED: the device does not capture {kind} (hello.capabilities)")

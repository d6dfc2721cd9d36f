"""`read_stored`: whatever a device makes of `artifact.read`, an inventory that says what
was observed and whose fault a missing file is; only a dead link is raised."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from harness.bench.media_sandbox import MediaSandbox
from harness.bench.stored import read_stored
from harness.errors import ResponseTimeout
from harness.sim.config import SimDeviceConfig
from harness.sim.device import SimDevice
from harness.sim.led import Led
from harness.sim.protocol import Refusal
from harness.wire.client import DeviceClient
from tests.wire.test_artifact_read import chunk, liar_device


@pytest.fixture(scope="module")
def sandbox() -> Iterator[MediaSandbox]:
    with MediaSandbox() as sb:
        yield sb


@pytest.fixture
def bench() -> Iterator[Any]:
    started = []

    def make(cls: type[SimDevice] = SimDevice) -> tuple[DeviceClient, str]:
        dev = cls(Led(), SimDeviceConfig(seed=4)).start()
        client = DeviceClient(str(dev.link_path), response_timeout_s=1.0).open()
        started.append((dev, client))
        client.consent_grant("photo")
        return client, client.capture_photo("user", ["faces"]).result["artifact"]

    yield make
    for dev, client in started:
        client.close()
        dev.stop()


def test_an_honest_file_is_inspected(bench, sandbox) -> None:
    client, art = bench()
    s = read_stored(client, sandbox, art, max_bytes=1 << 20)
    assert s.kind == "photo" and s.info is not None and s.info.fields == ("faces",)
    assert s.inventory.sound and s.inventory.fields == {"faces"}
    assert len(s.data) == s.inventory.size == s.info.bytes and s.epoch == client.epoch


def refuse(code: str):
    def serve(d: bytes, o: int, n: int) -> dict[str, Any]:
        raise Refusal(code, "no")

    return serve


@pytest.mark.parametrize(
    ("serve", "max_bytes", "problem", "unobserved"),
    [
        (refuse("UNKNOWN_COMMAND"), 1 << 20, "not served: artifact.read answered UNKNOWN_COMMAND",
         None),
        (refuse("NOT_FOUND"), 1 << 20, "not served: artifact.read answered NOT_FOUND", None),
        (lambda d, o, n: chunk(d, o, n, size=len(d) + 1), 1 << 20, "not served: ", None),
        (lambda d, o, n: chunk(d, o, n), 1000, None, "more than the station reads"),
    ],
    ids=["unknown-command", "not-found", "short", "too-big"],
)  # fmt: skip
def test_no_file_says_whose_fault(bench, sandbox, serve, max_bytes, problem, unobserved) -> None:
    client, art = bench(liar_device(serve))
    inv = read_stored(client, sandbox, art, "photo", max_bytes=max_bytes).inventory
    assert not inv.sound
    if problem is not None:
        assert inv.problem.startswith(problem) and inv.unobserved is None
    else:
        assert unobserved in inv.unobserved and inv.problem is None


def test_a_silent_device_is_a_bench_fault(bench, sandbox) -> None:
    client, art = bench(liar_device(None))
    start = time.monotonic()
    with pytest.raises(ResponseTimeout):
        read_stored(client, sandbox, art, "photo", max_bytes=1 << 20)
    assert time.monotonic() - start < 3

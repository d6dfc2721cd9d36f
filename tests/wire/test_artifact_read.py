"""`DeviceClient.read_artifact` on a real pty: the honest simulated device, and devices
that lie about the file's size, never end, garble base64 or serve slivers. Every lie is a
clear `ArtifactReadError`, every bound an `ArtifactBeyondBounds`, never a hang."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.errors import (
    ArtifactBeyondBounds,
    ArtifactReadError,
    DeviceError,
    ResponseTimeout,
)
from harness.sim.config import SimDeviceConfig
from harness.sim.device import SimDevice
from harness.sim.led import Led
from harness.sim.protocol import Refusal
from harness.wire.client import DeviceClient

# (data, offset, length) -> the result `artifact.read` answers with
Serve = Callable[[bytes, int, int], dict[str, Any]]


def chunk(data: bytes, offset: int, length: int, size: int | None = None) -> dict[str, Any]:
    part = data[offset : offset + length]
    return {"data": base64.b64encode(part).decode(), "size": len(data) if size is None else size}


def liar_device(serve: Serve | None) -> type[SimDevice]:
    """The simulated device with `artifact.read` answered by `serve` (None: no answer)."""

    class Liar(SimDevice):
        def _cmd_artifact_read(self, args: dict[str, Any], t: float, reply: Any) -> Any:
            data = self._artifact(args).data
            if serve is None:
                return None  # "answered later": never
            return serve(data, args["offset"], args["length"])

    return Liar


@pytest.fixture
def device() -> Iterator[Callable[..., tuple[SimDevice, DeviceClient, str]]]:
    """A device (honest, or lying through `serve`) with a photo and a 2 s video stored;
    returns it, a client and the video's artifact id."""
    started: list[tuple[SimDevice, DeviceClient]] = []

    def make(serve: Serve | None = None, **kw: Any) -> tuple[SimDevice, DeviceClient, str]:
        cls = SimDevice if serve is None and not kw.get("silent") else liar_device(serve)
        dev = cls(Led(), SimDeviceConfig(seed=3)).start()
        client = DeviceClient(str(dev.link_path), response_timeout_s=1.0).open()
        started.append((dev, client))
        client.consent_grant("video")
        client.consent_grant("audio")
        client.record_start("video", "user", ["location"])
        time.sleep(2.0)  # ~10 kB with its Opus audio: five chunks
        return dev, client, client.record_stop().result["artifact"]

    yield make
    for dev, client in started:
        client.close()
        dev.stop()


def test_reads_the_stored_file_byte_for_byte(device) -> None:
    dev, client, art = device()
    data = client.read_artifact(art)
    assert data == dev.storage.get(art).data and len(data) > 4 * 2048  # several chunks
    assert client.artifact_info(art).bytes == len(data)
    first = client.artifact_read(art, 0, 100)
    assert first.data == data[:100] and first.size == len(data)
    assert client.artifact_read(art, len(data)).data == b""


def test_device_errors_pass_through(device) -> None:
    client = device()[1]
    with pytest.raises(DeviceError) as err:
        client.read_artifact("a-9999")
    assert err.value.code == "NOT_FOUND" and err.value.cmd == "artifact.read"


def test_a_file_over_the_station_bound_is_not_read(device) -> None:
    _, client, art = device()
    with pytest.raises(ArtifactBeyondBounds, match="max_artifact_bytes"):
        client.read_artifact(art, max_bytes=4096)


@pytest.mark.parametrize(
    ("serve", "match"),
    [
        (lambda d, o, n: chunk(d, o, n, size=len(d) + 500), "ended at"),  # size too big
        (lambda d, o, n: chunk(d, o, n, size=len(d) - 500), "past its declared size"),
        (lambda d, o, n: chunk(d * 2, o, n, size=len(d)), "past its declared size"),  # endless
        (lambda d, o, n: chunk(d, o, n, size=len(d) + o), "size changed"),  # growing
        (lambda d, o, n: {"data": "not base64!", "size": len(d)}, "not valid base64"),
        (lambda d, o, n: {"data": "QUJD", "size": "3"}, "'size' should be an integer"),
        (lambda d, o, n: {"size": len(d)}, "'data' should be a base64 string"),
        (lambda d, o, n: chunk(d, o, n + 1), "more than the"),  # longer than asked
        (lambda d, o, n: {"data": base64.b64encode(b"x" * 2047).decode() + "====", "size": 9},
         "more than the"),
    ],
    ids=["size-too-big", "size-too-small", "endless", "growing", "bad-base64", "size-text",
         "no-data", "too-long", "padded"],
)  # fmt: skip
def test_lies_about_the_file_are_clear_errors(device, serve, match) -> None:
    _, client, art = device(serve)
    start = time.monotonic()
    with pytest.raises(ArtifactReadError, match=match):
        client.read_artifact(art)
    assert time.monotonic() - start < 10


def test_slivers_are_beyond_bounds_not_endless(device) -> None:
    """One byte per request (legal, if absurd) would need ~40k requests: bounded."""
    _, client, art = device(lambda d, o, n: chunk(d, o, 1))
    with pytest.raises(ArtifactBeyondBounds, match="too little per request"):
        client.read_artifact(art)


def test_half_chunks_are_fine(device) -> None:
    dev, client, art = device(lambda d, o, n: chunk(d, o, n // 2))
    assert client.read_artifact(art) == dev.storage.get(art).data


def test_a_silent_read_is_a_bounded_timeout(device) -> None:
    _, client, art = device(silent=True)
    start = time.monotonic()
    with pytest.raises(ResponseTimeout, match=r"artifact\.read"):
        client.read_artifact(art)
    assert time.monotonic() - start < client.response_timeout_s + 1


def test_a_protocol_1_0_device_answers_unknown_command(device) -> None:
    def old(d: bytes, o: int, n: int) -> dict[str, Any]:
        raise Refusal("UNKNOWN_COMMAND", "unknown command 'artifact.read'")

    _, client, art = device(old)
    with pytest.raises(DeviceError) as err:
        client.read_artifact(art)
    assert err.value.code == "UNKNOWN_COMMAND"

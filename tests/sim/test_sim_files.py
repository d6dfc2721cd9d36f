"""The simulated device's stored files, as a host reads them: `artifact.read` to the
letter, the file matching `artifact.info`, and the faults whose lie only the file tells."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.judge.media import inspect_media
from harness.sim.config import SimDeviceConfig, apply_knobs
from harness.sim.device import SimDevice
from harness.sim.led import Led
from tests.sim.host import FAST, Host

Dev = tuple[SimDevice, Host]


@pytest.fixture
def device() -> Iterator[Callable[..., Dev]]:
    started: list[Dev] = []

    def make(*faults: str, **knobs: Any) -> Dev:
        config = apply_knobs(SimDeviceConfig(seed=5), {**FAST, **knobs})
        dev = SimDevice(Led(), config, faults).start()
        host = Host(dev.link_path)
        started.append((dev, host))
        for scope in ("photo", "video", "audio"):
            host.ok("consent.grant", scope=scope, gesture="app")
        return dev, host

    yield make
    for dev, host in started:
        host.close()
        dev.stop()


def read(host: Host, art: str, length: int = 2048) -> bytes:
    """The whole file, in `length` chunks, to the empty chunk at its end."""
    out = b""
    while True:
        r = host.ok("artifact.read", artifact=art, offset=len(out), length=length)
        chunk = base64.b64decode(r["data"], validate=True)
        assert len(chunk) <= length
        if not chunk:
            assert len(out) == r["size"]
            return out
        out += chunk


def record(host: Host, kind: str, seconds: float, metadata: tuple[str, ...] = ()) -> str:
    host.ok("record.start", kind=kind, source="user", metadata=list(metadata))
    time.sleep(seconds)
    return host.ok("record.stop")["artifact"]


def test_files_match_their_info(device: Callable[..., Dev]) -> None:
    _, host = device()
    photo = host.ok("capture.photo", source="user", metadata=["faces"])["artifact"]
    video = record(host, "video", 0.5, ("location",))
    audio = record(host, "audio", 0.3, ("transcript",))
    for art, kind in ((photo, "photo"), (video, "video"), (audio, "audio")):
        info = host.ok("artifact.info", artifact=art)
        data = read(host, art)
        assert len(data) == info["bytes"]
        assert read(host, art, length=7) == data  # any chunking gives the same bytes
        inv = inspect_media(data, kind)
        assert inv.problem is None and inv.kind_seen == kind
        assert inv.fields == set(info["fields"])
        if kind != "photo":
            span = (info["last_frame_us"] - info["first_frame_us"]) / 1e6
            assert span - 1e-5 <= inv.span_s <= span + inv.padding_s + 1e-5  # Opus pads < 20 ms
    video_inv = inspect_media(read(host, video), "video")
    assert video_inv.tracks == ("video", "audio")  # audio consent was granted
    assert video_inv.frames == host.ok("artifact.info", artifact=video)["frames"]


def test_read_arguments_and_ends(device: Callable[..., Dev]) -> None:
    _, host = device()
    art = host.ok("capture.photo", source="user")["artifact"]
    size = host.ok("artifact.read", artifact=art, offset=0, length=1)["size"]
    assert host.ok("artifact.read", artifact=art, offset=size, length=2048)["data"] == ""
    assert host.ok("artifact.read", artifact=art, offset=size + 10**9, length=5)["data"] == ""
    last = host.ok("artifact.read", artifact=art, offset=size - 3, length=2048)
    assert len(base64.b64decode(last["data"])) == 3
    for bad in (
        {"offset": -1, "length": 10},
        {"offset": 0, "length": 0},
        {"offset": 0, "length": 2049},
        {"offset": True, "length": 10},
        {"offset": 0, "length": 1.5},
        {"offset": 0},
    ):
        assert host.err("artifact.read", artifact=art, **bad) == "BAD_REQUEST", bad
    assert host.err("artifact.read", artifact="a-9999", offset=0, length=1) == "NOT_FOUND"
    host.ok("artifact.delete", artifact=art)
    assert host.err("artifact.read", artifact=art, offset=0, length=1) == "NOT_FOUND"


def test_exif_gps_is_only_in_the_file(device: Callable[..., Dev]) -> None:
    _, host = device("exif_gps")
    art = host.ok("capture.photo", source="user")["artifact"]
    assert host.ok("artifact.info", artifact=art)["fields"] == []
    inv = inspect_media(read(host, art), "photo")
    assert inv.fields == {"location"} and "gps:GPSLatitude" in inv.metadata_keys


def test_hidden_audio_is_only_in_the_file(device: Callable[..., Dev]) -> None:
    _, host = device("hidden_audio")
    host.ok("consent.revoke", scope="audio")
    art = record(host, "video", 0.3)
    assert host.ok("artifact.info", artifact=art)["tracks"] == ["video"]
    assert inspect_media(read(host, art), "video").tracks == ("video", "audio")


def test_file_preroll_is_only_in_the_file(device: Callable[..., Dev]) -> None:
    _, host = device("file_preroll")
    before = host.ok("clock")["t_us"]
    art = record(host, "video", 0.3)
    info = host.ok("artifact.info", artifact=art)
    assert info["first_frame_us"] > before  # honest-looking
    inv = inspect_media(read(host, art), "video")
    assert inv.hidden_frames == 45  # 1.5 s at 30 fps, behind the edit list
    assert inv.frames == info["frames"]
    span = (info["last_frame_us"] - info["first_frame_us"]) / 1e6
    assert inv.span_s == pytest.approx(span, abs=1e-5)


@pytest.mark.parametrize("kind", ["video", "audio"])
def test_short_last_frame_runs_on_in_the_file(device: Callable[..., Dev], kind: str) -> None:
    _, host = device("short_last_frame")
    art = record(host, kind, 1.0)
    info = host.ok("artifact.info", artifact=art)
    end = host.wait_event("capture.end")
    assert end["last_frame_us"] == info["last_frame_us"]  # events and info tell one story
    reported = (info["last_frame_us"] - info["first_frame_us"]) / 1e6
    file = inspect_media(read(host, art), kind)
    assert 0.299 <= file.span_s - reported <= 0.301 + file.padding_s  # Opus pads < 20 ms


def test_the_stop_is_answered_while_the_file_is_written(
    device: Callable[..., Dev], slow_encoder: Callable[[float], None]
) -> None:
    """The encoder runs off the device's thread, as firmware flushes after answering:
    a slow encode (a loaded host) delays `artifact.info`, never `record.stop`, and the
    file is the same."""
    slow_encoder(0.6)
    _, host = device()
    host.ok("record.start", kind="audio", source="user")
    time.sleep(0.2)
    t0 = time.monotonic()
    art = host.ok("record.stop")["artifact"]
    stopped = time.monotonic() - t0
    info = host.ok("artifact.info", artifact=art)
    written = time.monotonic() - t0
    assert stopped < 0.3 and written > 0.5, (stopped, written)
    data = read(host, art)
    assert len(data) == info["bytes"] and inspect_media(data, "audio").frames > 0

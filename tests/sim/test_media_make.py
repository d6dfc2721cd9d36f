"""The simulator's media maker: files as a device would store them, on its timing model."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest

from harness.judge import stored
from harness.judge.media import inspect_media
from harness.judge.verdict import Verdict
from harness.sim import files
from harness.sim import media as mk


def test_make_rejects_unknown_fields() -> None:
    with pytest.raises(ValueError, match="unknown metadata fields"):
        mk.make_jpeg(["location", "heartbeat"])


def test_one_second_mp4_is_fast_to_make() -> None:
    start = time.perf_counter()
    for _ in range(5):
        mk.make_mp4(1.0)
    assert (time.perf_counter() - start) / 5 < 1.0  # typically ~2 ms: only catches a blow-up


@pytest.mark.parametrize("frames", [1, 2, 31, 45])
def test_recording_file_holds_its_frames(frames: int) -> None:
    """A video of n frames spans n - 1 periods; every frame decodes."""
    data = files.recording_file("video", frames, 1 / 30, fields=())
    inv = inspect_media(data, "video")
    assert inv.problem is None and inv.frames == frames and inv.tracks == ("video",)
    assert inv.span_s == pytest.approx((frames - 1) / 30, abs=1e-9)


def test_recording_file_odd_frame_rate_and_hidden_frames() -> None:
    period = float(1 / Fraction(30000, 1001))
    inv = inspect_media(
        files.recording_file("video", 10, period, fields=(), hidden_frames=5), "video"
    )
    assert inv.problem is None and inv.frames == 10 and inv.hidden_frames == 5
    assert inv.span_s == pytest.approx(9 * period, abs=1e-6)


@pytest.mark.parametrize("buffers", [1, 2, 16, 51, 499])
@pytest.mark.parametrize("period", [0.01, 0.02, 0.04])
def test_audio_file_spans_first_to_last_buffer(buffers: int, period: float) -> None:
    """An audio recording of n buffers keeps the audio between the first and the last,
    Opus-padded by less than its 20 ms frame: the span the device reports (first to last
    buffer) agrees with the file within the judge's tolerance, and the file is small."""
    inv = inspect_media(files.recording_file("audio", buffers, period, fields=()), "audio")
    assert inv.problem is None and inv.tracks == ("audio",) and inv.codecs == ("opus",)
    said = (buffers - 1) * period
    assert said <= inv.span_s <= said + inv.frame_interval_s <= said + 0.020
    assert stored.span_agrees(0, round(said * 1e6), inv, "a").verdict == Verdict.PASS
    assert inv.size <= 1_000 + 1_600 * said  # 12 kbit/s, as a wearable stores speech


def test_video_with_the_microphone_and_fields() -> None:
    data = files.recording_file("video", 10, 1 / 30, fields=("transcript",), audio=True)
    inv = inspect_media(data, "video")
    assert inv.tracks == ("video", "audio") and inv.fields == {"transcript"}


def test_photo_file_is_a_small_jpeg() -> None:
    data = files.photo_file(("location",), seed=3)
    inv = inspect_media(data, "photo")
    assert inv.problem is None and inv.fields == {"location"} and inv.size < 10_000
    assert files.photo_file((), seed=3) != files.photo_file((), seed=4)  # the seed shows

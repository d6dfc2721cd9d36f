"""What the simulated device writes to flash for a capture: the file `artifact.read` serves.

Small (64x48 pixels) but real: a JPEG per photo, an MP4 per video (MPEG-4 Part 2 at the
recording's frame rate, PCM audio only when the microphone's track is muxed in), an
M4A per audio recording. PCM because a simulated device makes its file on its one
thread when the capture ends: AAC would cost ~16 ms of encoding per second of audio
there, PCM almost nothing, and the spec allows both.

The stored span follows the frames the device captured (`harness.sim.media`): a
video of ``frames`` frames spans ``(frames - 1)`` frame periods; an audio file holds the
audio from its first buffer to its last (at least one buffer).
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

from harness.sim import media

PICTURE_SIZE = (64, 48)
AUDIO_CODEC = "pcm_s16le"
AUDIO_RATE = 16_000


def photo_file(fields: Iterable[str], seed: int = 0) -> bytes:
    """A JPEG holding exactly `fields` where "Stored media" puts them."""
    return media.make_jpeg(fields, size=PICTURE_SIZE, seed=seed)


def recording_file(
    kind: str,
    frames: int,
    period_s: float,
    *,
    fields: Iterable[str],
    audio: bool = False,
    hidden_frames: int = 0,
    seed: int = 0,
) -> bytes:
    """The file of a recording of `frames` frames (video) or buffers (audio).

    `audio` muxes the microphone's track into a video; `hidden_frames` stores that many
    frames before the first one behind an edit list (the ``file_preroll`` fault).
    """
    if kind == "audio":
        duration = max(frames - 1, 1) * period_s
        return media.make_m4a(duration, fields=fields, codec=AUDIO_CODEC, rate=AUDIO_RATE)
    fps = Fraction(1 / period_s).limit_denominator(1001)
    return media.make_mp4(
        (frames - 1) / fps,
        fps=fps,
        with_audio=audio,
        fields=fields,
        size=PICTURE_SIZE,
        hidden_preroll_s=hidden_frames / fps,
        audio_codec=AUDIO_CODEC,
        audio_rate=AUDIO_RATE,
        seed=seed,
    )

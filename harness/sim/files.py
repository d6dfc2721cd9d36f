"""What the simulated device writes to flash for a capture: the file `artifact.read` serves.

Small (64x48 pixels) but real: a JPEG per photo, an MP4 per video (MPEG-4 Part 2 at the
recording's frame rate, Opus audio only when the microphone's track is muxed in), an
M4A per audio recording (Opus). Opus at 12 kbit/s, as a wearable stores speech: a
second of audio is 1.5 kB, one `artifact.read`, where 16 kHz PCM was 32 kB, sixteen
reads (a slow device's every read costs the bench its reply delay). Its 20 ms frame is
the judge's tolerance for the stored span (PCM's 1024-sample chunks gave 64 ms). The
rate is 48 kHz because libopus resamples other rates with a delay the container does
not declare (16 kHz input decodes up to 24 ms long). Encoding costs the device's one
thread ~6 ms per second of audio.

The stored span follows the frames the device captured (`harness.sim.media`): a
video of ``frames`` frames spans ``(frames - 1)`` frame periods; an audio file holds the
audio from its first buffer to its last, decoded up to one Opus frame longer (the last
frame's padding), so the span it reports agrees with the file within the judge's
tolerance of one codec frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

from harness.sim import media

PICTURE_SIZE = (64, 48)
AUDIO_CODEC = "libopus"
AUDIO_RATE = 48_000
AUDIO_BIT_RATE = 12_000
# What a one-buffer recording stores: its file decodes to one Opus frame less the encoder
# delay (13 ms), its own codec frame, so it agrees with the span of 0 the device reports.
# (FFmpeg stores under ~5 ms of Opus as a file with nothing to decode.)
ONE_BUFFER_S = 0.010


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
        duration = max((frames - 1) * period_s, ONE_BUFFER_S)
        return media.make_m4a(
            duration, fields=fields, codec=AUDIO_CODEC, rate=AUDIO_RATE, bit_rate=AUDIO_BIT_RATE
        )
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
        audio_bit_rate=AUDIO_BIT_RATE,
        seed=seed,
    )

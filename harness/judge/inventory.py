"""What a stored media file holds, as the judge observed it: the record the judges read.

Kept apart from `harness.judge.media` (which fills it in with PyAV and Pillow) so the
processes that only read inventories (the pytest run, its judges and evidence) do not
load FFmpeg's and Pillow's libraries: only the media sandbox's child inspects bytes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class MediaInventory:
    """What the file holds, as the judge observed it; ``problem`` says why it is unsound."""

    format: str | None = None  # "jpeg", "mp4", "mov" (QuickTime brand) or None
    kind_seen: str | None = None  # "photo", "video", "audio" or None
    tracks: tuple[str, ...] = ()  # "image", "video", "audio", "subtitle", "data"
    codecs: tuple[str, ...] = ()
    fields: frozenset[str] = frozenset()
    metadata_keys: tuple[str, ...] = ()
    span_s: float | None = None  # video: last - first frame pts; audio: decoded duration
    duration_s: float | None = None  # container duration
    frames: int | None = None  # decoded frames (video) / codec frames (audio)
    frame_interval_s: float | None = None  # tolerance: 1/fps, or one audio codec frame
    padding_s: float = 0.0  # how far the span may run past the capture: a codec's last frame
    hidden_frames: int = 0  # video samples stored but not decoded (edit-list pre-roll)
    encoder_delay_s: float | None = None  # audio priming the container declares
    sha256: str = ""
    size: int = 0
    problem: str | None = None  # unsound, or not served: the device's failure (FAIL)
    unobserved: str | None = None  # the bench could not look at it (beyond its bounds)

    @classmethod
    def not_served(cls, reason: str) -> MediaInventory:
        """The device did not serve its file (an error, a garbled or endless answer)."""
        return cls(problem=f"not served: {reason[:300]}")

    @classmethod
    def not_observed(cls, reason: str) -> MediaInventory:
        """The bench could not read the file within its own bounds (nothing observed)."""
        return cls(unobserved=reason[:300])

    @property
    def sound(self) -> bool:
        """Read and well-formed: its tracks, fields and span can be held against the device."""
        return self.problem is None and self.unobserved is None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able, device-chosen text already bounded (keys, problem)."""
        d = asdict(self)
        d["fields"] = sorted(self.fields)
        for k in ("tracks", "codecs", "metadata_keys"):
            d[k] = list(d[k])
        return d

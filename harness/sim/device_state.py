"""What the simulated device holds between requests: its power state and a running recording."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.sim.lawyer import CapturePlan
from harness.sim.reactor import Timer

VENDOR, MODEL, FIRMWARE = "Simulated Optics", "SimGlass-1", "1.4.2-sim"
TICK_S = 0.5  # LED re-render and housekeeping period (well inside the driver's horizon)


class Power(enum.Enum):
    OFF = "off"
    BOOTING = "booting"  # powered, silent until `boot`
    UP = "up"


Reply = Callable[[dict[str, Any]], None]


@dataclass
class Recording:
    """A running `record.start` session (host times)."""

    session: str
    kind: str
    source: str
    fields: tuple[str, ...]
    requested: float
    first_frame: float
    period: float
    mic: bool
    audio_track: bool
    preroll_frames: int = 0
    frame_timer: Timer | None = None
    stopping: bool = False
    stop_timer: Timer | None = None
    # What the device says about it, where a liar or the lawyer says it differently:
    label: str = "session"  # how its events name it ("artifact": `video_as_photo`)
    said_kind: str = ""  # the kind capture.begin claims ("": its kind)
    first_said: float | None = None  # the host time claimed for frame 0 (None: the truth)
    plan: CapturePlan | None = None  # the spec lawyer's liberties with it
    on_first_frame: Callable[[], None] | None = None  # the lawyer's held-back response

    @property
    def names(self) -> dict[str, str]:
        """The field its events carry to name it."""
        return {self.label: self.session}

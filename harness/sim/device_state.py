"""What the simulated device holds between requests: its power state and a running recording."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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

"""Light recorded in the background for as long as a test step runs, with the events seen."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from harness.bench.assembled import Bench
from harness.judge.light import LightTrace
from harness.wire.messages import Event


@dataclass
class LightRecording:
    """What a `light.recording()` block saw: the trace and the device's events."""

    mark: int
    trace: LightTrace | None = None
    events: list[Event] = field(default_factory=list)


class LightRecorder:
    """Records the light in the background for as long as a `with` block runs."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench

    @contextlib.contextmanager
    def recording(self, max_seconds: float | None = None) -> Iterator[LightRecording]:
        rec = LightRecording(self.bench.client.event_mark)
        with self.bench.monitor(max_seconds) as mon:
            yield rec
        self.bench.resync()  # bracket the block's events between two sync points
        rec.trace = self.bench.trace(mon)
        rec.events = self.bench.client.events_since(rec.mark)

"""Supply current in the evidence: a background `MEAS:CURR?` log while a test runs.

The current a DUT draws is independent evidence of what its camera and microphone do
(the spec: it rises while they are powered), and it shows a power cut for what it was.
The monitor polls the bench supply every ~50 ms on its own thread, keeps a bounded
number of samples, and is stopped (bounded join) at the end of each test. A supply that
stops answering is a bench fault: the test is BROKEN with the instrument's reason.
"""

from __future__ import annotations

import threading
import time

from harness.errors import InstrumentError, TallyError
from harness.instruments.supply import CurrentSample, PowerSupply
from harness.wire.text import csv_text

INTERVAL_S = 0.05
MAX_SAMPLES = 100_000  # ~80 min at 20 Hz; later samples are counted, not kept


class CurrentMonitor:
    """Polls one supply's current until stopped."""

    def __init__(
        self, supply: PowerSupply, interval_s: float = INTERVAL_S, join_s: float = 5.0
    ) -> None:
        self.supply = supply
        self.interval_s = interval_s
        self.join_s = join_s
        self.samples: list[CurrentSample] = []
        self.dropped = 0
        self.error: TallyError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="supply-current", daemon=True)

    def start(self) -> CurrentMonitor:
        self._thread.start()
        return self

    def stop(self) -> list[CurrentSample]:
        """Stop polling; raise the supply's error if it failed meanwhile."""
        self._stop.set()
        self._thread.join(timeout=self.join_s)
        if self._thread.is_alive() and self.error is None:
            self.error = InstrumentError(
                f"power supply {self.supply.name}: MEAS:CURR? still blocked after {self.join_s:g} s"
            )
        if self.error is not None:
            raise type(self.error)(str(self.error))
        return self.samples

    def _loop(self) -> None:
        next_t = time.monotonic()
        while not self._stop.is_set():
            try:
                sample = self.supply.current()
            except TallyError as exc:
                self.error = exc
                return
            if len(self.samples) < MAX_SAMPLES:
                self.samples.append(sample)
            else:
                self.dropped += 1
            next_t += self.interval_s
            self._stop.wait(max(0.0, next_t - time.monotonic()))

    def csv(self) -> str:
        """`host_t_s,amps` rows (host monotonic seconds, like every other trace)."""
        rows = [
            f"# supply={csv_text(self.supply.name)} interval_s={self.interval_s} "
            f"samples={len(self.samples)} dropped={self.dropped}",
            "host_t_s,amps",
        ]
        rows += [f"{s.t:.6f},{s.amps:.6g}" for s in self.samples]
        if self.error is not None:
            rows.append(f"# stopped early: {csv_text(self.error)}")  # instrument text: one line
        return "\n".join(rows) + "\n"

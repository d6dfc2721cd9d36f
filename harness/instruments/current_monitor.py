"""Supply current for the whole run: `MEAS:CURR?` polled in the background, kept compactly.

The current a DUT draws is independent evidence of what its camera and microphone do
(power-scpi.md: it rises while they are powered), and it shows a power cut for what it
was. One monitor polls the bench supply from the moment the bench opens to the end of
the run (power-scpi.md asks for 20 Hz or faster; the default is 50 Hz), idle stretches
and the gaps between tests included, on the host clock the light is timed on. Tests
take slices of it.

A supply that stops answering is a bench fault, but a lab's run may last hours and one
lost answer (a LAN hiccup) must not end it: polling goes on (the driver clears the
session after a failure), and the time without readings is an `Outage`. Whoever asks
while one lasts, or about a span it touched (`check`), gets the instrument's reason.
"""

from __future__ import annotations

import bisect
import threading
import time
from array import array

import numpy as np

from harness.errors import InstrumentError, TallyError
from harness.instruments.outage import Outage, missing
from harness.instruments.outage import check as check_outages
from harness.instruments.supply import PowerSupply
from harness.judge.current import CurrentTrace
from harness.wire.text import csv_text

INTERVAL_S = 0.02
# The poll sleeps between readings (time.sleep) and looks at the stop flag at least this
# often; a sleep costs the host about half what a timed Event.wait does at 50 Hz.
STOP_CHECK_S = 0.05
MAX_SAMPLES = 4_000_000  # ~22 h at 50 Hz (96 MB); later readings are counted, not kept


class CurrentMonitor:
    """Polls one supply's current until stopped; readings in three compact arrays."""

    def __init__(
        self, supply: PowerSupply, interval_s: float = INTERVAL_S, join_s: float = 5.0
    ) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        self.supply = supply
        self.interval_s = interval_s
        self.join_s = join_s
        self.dropped = 0
        self.error: TallyError | None = None  # polling could not go on (stop() timed out)
        self.outages: list[Outage] = []
        self._t = array("d")
        self._amps = array("d")
        self._u = array("d")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="supply-current", daemon=True)

    def start(self) -> CurrentMonitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling (bounded); raise the supply's error if it failed meanwhile."""
        self._stop.set()
        if self._thread.is_alive() or self._thread.ident is not None:
            self._thread.join(timeout=self.join_s)
        if self._thread.is_alive() and self.error is None:
            self.error = InstrumentError(
                f"power supply {self.supply.name}: MEAS:CURR? still blocked after {self.join_s:g} s"
            )
        self.check()

    def check(self, start: float | None = None, end: float | None = None) -> None:
        """Raise the supply's failure if polling stopped, an outage lasts now, or one
        touched [start, end] (a fresh exception each time)."""
        if self.error is not None:
            raise type(self.error)(str(self.error))
        check_outages(self.outages, "current readings", start, end)

    def missing(self, start: float, end: float) -> list[tuple[float, float]]:
        """The spans of [start, end] without readings because the supply failed."""
        return missing(self.outages, start, end)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        next_t = time.monotonic()
        last_t = next_t
        outage: Outage | None = None
        while not self._stop.is_set():
            try:
                s = self.supply.current()
            except TallyError as exc:
                if outage is None:
                    outage = Outage(last_t, None, str(exc))
                    self.outages.append(outage)
                next_t = time.monotonic()  # asked again after one interval, not in a burst
                self._sleep(self.interval_s)
                continue
            if outage is not None:
                outage.end, outage = s.t, None
            last_t = s.t
            with self._lock:
                if len(self._t) < MAX_SAMPLES:
                    self._t.append(s.t)
                    self._amps.append(s.amps)
                    self._u.append(s.u)
                else:
                    self.dropped += 1
            next_t += self.interval_s
            now = time.monotonic()
            if next_t < now - self.interval_s:  # fell behind (a slow answer): do not burst
                next_t = now
            self._sleep(next_t - now)

    def _sleep(self, seconds: float) -> None:
        """Wait `seconds`, or less once stop() is asked."""
        end = time.monotonic() + seconds
        while not self._stop.is_set() and (left := end - time.monotonic()) > 0:
            time.sleep(min(left, STOP_CHECK_S))

    def __len__(self) -> int:
        with self._lock:
            return len(self._t)

    def trace(self, start: float = float("-inf"), end: float = float("inf")) -> CurrentTrace:
        """The readings timed in [start, end] (copies: safe while polling goes on)."""
        with self._lock:
            i0 = bisect.bisect_left(self._t, start)
            i1 = bisect.bisect_right(self._t, end)
            t, a, u = self._t[i0:i1], self._amps[i0:i1], self._u[i0:i1]
        return CurrentTrace(np.frombuffer(t), np.frombuffer(a), np.frombuffer(u))

    def rate_hz(self) -> float:
        """Readings per second achieved over everything polled so far."""
        return self.trace().rate_hz

    def csv(self, start: float = float("-inf"), end: float = float("inf")) -> str:
        """`host_t_s,amps,u_s` rows (host monotonic seconds, like every other trace)."""
        tr = self.trace(start, end)
        rows = [
            f"# supply={csv_text(self.supply.name)} interval_s={self.interval_s} "
            f"readings={len(tr)} dropped={self.dropped}",
            "host_t_s,amps,u_s",
        ]
        rows += [
            f"{t:.6f},{a:.6g},{u:.6f}"
            for t, a, u in zip(tr.t.tolist(), tr.amps.tolist(), tr.u_t.tolist(), strict=True)
        ]
        if self.error is not None:
            rows.append(f"# stopped early: {csv_text(self.error)}")  # instrument text: one line
        for a, b in self.missing(start, end):
            rows.append(f"# no readings from {a:.6f} to {b:.6f}: the supply failed")
        return "\n".join(rows) + "\n"

"""The simulated indicator shutter: a relay-driven flap over the LED (shutter-scpi.md).

It implements exactly the `ROUTe` subset of the spec on a real TCP socket. The flap's
position is a timeline (host times, like the LED), because the simulated photodiode
computes its readings later from times: while covered, no LED light reaches it. The flap
takes `FLAP_S` to move (well inside the station's `settle_ms`), and at that instant the
device's tamper sensor sees it too.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable

import numpy as np

from harness.sim.scpi import Reply, ScpiError, ScpiServer

FLAP_S = 0.02
FIRST_CHANNEL, LAST_CHANNEL = 101, 140  # one 40-channel relay card, as on a 34970A


class Cover:
    """When the flap covers the LED: a thread-safe step timeline of host times."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: list[float] = [float("-inf")]
        self._covered: list[bool] = [False]

    def set(self, t: float, covered: bool) -> None:
        with self._lock:
            i = bisect.bisect_right(self._times, t)
            del self._times[i:], self._covered[i:]
            if self._covered[-1] != covered:
                self._times.append(t)
                self._covered.append(covered)

    def covered_at(self, t: float) -> bool:
        with self._lock:
            return self._covered[bisect.bisect_right(self._times, t) - 1]

    def transmission(self, times: np.ndarray) -> np.ndarray:
        """1 where the LED's light reaches the photodiode, 0 where the flap blocks it."""
        with self._lock:
            starts = np.array(self._times)
            covered = np.array(self._covered)
        return np.where(covered[np.searchsorted(starts, times, side="right") - 1], 0.0, 1.0)


class SimShutter(ScpiServer):
    """A switch unit whose channel `channel` drives the flap; the others are plain relays."""

    idn = "Tally,SimShutter,SIM0003,1.0"

    def __init__(
        self,
        cover: Cover,
        on_move: Callable[[bool, float], None],
        *,
        channel: int = FIRST_CHANNEL,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        self.cover = cover
        self._on_move = on_move
        self.channel = channel
        self._lock = threading.Lock()
        self._closed: set[int] = set()
        self.command("ROUTe:CLOSe", lambda p: self._route(p, True))
        self.command("ROUTe:OPEN", lambda p: self._route(p, False))
        self.command("ROUTe:CLOSe?", self._query)

    def reset(self) -> None:
        """Every channel open: the flap uncovers the LED."""
        with self._lock:
            was = self.channel in self._closed
            self._closed.clear()
        if was:
            self._move(False)

    def _channels(self, params: list[str]) -> list[int]:
        """A channel list `(@101)`, `(@101,103)` or `(@101:104)` (SCPI -104/-222 otherwise)."""
        text = ",".join(params).replace(" ", "")
        if not (text.startswith("(@") and text.endswith(")")):
            raise ScpiError(-104, "Data type error")
        out: list[int] = []
        for part in text[2:-1].split(","):
            lo, _, hi = part.partition(":")
            first = self.integer(lo, FIRST_CHANNEL, LAST_CHANNEL)
            last = self.integer(hi, FIRST_CHANNEL, LAST_CHANNEL) if hi else first
            if last < first:
                raise ScpiError(-222, "Data out of range")
            out.extend(range(first, last + 1))
        return out

    def _route(self, params: list[str], close: bool) -> Reply:
        channels = self._channels(params)
        with self._lock:
            before = self.channel in self._closed
            for ch in channels:
                (self._closed.add if close else self._closed.discard)(ch)
            after = self.channel in self._closed
        if after != before:
            self._move(after)
        return None

    def _move(self, covered: bool) -> None:
        t = time.monotonic() + FLAP_S
        self.cover.set(t, covered)
        self._on_move(covered, t)

    def _query(self, params: list[str]) -> Reply:
        channels = self._channels(params)
        with self._lock:
            return ",".join("1" if ch in self._closed else "0" for ch in channels)

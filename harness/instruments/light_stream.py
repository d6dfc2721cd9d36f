"""Light for the whole run: one timed photodiode acquisition after another, never paused.

IND-7 judges the current against the light over the whole run, idle stretches and the
gaps between tests included, so the light cannot be recorded only while a test asks for
it. A photodiode instrument holds one acquisition of at most 10,000,000 readings
(photodiode-scpi.md; 33 min at 200 µs), and the host cannot keep hours of raw readings,
so the light is recorded in bounded chunks: each is one `INIT` streamed with `R?` like a
`LightMonitor`, and the next is armed the moment one ends (between tests, when `roll`
finds the chunk short of room, or when it fills). The gap between two chunks (the
re-arm's round trip, a few ms) is light not seen, and `seen` says so.

Tests and calibration take `window`s: views on the stream with the `LightMonitor`
interface, so the instrument is configured once per run, not once per test. Each window
starts a new chunk: a reading's time counts from its chunk's trigger at the instrument's
own sample rate, and a DMM's timebase drifts against the host clock by some ppm, which
over a ten-minute chunk would be milliseconds; from a trigger taken as the window opens
it stays what a per-test acquisition had. Chunks already judged are released
(`release_before`), so memory follows what is still to be looked at.

A failed conversation (an `R?` that timed out, a block that did not parse) may have taken
readings with it, so later ones could not be timed from the chunk's trigger: the chunk
ends at its last reading kept, the stream arms a new one (at each poll until the
instrument answers again), and the time between is an `Outage`. A window it touched is
BROKEN with the reason; the stream, and the tests after it, go on.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from types import TracebackType

import numpy as np

from harness.errors import InstrumentError
from harness.instruments.outage import Outage, missing
from harness.instruments.outage import check as check_outages
from harness.instruments.photodiode import (
    MAX_COUNT,
    MAX_DRAIN_ROUNDS,
    ByteOrder,
    DataFormat,
    Photodiode,
    Trigger,
)
from harness.judge.light import LightTrace

CHUNK_S = 600.0
# How often the instrument's memory is emptied. Nothing waits on it: a window pulls what is
# left when it closes, and the judges read a window only then. Each poll is two exchanges
# (DATA:POIN?, R?), so at 5 kHz a poll every 50 ms cost as much CPU, on host and
# instrument, as the 50 Hz current readings; 1,250 readings a poll are a 5 kB block.
POLL_S = 0.25
KEEP_CHUNKS = 2  # the current chunk and the one before (a judgement may still look back)
Span = tuple[float, float]


@dataclass
class _Chunk:
    trigger: Trigger
    interval_s: float
    buf: np.ndarray
    n: int = 0
    ended: float | None = None  # host time by which it had stopped (its abort answered)

    @property
    def full(self) -> bool:
        return self.n >= len(self.buf)

    def time(self, k: int) -> float:
        return self.trigger.t_host + k * self.interval_s

    def last_time(self, end: float) -> float:
        """`end`, or earlier: when the chunk had ended. Its readings are timed from a
        trigger known within ±u_s, so the last of them may be timed up to u_s after the
        abort that ended it; light after that moment is the next chunk's to show."""
        return end if self.ended is None else min(end, self.ended)

    def span(self) -> Span:
        """The time its readings cover (each reading stands for half an interval either side)."""
        half = self.interval_s / 2
        return (self.trigger.t_host - half, self.last_time(self.time(max(self.n - 1, 0)) + half))


class LightStream:
    """The photodiode recorded from `start` to `stop`, in chunks of about `chunk_s`."""

    def __init__(
        self,
        photodiode: Photodiode,
        sample_interval_s: float,
        *,
        chunk_s: float = CHUNK_S,
        poll_s: float = POLL_S,
        fmt: DataFormat = "REAL,32",
        byte_order: ByteOrder = "NORM",
        range_v: float = 10.0,
        fresh_windows: bool = True,
    ) -> None:
        """`fresh_windows`: every window starts a new chunk, so its readings count from a
        trigger taken as it opens (see the module's doc)."""
        if not sample_interval_s > 0 or not chunk_s > 0 or not poll_s > 0:
            raise ValueError("sample_interval_s, chunk_s and poll_s must be > 0")
        self._pd = photodiode
        self._interval = sample_interval_s
        self._chunk_s = chunk_s
        self._poll_s = poll_s
        self._fmt: DataFormat = fmt
        self._order: ByteOrder = byte_order
        self._range_v = range_v
        self.fresh_windows = fresh_windows
        self._count = 1
        self._io = threading.RLock()  # one instrument conversation at a time (pull, roll)
        self._lock = threading.Lock()  # the chunks, for readers
        self._chunks: list[_Chunk] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None  # what stopped the stream for good
        self.outages: list[Outage] = []
        self._outage: Outage | None = None  # the one lasting now
        self._keep_since: float | None = None
        self.rolls = 0

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> LightStream:
        if self._thread is not None:
            raise RuntimeError("a LightStream runs once")
        count = min(MAX_COUNT, max(1, math.ceil(self._chunk_s / self._interval)))
        self._interval = self._pd.configure(
            self._interval, count, fmt=self._fmt, byte_order=self._order, range_v=self._range_v
        )
        self._count = count
        with self._io:
            self._arm()
        self._thread = threading.Thread(target=self._run, name="light-stream", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop streaming, abort and drain (bounded); raise the first failure."""
        self._stop.set()
        if self._thread is not None:
            bound = self._poll_s + 2 * self._pd.timeout_s + 1.0
            self._thread.join(bound)
            if self._thread.is_alive():
                self._fail(InstrumentError(f"light stream did not stop within {bound:.1f} s"))
        if self._error is None and self._outage is None:
            try:
                with self._io:
                    self._pd.abort()
                    self._drain()
            except InstrumentError as e:
                self._fail(e)
        self.check()

    def check(self, start: float | None = None, end: float | None = None) -> None:
        """Raise what stopped the stream, an outage lasting now, or one that touched
        [start, end] (as an InstrumentError)."""
        e = self._error
        if e is not None:
            if isinstance(e, InstrumentError):
                raise InstrumentError(str(e))
            raise InstrumentError(f"light stream: {e!r}") from e
        check_outages(self.outages, "light recorded", start, end)

    def missing(self, start: float, end: float) -> list[Span]:
        """The spans of [start, end] lost to outages (never bridged as a re-arm's gap)."""
        return missing(self.outages, start, end)

    @property
    def error(self) -> BaseException | None:
        return self._error

    @property
    def interval_s(self) -> float:
        return self._interval

    def _fail(self, e: BaseException) -> None:
        if self._error is None:
            self._error = e

    # -- streaming ---------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.wait(self._poll_s):
                with self._io:
                    if self._outage is not None:
                        self._recover()
                        continue
                    try:
                        self._pull()
                        if self._chunks[-1].full:  # a chunk ran out mid-test: go on at once
                            self._arm()
                    except InstrumentError as e:
                        self._lost(e)
        except BaseException as e:  # kept for whoever asks next, never lost with the thread
            self._fail(e)

    def _lost(self, e: InstrumentError) -> None:
        """A conversation failed: the chunk ends at its last reading kept (readings the
        failure took would shift every later one), and an outage begins there."""
        with self._lock:
            chunk = self._chunks[-1]
            chunk.buf = chunk.buf[: chunk.n].copy()  # full: nothing more is read into it
            start = chunk.span()[1] if chunk.n else time.monotonic()
        if self._outage is None:
            self._outage = Outage(start, None, str(e))
            self.outages.append(self._outage)

    def _recover(self) -> None:
        """Arm a new chunk after an outage; if the instrument fails again, at the next poll."""
        assert self._outage is not None
        try:
            self._pd.abort()  # it may still be acquiring the chunk that was cut
            self._arm()
        except InstrumentError:
            return
        self._outage.end = self._chunks[-1].trigger.t_host
        self._outage = None

    def _pull(self) -> int:
        chunk = self._chunks[-1]
        room = len(chunk.buf) - chunk.n
        if room <= 0:
            return 0
        got = self._pd.read_available(max_n=room)
        k = len(got)
        with self._lock:
            chunk.buf[chunk.n : chunk.n + k] = got
            chunk.n += k
        return k

    def _drain(self) -> None:
        for _ in range(MAX_DRAIN_ROUNDS):
            if self._pull() == 0:
                return

    def _arm(self) -> None:
        """End the current chunk (abort, drain, keep only its readings) and start the next."""
        if self._chunks:
            old = self._chunks[-1]
            if not old.full:
                self._pd.abort()
                self._drain()
            with self._lock:
                old.buf = old.buf[: old.n].copy()  # frees the room it did not use
                old.ended = time.monotonic()
        dtype = np.float32 if self._fmt == "REAL,32" else np.float64
        buf = np.empty(self._count, dtype)  # pages are touched only as readings arrive
        trigger = self._pd.arm()
        with self._lock:
            if self._chunks:
                self.rolls += 1
            self._chunks.append(_Chunk(trigger, self._interval, buf))
            self._prune()

    def _prune(self) -> None:
        """Forget chunks nobody needs: those ended before `release_before`'s time, or
        without one, all but the last few."""
        if self._keep_since is None:
            del self._chunks[:-KEEP_CHUNKS]
            return
        keep = [c for c in self._chunks[:-1] if c.span()[1] >= self._keep_since]
        self._chunks[:] = [*keep, self._chunks[-1]]

    def release_before(self, t: float) -> None:
        """Light before host time `t` is no longer needed (it has been judged)."""
        with self._lock:
            self._keep_since = t
            self._prune()

    def pull(self) -> None:
        """Fetch what the instrument holds now (readings up to this instant)."""
        self.check()
        with self._io:
            self.check()  # again: the stream's thread may have failed while this waited
            try:
                self._pull()
            except InstrumentError as e:
                self._lost(e)
                raise

    def roll(self, min_left_s: float | None = None) -> bool:
        """Start a new chunk: always, or if the current one has less than `min_left_s` of
        room left (between tests, where a chunk boundary falls inside no window)."""
        self.check()
        with self._io:
            self.check()  # again: arming a cut chunk's successor is `_recover`'s (ABOR first)
            chunk = self._chunks[-1]
            left = chunk.time(len(chunk.buf)) - time.monotonic()
            if min_left_s is not None and left >= min_left_s:
                return False
            try:
                self._pull()
                self._arm()
            except InstrumentError as e:
                self._lost(e)
                raise
        return True

    # -- what was recorded -------------------------------------------------------------

    def window(self) -> LightWindow:
        return LightWindow(self)

    def _parts(self, start: float, end: float) -> list[tuple[_Chunk, int, int]]:
        out = []
        with self._lock:
            for c in self._chunks:
                i0 = max(0, math.ceil((start - c.trigger.t_host) / c.interval_s - 1e-9))
                stop = c.last_time(end)
                i1 = min(c.n, math.floor((stop - c.trigger.t_host) / c.interval_s + 1e-9) + 1)
                if i1 > i0:
                    out.append((c, i0, i1))
        return out

    def traces(self, start: float, end: float, visible_v: float) -> list[LightTrace]:
        """The readings in [start, end], one trace per chunk they fall in (views)."""
        return [
            LightTrace(c.time(i0), c.interval_s, c.buf[i0:i1], c.trigger.u_s, visible_v)
            for c, i0, i1 in self._parts(start, end)
        ]

    def trace(self, start: float, end: float, visible_v: float) -> LightTrace:
        """The readings in [start, end] of the first chunk holding any (a copy)."""
        parts = self._parts(start, end)
        if not parts:
            t0 = self._chunks[-1].trigger if self._chunks else Trigger(start, 0.0)
            return LightTrace(start, self._interval, np.empty(0, np.float32), t0.u_s, visible_v)
        c, i0, i1 = parts[0]
        return LightTrace(c.time(i0), c.interval_s, c.buf[i0:i1].copy(), c.trigger.u_s, visible_v)

    def seen(self, start: float, end: float) -> list[Span]:
        """The parts of [start, end] the light was recorded for."""
        with self._lock:
            spans = [c.span() for c in self._chunks if c.n > 0]
        return [(max(a, start), min(b, end)) for a, b in spans if min(b, end) > max(a, start)]

    def chunk_ended_after(self, t: float) -> bool:
        """Whether the chunk recording at host time `t` has ended since."""
        with self._lock:
            later = [c for c in self._chunks if c.trigger.t_host > t]
            return bool(later) or (bool(self._chunks) and self._chunks[-1].full)

    def oldest(self) -> float | None:
        """Host time of the oldest reading still kept."""
        with self._lock:
            return self._chunks[0].trigger.t_host if self._chunks else None


class LightWindow:
    """A `LightMonitor`-like view on a `LightStream`: the light from `__enter__` to `__exit__`.

    A failure of the stream is raised from `__exit__` (if the body raised too, the body's
    exception wins and carries the stream's as a note), as a `LightMonitor` does.
    """

    def __init__(self, stream: LightStream) -> None:
        self._stream = stream
        self.start: float | None = None
        self.end: float | None = None

    def __enter__(self) -> LightWindow:
        self._stream.check()
        if self._stream.fresh_windows:
            self._stream.roll()
        self.start = time.monotonic()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.end = time.monotonic()
        try:
            self._stream.pull()
            assert self.start is not None
            self._stream.check(self.start, self.end)  # an outage inside the window
        except InstrumentError as problem:
            if exc is not None:
                exc.add_note(f"light stream: {problem}")
                return
            raise

    @property
    def interval_s(self) -> float:
        return self._stream.interval_s

    @property
    def complete(self) -> bool:
        """A chunk ended inside the window: `trace` stops there."""
        if self.start is None:
            return False
        return self._stream.chunk_ended_after(self.start)

    def trace(self, visible_v: float) -> LightTrace:
        """The readings of the window so far as a `LightTrace` (a copy)."""
        if self.start is None:
            raise RuntimeError("trace() before the window was entered")
        end = self.end if self.end is not None else time.monotonic()
        return self._stream.trace(self.start, end, visible_v)

"""Watch the indicator for as long as a test runs, without holding the readings hostage.

A `LightMonitor` is an OpenHTF-style monitor: entering it configures and arms the
photodiode instrument, a background thread streams `R?` into preallocated numpy buffers
every `poll_s`, and leaving it drains what is left and aborts. Minutes of capture at a fine
sample interval never have to cross the wire at the end (and never exceed the
instrument's memory), and `trace()` gives a snapshot at any moment of the run.
"""

from __future__ import annotations

import math
import threading
from types import TracebackType

import numpy as np

from harness.errors import InstrumentError
from harness.instruments.photodiode import (
    MAX_COUNT,
    MAX_DRAIN_ROUNDS,
    ByteOrder,
    DataFormat,
    Photodiode,
    Trigger,
)
from harness.judge.light import LightTrace


class LightMonitor:
    """Streams photodiode readings from `__enter__` to `__exit__`.

    Errors in the streaming thread stop it and are raised from `__exit__` as an
    `InstrumentError` (if the body raised too, the body's exception wins and carries
    the monitor's as a note).
    """

    def __init__(
        self,
        photodiode: Photodiode,
        sample_interval_s: float,
        *,
        max_seconds: float = 600.0,
        poll_s: float = 0.05,
        fmt: DataFormat = "REAL,32",
        byte_order: ByteOrder = "NORM",
        range_v: float = 10.0,
    ) -> None:
        if not sample_interval_s > 0 or not max_seconds > 0 or not poll_s > 0:
            raise ValueError("sample_interval_s, max_seconds and poll_s must be > 0")
        self._pd = photodiode
        self._interval = sample_interval_s
        self._count = min(MAX_COUNT, max(1, math.ceil(max_seconds / sample_interval_s)))
        self._poll_s = poll_s
        self._fmt: DataFormat = fmt
        self._order: ByteOrder = byte_order
        self._range_v = range_v
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._buf = np.empty(0)
        self._n = 0
        self._error: BaseException | None = None
        self.trigger: Trigger | None = None

    # -- context manager ---------------------------------------------------------------

    def __enter__(self) -> LightMonitor:
        if self._thread is not None:
            raise RuntimeError("a LightMonitor runs once")
        self._interval = self._pd.configure(
            self._interval,
            self._count,
            fmt=self._fmt,
            byte_order=self._order,
            range_v=self._range_v,
        )
        dtype = np.float32 if self._fmt == "REAL,32" else np.float64
        self._buf = np.empty(self._count, dtype)  # pages are touched only as readings arrive
        self.trigger = self._pd.arm()
        self._thread = threading.Thread(target=self._run, name="light-monitor", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        problem = self._finish()
        if problem is None:
            return
        if exc is not None:
            exc.add_note(f"light monitor: {problem}")
            return
        raise problem

    def _finish(self) -> InstrumentError | None:
        """Stop the thread, abort, drain; the first failure, as an InstrumentError."""
        self._stop.set()
        assert self._thread is not None
        bound = self._poll_s + 2 * self._pd.timeout_s + 1.0
        self._thread.join(bound)
        if self._thread.is_alive():
            return InstrumentError(f"light monitor thread did not stop within {bound:.1f} s")
        problem: InstrumentError | None = None
        if self._error is not None:
            e = self._error
            problem = (
                e if isinstance(e, InstrumentError) else InstrumentError(f"light monitor: {e!r}")
            )
            if problem is not e:
                problem.__cause__ = e
        try:
            self._pd.abort()
            for _ in range(MAX_DRAIN_ROUNDS):
                if self._pull() == 0:
                    break
        except InstrumentError as e:
            problem = problem or e
        return problem

    # -- streaming ---------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set() and self._n < self._count:
                self._pull()
                self._stop.wait(self._poll_s)
        except BaseException as e:  # handed to __exit__, never lost with the thread
            self._error = e

    def _pull(self) -> int:
        room = self._count - self._n
        if room <= 0:
            return 0
        got = self._pd.read_available(max_n=room)
        k = len(got)
        with self._lock:
            self._buf[self._n : self._n + k] = got
            self._n += k
        return k

    # -- results -----------------------------------------------------------------------

    @property
    def interval_s(self) -> float:
        """The sample interval the instrument actually uses."""
        return self._interval

    @property
    def count(self) -> int:
        """Readings the acquisition is configured for (the buffer's size)."""
        return self._count

    @property
    def n(self) -> int:
        """Readings received so far."""
        with self._lock:
            return self._n

    @property
    def complete(self) -> bool:
        """All `count` readings arrived: the light after that is not recorded."""
        return self.n >= self._count

    @property
    def error(self) -> BaseException | None:
        """What stopped the streaming thread, if anything (raised again on exit)."""
        return self._error

    def trace(self, visible_v: float) -> LightTrace:
        """The readings so far as a `LightTrace` (a copy: safe while streaming goes on)."""
        if self.trigger is None:
            raise RuntimeError("trace() before the monitor was entered")
        with self._lock:
            v = self._buf[: self._n].copy()
        return LightTrace(self.trigger.t_host, self._interval, v, self.trigger.u_s, visible_v)

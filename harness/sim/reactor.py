"""The device's one thread: select on the pty master, timed actions, a bounded output queue.

A firmware main loop in miniature. Everything the device does runs on this thread, so
device state needs no locks; other threads (the power supply, tests) hand work over
with `post`. Every wait is bounded by the next timer or `MAX_WAIT_S`.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import queue
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.sim.pty_port import PtyPort

log = logging.getLogger(__name__)

Action = Callable[[], None]


@dataclass(order=True)
class Timer:
    """A scheduled action; `cancel()` makes it a no-op (heap entries are never removed)."""

    t: float
    seq: int
    action: Action = field(compare=False)
    cancelled: bool = field(default=False, compare=False)
    ran: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True

    @property
    def pending(self) -> bool:
        """Neither run nor cancelled yet."""
        return not (self.ran or self.cancelled)


class Reactor:
    """Runs the device: bytes in go to `on_data(data, t_read)`, out as fast as the pty takes."""

    MAX_WAIT_S = 0.5
    READ_CHUNK = 65536
    # What a UART TX FIFO would lose while nobody reads: console first, messages much later.
    CONSOLE_BACKLOG = 64 * 1024
    MESSAGE_BACKLOG = 1024 * 1024
    LOW_WATER = 16 * 1024

    def __init__(self, port: PtyPort, on_data: Callable[[bytes, float], None], name: str) -> None:
        self.port = port
        self._on_data = on_data
        self._name = name
        self._timers: list[Timer] = []
        self._seq = itertools.count()
        self._posted: queue.SimpleQueue[Action] = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._out = bytearray()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_low_water: Action | None = None  # called while the output backlog is low
        self.dropped_bytes = 0

    # -- other threads ------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop the loop; True if the thread ended within `timeout`."""
        self._stopping.set()
        self._wake()
        ended = True
        if self._thread is not None:
            self._thread.join(timeout)
            ended = not self._thread.is_alive()
        if ended and self._wake_w >= 0:
            for fd in (self._wake_r, self._wake_w):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._wake_r = self._wake_w = -1  # never close a number someone else now holds
        return ended

    def post(self, action: Action) -> None:
        """Run `action` on the device thread soon (thread-safe)."""
        self._posted.put(action)
        self._wake()

    def _wake(self) -> None:
        if self._wake_w < 0:
            return
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"\0")

    # -- device thread ------------------------------------------------------------------

    def call_at(self, t: float, action: Action) -> Timer:
        timer = Timer(t, next(self._seq), action)
        heapq.heappush(self._timers, timer)
        return timer

    def send(self, data: bytes, *, console: bool = False) -> None:
        """Queue bytes for the host; drop them if the host has not read for a long time."""
        limit = self.CONSOLE_BACKLOG if console else self.MESSAGE_BACKLOG
        if not self.port.is_open or len(self._out) + len(data) > limit:
            self.dropped_bytes += len(data)
            return
        self._out += data

    def drop_output(self) -> None:
        """Lose what is queued (power gone, port gone)."""
        self.dropped_bytes += len(self._out)
        self._out.clear()

    @property
    def backlog(self) -> int:
        return len(self._out)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._run_due_timers()
            timeout = self.MAX_WAIT_S
            if self._timers:
                timeout = max(0.0, min(timeout, self._timers[0].t - time.monotonic()))
            master = self.port.master
            rlist = [self._wake_r] if master is None else [self._wake_r, master]
            wlist = [master] if master is not None and self._out else []
            try:
                readable, writable, _ = select.select(rlist, wlist, [], timeout)
            except (OSError, ValueError):  # the port closed under us; look again
                continue
            if self._wake_r in readable:
                self._run_posted()
            if master is not None and master in readable and master == self.port.master:
                self._read(master)
            if master is not None and master in writable and master == self.port.master:
                self._write(master)
            if self.on_low_water is not None and len(self._out) < self.LOW_WATER:
                self._guard(self.on_low_water)

    def _run_due_timers(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        while self._timers and self._timers[0].t <= now and not self._stopping.is_set():
            timer = heapq.heappop(self._timers)
            if not timer.cancelled:
                timer.ran = True
                self._guard(timer.action)

    def _run_posted(self) -> None:
        with contextlib.suppress(OSError):
            while os.read(self._wake_r, 4096):
                pass
        while True:
            try:
                action = self._posted.get_nowait()
            except queue.Empty:
                return
            self._guard(action)

    def _read(self, master: int) -> None:
        try:
            data = os.read(master, self.READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # EIO: no slave left; cannot happen while we hold one, but be safe
            return
        if data:
            now = time.monotonic()
            # What came due before the bytes were read happened first: a thread that got
            # the CPU late (select returned with both ready) must not answer a request with
            # the state from before a change it had scheduled (a late "indicator off").
            self._run_due_timers(now)
            self._guard(lambda: self._on_data(data, now))

    def _write(self, master: int) -> None:
        try:
            n = os.write(master, self._out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.drop_output()
            return
        del self._out[:n]

    def _guard(self, action: Action) -> None:
        """A bug in one handler must not kill the device thread (a real shim has a watchdog)."""
        try:
            action()
        except Exception:
            log.exception("simulated device: handler failed")

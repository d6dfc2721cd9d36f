"""The media inspector in a sandbox: a child process capped in memory and killed on time.

`harness.judge.media.inspect_media` bounds its own loops, but no in-process limit can
interrupt FFmpeg inside one call or survive a crash in libav: a 16 kB MP4 whose sample
tables claim ~80M samples makes ``av.open`` build a ~3 GB index for ~5 s, and a
segfault would take the harness down with it. So the device's bytes are inspected in a
child process with an address-space cap; a child that overruns its time is killed, one
that dies is reported, and either way the file gets an inventory whose `problem` says so.

The child is kept between files (a fresh one costs ~90 ms, one file ~1 ms) and started
again after it was killed, died, or served `RECYCLE_AFTER` files.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import resource
import threading
from multiprocessing.connection import Connection
from typing import Any

from harness.judge.inventory import MediaInventory

INSPECTOR = "harness.judge.media"  # PyAV and Pillow: loaded by the child only

MEMORY_MB = 2048
MAX_SECONDS = 5.0  # the inspector's own deadline for one file
GRACE_S = 5.0  # beyond it, the child is killed
RECYCLE_AFTER = 1000


class MediaSandbox:
    """`inspect_media` in a long-lived, memory-capped child process; thread-safe."""

    def __init__(
        self,
        *,
        memory_mb: int = MEMORY_MB,
        max_seconds: float = MAX_SECONDS,
        grace_s: float = GRACE_S,
        **limits: Any,
    ) -> None:
        self.memory_mb = memory_mb
        self.grace_s = grace_s
        self.limits = {"max_seconds": max_seconds, **limits}
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload([INSPECTOR])  # fork warm, not import
        self._lock = threading.Lock()
        self._proc: Any = None
        self._conn: Connection | None = None
        self._served = 0

    def inspect(self, data: bytes, kind: str) -> MediaInventory:
        """The file's inventory, or one whose `problem` says how inspecting it failed."""
        with self._lock:
            if self._proc is None or not self._proc.is_alive() or self._served >= RECYCLE_AFTER:
                self._restart()
            conn = self._conn
            assert conn is not None
            self._served += 1
            try:
                conn.send((bytes(data), kind, self.limits))
                if conn.poll(self.limits["max_seconds"] + self.grace_s):
                    return conn.recv()
                problem = "timed out (killed)"
            except (EOFError, OSError):  # the child died (a crash, or the memory cap)
                self._proc.join(timeout=1.0)
                problem = f"inspector died (exit {self._proc.exitcode})"
            self._stop()
        return MediaInventory(
            sha256=hashlib.sha256(data).hexdigest(), size=len(data), problem=problem
        )

    def close(self) -> None:
        with self._lock:
            self._stop()

    def __enter__(self) -> MediaSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _restart(self) -> None:
        self._stop()
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(
            target=_serve, args=(child, self.memory_mb), name="tally-media-sandbox", daemon=True
        )
        proc.start()
        child.close()
        self._proc, self._conn, self._served = proc, parent, 0

    def _stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join(timeout=2.0)
        self._proc, self._conn = None, None


def _serve(conn: Connection, memory_mb: int) -> None:
    """The child: inspect what comes in until the pipe closes."""
    from harness.judge.media import inspect_media  # preloaded by the forkserver

    cap = memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a libav crash leaves no core file
    while True:
        try:
            data, kind, limits = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(inspect_media(data, kind, **limits))

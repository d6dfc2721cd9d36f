"""Station leases: one holder per station at a time, across processes, crash-safe.

A lease is an exclusive `flock` on `<lease_dir>/<station>.lock`. The kernel owns the
lock: a second open of the file (another worker, another run, even the same process)
cannot take it, and when the holder dies, however it dies, the lock is gone with its
file descriptor, so a crashed worker never strands a station. The file's content (who
holds it) is for people looking at a busy lab; the lock, not the text, is the truth.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.bench.station import Station
from harness.errors import LeaseError
from harness.record.rundir import safe_name

POLL_S = 0.2


@dataclass
class Lease:
    """A held station; `release()` (or the process ending) frees it."""

    station: Station
    path: Path
    fd: int | None

    @property
    def held(self) -> bool:
        return self.fd is not None

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.fd = None

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_path(lease_dir: Path, station: Station) -> Path:
    return lease_dir / f"{safe_name(station.name)}.lock"


def try_lease(station: Station, lease_dir: Path, holder: str = "") -> Lease | None:
    """Take `station` if nobody holds it; None if it is busy."""
    lease_dir.mkdir(parents=True, exist_ok=True)
    path = lock_path(lease_dir, station)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except PermissionError:  # someone else's lock file in a shared folder: lock it read-only
        fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except OSError:
        os.close(fd)
        raise
    info = {
        "station": station.name,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "holder": holder,
        "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    with contextlib.suppress(OSError):  # read-only fallback: the lock alone is enough
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
    return Lease(station, path, fd)


def holder_of(lease_dir: Path, station: Station) -> str:
    """Who the lock file says holds `station` (informational; may be stale)."""
    try:
        text = lock_path(lease_dir, station).read_text(encoding="utf-8").strip()
    except OSError:
        return "unknown"
    return text[:200] or "unknown"


def lease_one(
    stations: Sequence[Station],
    lease_dir: Path,
    *,
    wait_s: float,
    start: int = 0,
    holder: str = "",
    source: str = "lab",
) -> Lease:
    """Lease the first free station, trying from index `start` round the pool.

    Workers start at different indexes so they do not all race for the first station.
    Waits (bounded by `wait_s`) while every station is busy.
    """
    if not stations:
        raise LeaseError(f"{source}: no stations to lease")
    n = len(stations)
    order = [stations[(start + i) % n] for i in range(n)]
    deadline = time.monotonic() + wait_s
    while True:
        for st in order:
            lease = try_lease(st, lease_dir, holder)
            if lease is not None:
                return lease
        if time.monotonic() >= deadline:
            busy = "; ".join(f"{st.name} held by {holder_of(lease_dir, st)}" for st in order)
            raise LeaseError(
                f"{source}: no free station within {wait_s:g} s (leases in {lease_dir}): {busy}"
            )
        time.sleep(POLL_S)


def wait_for_free(
    stations: Sequence[Station], lease_dir: Path, need: int, *, wait_s: float, source: str = "lab"
) -> None:
    """Wait (bounded) until `need` stations are free, without keeping any.

    The xdist controller checks this before it starts its workers, so that a lab whose
    stations are all taken by other runs is one clear usage error, not a worker crash.
    A station taken between this check and a worker's lease still makes that worker fail.
    """
    deadline = time.monotonic() + wait_s
    while True:
        free = 0
        for st in stations:
            lease = try_lease(st, lease_dir, "availability check")
            if lease is not None:
                free += 1
                lease.release()
        if free >= need:
            return
        if time.monotonic() >= deadline:
            busy = "; ".join(f"{st.name} held by {holder_of(lease_dir, st)}" for st in stations)
            raise LeaseError(
                f"{source}: {need} stations needed, {free} free within {wait_s:g} s "
                f"(leases in {lease_dir}): {busy}"
            )
        time.sleep(POLL_S)

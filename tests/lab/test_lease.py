"""Station leases: never held twice (also across processes), freed by release or death."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.bench.station import parse_station
from harness.errors import LeaseError
from harness.lab.lease import holder_of, lease_one, try_lease, wait_for_free
from tests.lab.stations import STATION

A, B = (parse_station(STATION.format(name=n), f"{n}.toml") for n in ("bench-a", "bench-b"))

HOLDER = """
import sys, time
from pathlib import Path
from harness.lab.lease import try_lease
from harness.bench.station import parse_station
st = parse_station(sys.argv[1], "held.toml")
lease = try_lease(st, Path(sys.argv[2]), "child")
print("held" if lease else "busy", flush=True)
time.sleep(60)
"""


def test_a_lease_cannot_be_held_twice_in_one_process(tmp_path: Path):
    first = try_lease(A, tmp_path, "first")
    assert first is not None and first.held
    assert try_lease(A, tmp_path, "second") is None
    assert try_lease(B, tmp_path) is not None  # another station is another lock
    assert '"holder": "first"' in holder_of(tmp_path, A)
    first.release()
    again = try_lease(A, tmp_path)
    assert again is not None
    again.release()


def _hold_in_child(lease_dir: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, STATION.format(name="bench-a"), str(lease_dir)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_lease_held_by_another_process_is_busy_until_that_process_dies(tmp_path: Path):
    proc = _hold_in_child(tmp_path)
    try:
        assert try_lease(A, tmp_path) is None
        assert f'"pid": {proc.pid}' in holder_of(tmp_path, A)
        os.kill(proc.pid, signal.SIGKILL)  # a crashed worker: no cleanup code runs
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        lease = None
        while lease is None and time.monotonic() < deadline:
            lease = try_lease(A, tmp_path)
            time.sleep(0.05)
        assert lease is not None, "the kernel should free a dead holder's lock"
        lease.release()
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_lease_one_starts_at_its_index_and_skips_busy_stations(tmp_path: Path):
    with lease_one([A, B], tmp_path, wait_s=0, start=1) as first:
        assert first.station.name == "bench-b"
        with lease_one([A, B], tmp_path, wait_s=0, start=1) as second:
            assert second.station.name == "bench-a"


def test_lease_one_waits_bounded_and_names_the_holders(tmp_path: Path):
    with try_lease(A, tmp_path, "worker gw0"):  # type: ignore[union-attr]
        t0 = time.monotonic()
        with pytest.raises(LeaseError) as err:
            lease_one([A], tmp_path, wait_s=0.5, source="lab.toml")
        assert 0.5 <= time.monotonic() - t0 < 3
    msg = str(err.value)
    assert msg.startswith("lab.toml: no free station within 0.5 s") and "worker gw0" in msg


def test_wait_for_free_keeps_nothing_and_says_who_holds_what(tmp_path: Path):
    wait_for_free([A, B], tmp_path, 2, wait_s=0)
    for st in (A, B):  # the check kept nothing
        lease = try_lease(st, tmp_path)
        assert lease is not None
        lease.release()
    with try_lease(B, tmp_path, "worker gw1"):  # type: ignore[union-attr]
        wait_for_free([A, B], tmp_path, 1, wait_s=0)
        with pytest.raises(LeaseError) as err:
            wait_for_free([A, B], tmp_path, 2, wait_s=0.3, source="lab.toml")
    msg = str(err.value)
    assert msg.startswith("lab.toml: 2 stations needed, 1 free within 0.3 s"), msg
    assert "bench-b held by" in msg and "worker gw1" in msg

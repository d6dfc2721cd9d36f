"""The inspector's sandbox: same answers as in process, and a bomb, a runaway or a crash
ends as an inventory that says so (never a hang, never the harness's memory)."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from harness.bench.media_sandbox import MediaSandbox
from harness.judge.media import inspect_media
from harness.sim import media as mk
from tests.judge.mediafiles import index_bomb

BOUND_S = 10.0


@pytest.fixture(scope="module")
def mp4() -> bytes:
    return mk.make_mp4(1.0, with_audio=True, fields=["location"])


@pytest.fixture
def sandbox() -> Iterator[MediaSandbox]:
    with MediaSandbox() as sb:
        yield sb


def test_same_inventory_as_in_process_and_the_child_is_kept(sandbox, mp4) -> None:
    assert sandbox.inspect(mp4, "video") == inspect_media(mp4, "video")
    child = sandbox._proc
    jpeg = mk.make_jpeg(["faces"])
    assert sandbox.inspect(jpeg, "photo") == inspect_media(jpeg, "photo")
    assert sandbox._proc is child  # one child for many files


def test_index_bomb_is_capped_in_memory(mp4) -> None:
    """88M claimed samples would need ~3 GB in process; the child may have 1 GB."""
    with MediaSandbox(memory_mb=1024) as sb:
        start = time.monotonic()
        inv = sb.inspect(index_bomb(mp4, 88_000_000), "video")
        assert time.monotonic() - start < BOUND_S
        assert inv.problem is not None and inv.frames in (None, 0)
        assert sb.inspect(mp4, "video").problem is None  # and the next file is inspected


def test_runaway_is_killed_and_a_new_child_serves_the_next_file(mp4) -> None:
    with MediaSandbox(max_seconds=0.0, grace_s=0.01) as sb:
        inv = sb.inspect(index_bomb(mp4, 10_000_000), "video")
        assert inv.problem == "timed out (killed)"
        assert inv.sha256 == hashlib.sha256(index_bomb(mp4, 10_000_000)).hexdigest()
        assert sb._proc is None
    with MediaSandbox() as sb:
        assert sb.inspect(mp4, "video").frames == 31


def test_a_child_that_dies_is_reported(mp4) -> None:
    """A libav crash kills the child mid-file (killed here, so it happens for sure)."""
    bomb = index_bomb(mp4, 30_000_000)  # seconds of index building: time to be killed
    with MediaSandbox() as sb:
        sb.inspect(mp4, "video")  # the child is up
        threading.Timer(0.3, os.kill, (sb._proc.pid, signal.SIGSEGV)).start()
        inv = sb.inspect(bomb, "video")
        assert inv.problem == f"inspector died (exit {-signal.SIGSEGV})"
        assert inv.sha256 == hashlib.sha256(bomb).hexdigest() and inv.size == len(bomb)
        assert sb.inspect(mp4, "video").problem is None


def test_a_tiny_memory_cap_ends_in_a_problem_not_a_crash_of_the_harness(mp4) -> None:
    """Under 64 MB libav fails to load or to allocate (or the child segfaults)."""
    with MediaSandbox(memory_mb=64) as sb:
        inv = sb.inspect(mp4, "video")
        assert inv.problem is not None
        assert inv.sha256 == hashlib.sha256(mp4).hexdigest()

"""Memory stays bounded under a long hostile stream through the real `SerialLink` on a pty.

Hypothesis picks the hostile material (arbitrary bytes, endless lines, invalid UTF-8,
lines just over the limit, deeply nested JSON, console text of maximal length); it is
repeated to megabytes and written through a real pty while a valid message is slipped
in between. tracemalloc bounds what the link, its framer and its serial log hold: the
device is untrusted, so nothing it sends may grow the host's memory without limit.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import tracemalloc
import tty
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harness.spec import MAX_LINE_BYTES
from harness.wire.link import SerialLink
from harness.wire.seriallog import RING_LINES

STREAM_BYTES = 32 * 1024 * 1024  # per example: more than the serial log may keep
MEMORY_LIMIT = 24 * 1024 * 1024  # what the link may hold at its peak, all included

hostile_piece = st.one_of(
    st.binary(min_size=1, max_size=8192),
    st.integers(MAX_LINE_BYTES, 3 * MAX_LINE_BYTES).map(lambda n: b"x" * n),  # no end
    st.integers(MAX_LINE_BYTES - 64, MAX_LINE_BYTES + 64).map(lambda n: b"c" * n + b"\n"),
    st.integers(1, 4000).map(lambda n: b"\xff\xfe" * (n // 2) + b"\n"),  # invalid UTF-8
    st.integers(10, 2000).map(lambda n: b"[" * n + b"]" * n + b"\n"),  # deep nesting
    st.integers(10, 1900).map(lambda n: b'{"a":' * n + b"1" + b"}" * n + b"\n"),
)


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    for fd in (master, slave):
        with contextlib.suppress(OSError):
            os.close(fd)


def stream_bytes(pieces: list[bytes]) -> int:
    """STREAM_BYTES, or less where the lines are short: enough for four times the lines
    the serial log keeps (the bound under test), not 32 million empty lines (the time
    those take the link to log, over 10 µs each under tracemalloc, is not what is tested)."""
    blob = b"".join(pieces)
    lines = blob.count(b"\n")
    if not lines:
        return STREAM_BYTES
    return min(STREAM_BYTES, len(blob) * math.ceil(4 * RING_LINES / lines))


def _write_stream(master: int, pieces: list[bytes], total: int, stop: threading.Event) -> None:
    """Repeat `pieces` to `total` bytes, with a valid message after every ~64 KiB."""
    blob = b"".join(pieces)
    block = blob * max(1, 65536 // len(blob))
    written, n = 0, 0
    while written < total and not stop.is_set():
        n += 1
        data = memoryview(block + b'\n{"round":%d}\n' % n)
        while data:
            data = data[os.write(master, data) :]
        written += len(block)
    os.write(master, b'\n{"last":true}\n')


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pieces=st.lists(hostile_piece, min_size=1, max_size=12))
@example(pieces=[b"c" * (MAX_LINE_BYTES - 2) + b"\n"])  # console lines of maximal length
@example(pieces=[b"x" * 126 + b"\n"])  # many short lines: more than the ring keeps
@example(pieces=[b"\xff\xfe" * 98 + b"\n"])  # kept as surrogates: 2 bytes a character
@example(pieces=[b"\n"])  # empty lines only
def test_long_hostile_stream_keeps_link_memory_bounded(pty_pair, pieces):
    master, path = pty_pair
    rounds = [0, 0]  # how many arrived, and the last one (a list would grow with the stream)
    done = threading.Event()

    def on_line(line, t):
        if isinstance(line.msg.get("round"), int):
            rounds[0] += 1
            rounds[1] = max(rounds[1], line.msg["round"])
        if line.msg.get("last"):
            done.set()

    tracemalloc.start()
    try:
        link = SerialLink(path, on_line=on_line, flood_bytes=None).open()
        stop = threading.Event()
        writer = threading.Thread(
            target=_write_stream, args=(master, pieces, stream_bytes(pieces), stop), daemon=True
        )
        try:
            writer.start()
            assert done.wait(120), "the last message never arrived"
            writer.join(10)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            stop.set()
            link.close()
            writer.join(10)
    finally:
        tracemalloc.stop()
    print(f"peak {peak / 2**20:.1f} MiB, {rounds[0]} messages through {len(pieces)} pieces")
    assert peak < MEMORY_LIMIT, (
        f"peak {peak / 2**20:.1f} MiB over a {stream_bytes(pieces) >> 20} MiB stream"
    )
    assert link.framer.buffered < MAX_LINE_BYTES
    assert rounds[0] > 0, "valid messages between the junk still arrive"
    assert link.error is None, link.error

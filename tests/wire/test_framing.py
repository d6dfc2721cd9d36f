"""Line framing and the serial link against hostile byte streams on a real pty."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import tty

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.spec import MAX_LINE_BYTES
from harness.wire.framing import LineFramer
from harness.wire.link import SerialLink


def lines_of(framer: LineFramer, chunks: list[bytes]) -> list[tuple[str, str]]:
    return [(ln.kind, ln.text) for c in chunks for ln in framer.feed(c)]


def test_split_merged_crlf_console_and_junk():
    f = LineFramer()
    got = lines_of(f, [b'{"a":', b"1}\r", b'\n{"b":2}\nboot ok\n{"c"', b":3}\n\xff\xfe\n{oops\n"])
    assert got == [
        ("message", '{"a":1}'),
        ("message", '{"b":2}'),
        ("console", "boot ok"),
        ("message", '{"c":3}'),
        ("bad_utf8", "\udcff\udcfe"),  # the raw bytes, kept (`text.printable` shows \xff)
        ("bad_json", "{oops"),
    ]
    assert (f.stats.messages, f.stats.console, f.stats.bad_utf8, f.stats.bad_json) == (3, 1, 1, 1)


def test_json_that_is_not_an_object_or_uses_nan_is_dropped():
    f = LineFramer()
    got = lines_of(f, [b'{"x": NaN}\n', b"[1,2]\n", b'"{"\n', b'{"ok":true}\n'])
    assert [k for k, _ in got] == ["bad_json", "console", "console", "message"]
    assert f.stats.bad_json == 1


def test_line_of_exactly_the_limit_is_kept_and_one_more_byte_is_dropped():
    f = LineFramer()
    body = '{"p":"' + "x" * (MAX_LINE_BYTES - 9) + '"}'
    assert len(body) + 1 == MAX_LINE_BYTES
    over = '{"p":"' + "x" * (MAX_LINE_BYTES - 8) + '"}'
    got = lines_of(f, [body.encode() + b"\n", over.encode() + b"\n", b'{"n":1}\n'])
    assert [k for k, _ in got] == ["message", "oversize", "message"]


def test_endless_line_is_dropped_in_bounded_memory_and_framing_recovers():
    f = LineFramer()
    kinds = []
    for _ in range(100):
        kinds += [ln.kind for ln in f.feed(b"y" * 10_000)]
        assert f.buffered < MAX_LINE_BYTES
    kinds += [ln.kind for ln in f.feed(b'tail\n{"after":1}\n')]
    assert kinds == ["oversize", "message"]
    assert f.stats.oversize == 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=6000), max_size=20))
def test_arbitrary_bytes_never_raise_and_memory_stays_bounded(chunks):
    f = LineFramer()
    for c in chunks:
        for ln in f.feed(c):
            assert ln.kind in {"message", "console", "oversize", "bad_utf8", "bad_json"}
            assert len(ln.text) <= MAX_LINE_BYTES * 4
        assert f.buffered < MAX_LINE_BYTES


@settings(max_examples=100, deadline=None)
@given(
    msgs=st.lists(st.dictionaries(st.text(max_size=5), st.integers(), max_size=4), max_size=10),
    cuts=st.lists(st.integers(min_value=1, max_value=50), max_size=30),
    crlf=st.booleans(),
)
def test_any_chunking_gives_the_same_messages(msgs, cuts, crlf):
    end = b"\r\n" if crlf else b"\n"
    stream = b"".join(json.dumps(m).encode() + end for m in msgs)
    chunks, pos = [], 0
    for c in cuts:
        chunks.append(stream[pos : pos + c])
        pos += c
    chunks.append(stream[pos:])
    f = LineFramer()
    got = [ln.msg for c in chunks for ln in f.feed(c) if ln.kind == "message"]
    assert got == msgs


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    yield master, path
    for fd in (master, slave):
        with contextlib.suppress(OSError):
            os.close(fd)


def test_link_over_a_real_pty_survives_hostile_stream(pty_pair):
    master, path = pty_pair
    got: list[dict] = []
    done = threading.Event()

    def on_line(line, t):
        got.append(line.msg)
        if line.msg.get("last"):
            done.set()

    link = SerialLink(path, on_line=on_line).open()
    try:
        hostile = [
            b'{"a":1}\r\n{"b"',
            b":2}\nbanner line\n",
            b"\xc3\x28\xa0\n",
            b"z" * 9000,
            b'\n{"broken":\n',
            b'{"c":3}\n' * 50,
            b'{"last":true}\n',
        ]
        for chunk in hostile:
            os.write(master, chunk)
            time.sleep(0.005)
        assert done.wait(5), "reader never delivered the last message"
        assert got[:3] == [{"a": 1}, {"b": 2}, {"c": 3}]
        assert len(got) == 53
        st_ = link.framer.stats
        assert (st_.console, st_.bad_utf8, st_.oversize, st_.bad_json) == (1, 1, 1, 1)
        kinds = {ln.kind for ln in link.log.since(0)}
        assert {"console", "bad_utf8", "oversize", "bad_json", "message", "note"} <= kinds
        assert link.alive
        t = link.write_line('{"id":1,"cmd":"hello"}')
        assert os.read(master, 100) == b'{"id":1,"cmd":"hello"}\n'
        assert any(ln.direction == ">" and ln.t == t for ln in link.log.since(0))
    finally:
        link.close()


def test_link_reports_a_vanished_port_instead_of_hanging(pty_pair):
    master, path = pty_pair
    link = SerialLink(path, on_line=lambda line, t: None).open()
    try:
        os.close(master)
        deadline = time.monotonic() + 3
        while link.alive and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not link.alive
        assert link.error is not None and path in str(link.error)
    finally:
        link.close()

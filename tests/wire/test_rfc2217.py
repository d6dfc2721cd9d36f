"""The Telnet filter of the RFC 2217 fast path: the same data and the same commands as
pyserial's byte-at-a-time reader, however the stream is split, and bounded."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from serial import rfc2217

from harness.wire.rfc2217 import MAX_SUBNEGOTIATION, TelnetFilter

IAC, SB, SE = rfc2217.IAC, rfc2217.SB, rfc2217.SE


class Recorder:
    """Stands in for the port: records the Telnet commands the filter hands on."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def _telnet_negotiate_option(self, command: bytes, option: bytes) -> None:
        self.calls.append(("negotiate", command + option))

    def _telnet_process_subnegotiation(self, sub: bytes) -> None:
        self.calls.append(("sub", sub))

    def _telnet_process_command(self, command: bytes) -> None:
        self.calls.append(("command", command))


def reference(stream: bytes) -> tuple[bytes, list[tuple[str, Any]]]:
    """pyserial's `Serial._telnet_read_loop` state machine, one byte at a time (the
    subnegotiations here stay far below the filter's bound)."""
    port, out = Recorder(), bytearray()
    mode, sub, command = rfc2217.M_NORMAL, None, b""
    for byte in (stream[i : i + 1] for i in range(len(stream))):
        if mode == rfc2217.M_NORMAL:
            if byte == IAC:
                mode = rfc2217.M_IAC_SEEN
            elif sub is not None:
                sub += byte
            else:
                out += byte
        elif mode == rfc2217.M_IAC_SEEN:
            mode = rfc2217.M_NORMAL
            if byte == IAC:
                if sub is not None:
                    sub += IAC
                else:
                    out += IAC
            elif byte == SB:
                sub = bytearray()
            elif byte == SE:  # (without its SB pyserial's reader would crash: ignored)
                if sub is not None:
                    port._telnet_process_subnegotiation(bytes(sub))
                sub = None
            elif byte in (rfc2217.DO, rfc2217.DONT, rfc2217.WILL, rfc2217.WONT):
                command, mode = byte, rfc2217.M_NEGOTIATE
            else:
                port._telnet_process_command(byte)
        else:
            port._telnet_negotiate_option(command, byte)
            mode = rfc2217.M_NORMAL
    return bytes(out), port.calls


pieces = st.one_of(
    st.binary(max_size=40),  # data, 0xFF included
    st.just(IAC + IAC),  # an escaped 0xFF
    st.sampled_from([rfc2217.DO, rfc2217.DONT, rfc2217.WILL, rfc2217.WONT]).flatmap(
        lambda c: st.binary(min_size=1, max_size=1).map(lambda o: IAC + c + o)
    ),
    st.binary(max_size=12).map(lambda b: IAC + SB + b.replace(IAC, IAC + IAC) + IAC + SE),
    st.binary(min_size=1, max_size=1)
    .filter(lambda b: b not in (IAC, SB, SE))
    .map(lambda b: IAC + b),
)


@given(st.lists(pieces, max_size=30), st.lists(st.integers(0, 400), max_size=8))
def test_same_data_and_commands_as_pyserial_however_split(parts, cuts):
    stream = b"".join(parts)
    port = Recorder()
    telnet = TelnetFilter(port)  # type: ignore[arg-type]
    bounds = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    data = b"".join(telnet.feed(stream[a:b]) for a, b in itertools.pairwise(bounds))
    assert (data, port.calls) == reference(stream)


def test_plain_data_passes_through_untouched():
    port = Recorder()
    line = b'{"id":1,"ok":true,"result":{"t_us":5}}\n'
    assert TelnetFilter(port).feed(line) is line  # type: ignore[arg-type]
    assert port.calls == []


def test_an_endless_subnegotiation_is_bounded_and_the_stream_recovers():
    port = Recorder()
    telnet = TelnetFilter(port)  # type: ignore[arg-type]
    assert telnet.feed(IAC + SB) == b""
    for _ in range(1000):
        assert telnet.feed(b"x" * 1000) == b""
    assert telnet.feed(IAC + SE + b"data\n") == b"data\n"
    assert port.calls == [("sub", b"x" * MAX_SUBNEGOTIATION)]


def test_an_end_of_subnegotiation_without_a_start_is_ignored():
    port = Recorder()
    assert TelnetFilter(port).feed(b"a" + IAC + SE + b"b") == b"ab"  # type: ignore[arg-type]
    assert port.calls == []

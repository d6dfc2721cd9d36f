"""The shutter driver against the simulated shutter: moves, checks, keeps when it covered."""

from __future__ import annotations

import time

import pytest

from harness.errors import InstrumentError
from harness.instruments.shutter import Shutter
from harness.sim.shutter import FLAP_S, Cover, SimShutter


@pytest.fixture
def sim():
    moves: list[tuple[bool, float]] = []
    server = SimShutter(Cover(), lambda covered, t: moves.append((covered, t)))
    server.start()
    yield server, moves
    server.stop()


def test_cover_and_uncover_move_the_flap_and_are_kept(sim):
    server, moves = sim
    sh = Shutter.open(server.resource, 101, settle_s=0.05)
    try:
        assert sh.idn.startswith("Tally,SimShutter") and not sh.covered()
        sent, settled = sh.cover()
        assert sh.covered() and server.cover.covered_at(time.monotonic())
        ((covered, t_flap),) = moves
        assert covered and sent <= t_flap <= settled  # the flap moved inside the bound
        assert settled - sent >= 0.05 and time.monotonic() >= settled
        assert sh.covered_spans()[0][0] == sent  # still covered: up to now
        sh.uncover()
        assert not sh.covered() and [m[0] for m in moves] == [True, False]
        ((a, b),) = sh.covered_spans()
        assert a == sent and b >= moves[1][1] - FLAP_S + 0.05
        assert not server.cover.covered_at(time.monotonic())
    finally:
        sh.close()


def test_a_channel_the_unit_lacks_is_an_instrument_error(sim):
    server, moves = sim
    sh = Shutter.open(server.resource, 7, settle_s=0.0)
    try:
        with pytest.raises(InstrumentError, match=r"-222"):
            sh.cover()
        assert moves == []
    finally:
        sh.close()


def test_an_unreachable_shutter_is_an_instrument_error():
    with pytest.raises(InstrumentError, match=r"cannot open shutter|failed"):
        Shutter.open("TCPIP0::127.0.0.1::9::SOCKET", timeout_s=0.5)

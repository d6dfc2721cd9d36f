"""The supply driver's exchanges over a real socket, against a stand-in instrument that
answers as told: whole, in pieces, too long, not ASCII."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from pyvisa.errors import VisaIOWarning

from harness.errors import InstrumentError
from harness.instruments.supply import MAX_ANSWER, PowerSupply

Answer = Callable[[socket.socket], None]


class Instrument:
    """One connection on a local port; each line received is answered by `answers[line]`
    (an unknown line: no answer)."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers = answers
        self.lines: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def resource(self) -> str:
        return f"TCPIP::127.0.0.1::{self.port}::SOCKET"

    def _serve(self) -> None:
        conn, _ = self._listener.accept()
        buf = b""
        with conn:
            while chunk := conn.recv(4096):
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    self.lines.append(line.decode())
                    if answer := self.answers.get(line.decode()):
                        answer(conn)

    def close(self) -> None:
        self._listener.close()


def says(*parts: bytes, gap_s: float = 0.0) -> Answer:
    def answer(conn: socket.socket) -> None:
        for part in parts:
            conn.sendall(part)
            time.sleep(gap_s)

    return answer


@pytest.fixture
def instrument() -> Iterator[Callable[[dict[str, Answer]], PowerSupply]]:
    opened: list[tuple[Instrument, PowerSupply]] = []

    def make(answers: dict[str, Answer]) -> PowerSupply:
        inst = Instrument({"*IDN?": says(b"Maker,PSU,1,0.1\n"), **answers})
        supply = PowerSupply.open(inst.resource, timeout_s=0.5)
        opened.append((inst, supply))
        return supply

    yield make
    for inst, supply in opened:
        supply.close()
        inst.close()


def test_a_reading_is_parsed_and_timed_inside_its_round_trip(instrument) -> None:
    supply = instrument({"MEAS:CURR?": says(b"+1.250000E-01\n", gap_s=0.02)})
    before = time.monotonic()
    s = supply.current()
    after = time.monotonic()
    assert supply.idn == "Maker,PSU,1,0.1"
    assert s.amps == pytest.approx(0.125)
    assert before <= s.t - s.u and s.t + s.u <= after and s.u > 0


def test_an_answer_in_pieces_is_read_whole(instrument) -> None:
    supply = instrument({"MEAS:CURR?": says(b"+2.5", b"00000E", b"-01\n", gap_s=0.05)})
    assert supply.current().amps == pytest.approx(0.25)


def test_an_overlong_answer_is_refused_and_the_next_answer_is_not_its_rest(instrument) -> None:
    long = says(b"9" * (MAX_ANSWER + 500) + b"\n")
    supply = instrument({"MEAS:CURR?": long, "OUTP?": says(b"1\n")})
    with (
        pytest.warns(VisaIOWarning),
        pytest.raises(InstrumentError, match="longer than 4096 bytes"),
    ):
        supply.current()
    assert supply.is_on()  # what was left of the long answer was cleared


def test_an_answer_that_is_not_ascii_is_an_instrument_error(instrument) -> None:
    supply = instrument({"MEAS:CURR?": says(b"\xff\xfe\n"), "OUTP?": says(b"0\n")})
    with pytest.raises(InstrumentError, match=r"MEAS:CURR\? failed"):
        supply.current()
    assert not supply.is_on()


def test_an_answer_that_is_no_number_is_a_bad_current(instrument) -> None:
    supply = instrument({"MEAS:CURR?": says(b"lots\n")})
    with pytest.raises(InstrumentError, match="bad current 'lots'"):
        supply.current()

"""The simulated instrument's SCPI as photodiode-scpi.md states it, through bare pyvisa."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import pyvisa
from pyvisa.resources import MessageBasedResource

from harness.sim import scpi as scpi_module
from harness.sim.instrument import SimInstrument
from harness.sim.led import Led

Open = Callable[..., tuple[SimInstrument, MessageBasedResource]]


@pytest.fixture
def scpi(instrument) -> Iterator[Open]:
    """Factory: (instrument, raw pyvisa resource with \\n termination)."""
    opened: list[MessageBasedResource] = []

    def make(timeout_ms: int = 2000, **kwargs) -> tuple[SimInstrument, MessageBasedResource]:
        inst = instrument(**kwargs)
        res = pyvisa.ResourceManager("@py").open_resource(
            inst.resource, read_termination="\n", write_termination="\n", timeout=timeout_ms
        )
        assert isinstance(res, MessageBasedResource)
        opened.append(res)
        return inst, res

    yield make
    for res in opened:
        res.close()


def errors(res: MessageBasedResource) -> list[str]:
    out = []
    for _ in range(30):
        entry = res.query("SYST:ERR?")
        if entry.startswith("+0,"):
            return out
        out.append(entry)
    raise AssertionError(f"error queue never emptied: {out}")


def test_short_long_and_any_case(scpi: Open) -> None:
    _, res = scpi()
    res.write("SAMPle:COUNt 5")
    assert res.query("samp:coun?") == "+5"
    res.write(":sample:count 6")
    assert res.query("SAMPLE:COUNT?") == "+6"
    res.write("SAMPL:COUN 7")  # neither the short nor the long form
    assert errors(res) == ['-113,"Undefined header"']
    assert res.query("SAMP:COUN?") == "+6"


def test_reset_defaults(scpi: Open) -> None:
    _, res = scpi()
    for cmd in ["SAMP:COUN 9", "SAMP:TIM 0.5", "TRIG:SOUR BUS", "FORM:DATA REAL,64", "*RST"]:
        res.write(cmd)
    assert res.query("SAMP:COUN?") == "+1"
    assert float(res.query("SAMP:TIM?")) == 1e-5
    assert res.query("DATA:POIN?") == "+0"
    res.write("INIT")  # TRIG:SOUR IMM again: the first reading is taken at once
    assert res.query("DATA:POIN?") == "+1"
    text = res.query("R?")  # FORM:DATA ASC again
    assert float(text) == pytest.approx(0.05, abs=0.06)
    assert errors(res) == []


def test_ascii_readings_and_r_max(scpi: Open, led: Led) -> None:
    led.set(0.0, 1.0)
    _, res = scpi()
    res.write("SAMP:COUN 100")
    res.write("INIT")
    assert res.query("*OPC?") == "1"
    three = res.query("R? 3").split(",")
    assert len(three) == 3 and all(float(x) == pytest.approx(3.05, abs=0.06) for x in three)
    assert res.query("DATA:POIN?") == "+97"
    assert len(res.query("R?").split(",")) == 97
    assert res.query("R?") == ""


def test_real_blocks_in_both_byte_orders(scpi: Open, led: Led) -> None:
    led.set(0.0, 1.0)
    _, res = scpi()
    res.write("SAMP:COUN 4")
    res.write("FORM:DATA REAL,32")
    res.write("INIT")
    res.query("*OPC?")
    big = res.query_binary_values("FETC?", datatype="f", is_big_endian=True, container=np.ndarray)
    res.write("FORM:BORD SWAP")
    little = res.query_binary_values("FETC?", datatype="f", container=np.ndarray)
    np.testing.assert_array_equal(big, little)
    assert np.abs(big - 3.05).max() < 0.06
    res.write("FORM:BORD NORM")
    res.write("R?")
    assert res.read_raw()[:3] == b"#21"  # 16 bytes: a definite block with a 2-digit length
    res.write("R?")
    assert res.read_raw() == b"#10\n"


def test_opc_fetch_and_read_wait_for_the_acquisition(scpi: Open) -> None:
    _, res = scpi()
    res.write("SAMP:TIM 1e-4")
    res.write("SAMP:COUN 2000")  # 0.2 s
    for query in ("*OPC?", "FETC?", "READ?"):
        if query != "READ?":  # READ? is INIT + FETC?
            res.write("INIT")
        began = time.monotonic()
        answer = res.query(query)
        assert time.monotonic() - began > 0.15, query
        assert len(answer.split(",")) == (1 if query == "*OPC?" else 2000)
    res.write("INIT")
    res.write("ABOR")
    assert res.query("*OPC?") == "1"  # an aborted acquisition is done
    n = int(res.query("DATA:POIN?"))
    time.sleep(0.01)
    assert int(res.query("DATA:POIN?")) == n  # ABOR keeps what was taken, takes no more


def test_trigger_errors_and_bus_trigger(scpi: Open) -> None:
    _, res = scpi()
    res.write("*TRG")  # nothing armed
    res.write("TRIG:SOUR BUS")
    res.write("SAMP:COUN 1000000")  # 10 s: still acquiring whatever the link's latency
    res.write("INIT")
    assert res.query("DATA:POIN?") == "+0"  # armed, waiting for *TRG
    res.write("*TRG")
    res.write("INIT")  # still acquiring
    assert int(res.query("DATA:POIN?")) > 0
    assert errors(res) == ['-211,"Trigger ignored"', '-213,"Init ignored"']


def test_parameter_errors(scpi: Open) -> None:
    _, res = scpi()
    for cmd in [
        "SAMP:COUN 0",
        "SAMP:COUN 10000001",
        "SAMP:TIM 1e-6",
        "FORM:DATA REAL",
        "FORM:DATA REAL,16",
        "TRIG:SOUR EXT",
        "SAMP:SOUR IMM",
        "SAMP:COUN many",
        "ABOR 1",
    ]:
        res.write(cmd)
    assert errors(res) == [
        '-222,"Data out of range"',
        '-222,"Data out of range"',
        '-222,"Data out of range"',
        '-109,"Missing parameter"',
        '-224,"Illegal parameter value"',
        '-224,"Illegal parameter value"',
        '-224,"Illegal parameter value"',
        '-104,"Data type error"',
        '-108,"Parameter not allowed"',
    ]


def test_error_queue_is_bounded(scpi: Open) -> None:
    _, res = scpi()
    for _ in range(30):
        res.write("BOGUS")
    got = errors(res)
    assert len(got) == 20 and got[-1] == '-350,"Queue overflow"'
    res.write("BOGUS")
    res.write("*CLS")
    assert errors(res) == []


def test_overlong_line_is_refused_and_the_link_survives(scpi: Open) -> None:
    _, res = scpi()
    res.write("SAMP:COUN " + "1" * 10_000)
    assert res.query("*IDN?").startswith("Tally,SimPhotodiode")
    assert errors(res) == ['-223,"Too much data"']


def test_noise_is_the_same_however_it_is_read(scpi: Open) -> None:
    runs = []
    for chunk in (1, 7, 100_000):
        _, res = scpi(seed=3)
        res.write("SAMP:COUN 300")
        res.write("FORM:DATA REAL,64")
        res.write("INIT")
        res.query("*OPC?")
        parts = []
        while int(res.query("DATA:POIN?")):
            parts.append(
                res.query_binary_values(
                    f"R? {chunk}", datatype="d", is_big_endian=True, container=np.ndarray
                )
            )
        runs.append(np.concatenate(parts))
    np.testing.assert_array_equal(runs[0], runs[1])
    np.testing.assert_array_equal(runs[0], runs[2])


def test_stop_is_prompt_even_with_a_query_blocked(scpi: Open) -> None:
    inst, res = scpi(timeout_ms=1000)  # pyvisa-py waits out its timeout even after EOF
    res.write("TRIG:SOUR BUS")
    res.write("INIT")
    outcome: list[BaseException] = []

    def fetch() -> None:
        try:
            res.query("FETC?")  # waits for a *TRG that never comes
        except pyvisa.errors.VisaIOError as e:
            outcome.append(e)

    blocked = threading.Thread(target=fetch)
    blocked.start()
    time.sleep(0.1)
    began = time.monotonic()
    inst.stop()
    assert time.monotonic() - began < 1.0
    blocked.join(3.0)
    assert not blocked.is_alive() and outcome  # the client saw the link end, not a reading


def test_stop_ends_idle_listener_and_connections_at_once(scpi: Open) -> None:
    """Threads block in accept() and recv() with no timeout: stop() must wake them."""
    inst, res = scpi()
    assert res.query("*IDN?")  # one connection, now idle in recv()
    began = time.monotonic()
    inst.stop()
    assert time.monotonic() - began < 1.0
    assert not [t.name for t in threading.enumerate() if t.name.startswith("scpi-")]


def test_a_client_that_never_reads_is_dropped(
    instrument: Callable[..., SimInstrument], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reply nobody reads fills the socket; the send gives up (SO_SNDTIMEO) and the
    connection is closed, so a stuck client cannot hold a server thread for ever."""
    monkeypatch.setattr(scpi_module, "SEND_TIMEOUT_S", 0.3)
    inst = instrument()
    with socket.create_connection(("127.0.0.1", inst.port)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"*IDN?\n")
        assert sock.recv(4096).startswith(b"Tally,")  # served: its thread is running
        assert [t for t in threading.enumerate() if t.name == "scpi-conn"]
        # 100,000 readings in 1 s, then each FETC? answers them all (~1.5 MB of text)
        sock.sendall(b"SAMP:TIM 1E-5\nSAMP:COUN 100000\nINIT\n" + b"FETC?\n" * 20)
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            if not [t for t in threading.enumerate() if t.name == "scpi-conn"]:
                break
            time.sleep(0.05)
        assert not [t for t in threading.enumerate() if t.name == "scpi-conn"]


def test_unknown_fault_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown instrument fault"):
        SimInstrument(Led(), faults=("melt",))

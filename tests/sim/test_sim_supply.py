"""The simulated bench supply over TCP through pyvisa-py, as power-scpi.md describes it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import pyvisa
from pyvisa.resources import MessageBasedResource

from harness.sim.power import SimPowerSupply


class Dut:
    """What the supply powers: records every output change, draws a set current."""

    def __init__(self) -> None:
        self.changes: list[bool] = []
        self.amps = 0.25

    def on_output(self, on: bool) -> None:
        self.changes.append(on)


@pytest.fixture
def dut() -> Dut:
    return Dut()


def _open(supply: SimPowerSupply, timeout_ms: int = 2000) -> MessageBasedResource:
    res = pyvisa.ResourceManager("@py").open_resource(
        supply.resource, read_termination="\n", write_termination="\n", timeout=timeout_ms
    )
    assert isinstance(res, MessageBasedResource)
    return res


@pytest.fixture
def supply(dut: Dut) -> Iterator[tuple[SimPowerSupply, MessageBasedResource]]:
    sim = SimPowerSupply(dut.on_output, lambda: dut.amps)
    sim.start()
    res = _open(sim)
    yield sim, res
    res.close()
    sim.stop()


def test_reset_defaults(supply) -> None:
    _, res = supply
    assert res.query("*IDN?").startswith("Tally,SimSupply,")
    res.write("*RST")
    assert float(res.query("VOLT?")) == 5.0
    assert float(res.query("CURR?")) == 1.0
    assert res.query("OUTP?") == "0"
    assert res.query("SYST:ERR?") == '+0,"No error"'


def test_output_switches_the_device_and_measures_it(supply, dut: Dut) -> None:
    sim, res = supply
    res.write("VOLT 3.7")
    res.write("outp on")
    assert res.query("*OPC?") == "1"
    assert dut.changes == [True] and sim.output
    assert float(res.query("MEAS:VOLT?")) == pytest.approx(3.7)
    assert float(res.query("MEASure:CURRent?")) == pytest.approx(0.25)
    dut.amps = 5.0
    assert float(res.query("MEAS:CURR?")) == pytest.approx(1.0)  # at the current limit
    res.write("OUTPut OFF")
    assert float(res.query("MEAS:CURR?")) == 0.0
    assert float(res.query("MEAS:VOLT?")) == 0.0
    assert dut.changes == [True, False]


def test_reset_turns_the_output_off(supply, dut: Dut) -> None:
    _, res = supply
    res.write("OUTP ON")
    res.write("*RST")
    assert res.query("OUTP?") == "0"
    assert dut.changes == [True, False]


def test_errors_are_queued(supply) -> None:
    _, res = supply
    res.write("VOLT 100")
    res.write("OUTP MAYBE")
    res.write("FROB 1")
    assert res.query("SYST:ERR?") == '-222,"Data out of range"'
    assert res.query("SYST:ERR?") == '-224,"Illegal parameter value"'
    assert res.query("SYST:ERR?") == '-113,"Undefined header"'
    assert res.query("SYST:ERR?") == '+0,"No error"'
    res.write("VOLT 100")
    res.write("*CLS")
    assert res.query("SYST:ERR?") == '+0,"No error"'


def test_faults(dut: Dut) -> None:
    with SimPowerSupply(dut.on_output, lambda: 0.1, faults=("scpi_error", "scpi_timeout")) as sim:
        res = _open(sim, timeout_ms=200)
        try:
            res.write("VOLT 5")
            assert res.query("SYST:ERR?") == '-222,"Data out of range"'
            with pytest.raises(pyvisa.errors.VisaIOError):
                res.query("MEAS:CURR?")
        finally:
            res.close()
    with pytest.raises(ValueError):
        SimPowerSupply(dut.on_output, lambda: 0.1, faults=("melt",))

"""The simulated bench power supply: the DUT's only source of power on a simulated station.

It implements exactly `shared/spec/power-scpi.md`. Switching the output calls `on_output`
so the simulated device really loses (or regains) power, and `MEAS:CURR?` asks the device
what it draws: given `draw` (the draw at host times), the supply averages it over its own
window ending now and adds its reading noise, as a real supply does; else `current_a`
(the draw now) is read as it is. `steady` is that average's fast path: the draw where it
is one level throughout the window, as for most readings (without numpy: at 50 Hz on
every simulated bench, numpy's calls were most of the simulator's CPU per reading). As
the spec says, `*RST` turns the output off: a device powered by this supply goes dark on
reset.

Faults: `scpi_error` (every setting command also queues -222) and `scpi_timeout`
(MEAS:VOLT? and MEAS:CURR? are never answered).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable

import numpy as np

from harness.sim.scpi import Handler, Reply, ScpiError, ScpiServer

FAULTS = frozenset({"scpi_error", "scpi_timeout"})

MAX_VOLTS = 60.0
MAX_AMPS = 20.0
DEFAULT_VOLTS = 5.0
DEFAULT_AMPS = 1.0
AVERAGING_POINTS = 16  # instants the draw is averaged over, evenly spread over the window


class SimPowerSupply(ScpiServer):
    """One output channel: voltage setting, current limit, on/off, measurements."""

    idn = "Tally,SimSupply,SIM0002,1.0"

    def __init__(
        self,
        on_output: Callable[[bool], None],
        current_a: Callable[[], float],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Iterable[str] = (),
        draw: Callable[[np.ndarray], np.ndarray] | None = None,
        steady: Callable[[float, float], float | None] | None = None,
        averaging_s: float = 0.005,
        noise_a: float = 0.0,
        seed: int | None = None,
    ) -> None:
        super().__init__(host, port)
        self._on_output = on_output
        self._current_a = current_a
        self._draw = draw
        self._steady = steady
        self._averaging_s = averaging_s
        self._window = np.linspace(-averaging_s, 0.0, AVERAGING_POINTS)  # offsets from now
        self._noise_a = noise_a
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._volts = DEFAULT_VOLTS
        self._amps = DEFAULT_AMPS
        self._output = False
        faults = frozenset(faults)
        if faults - FAULTS:
            raise ValueError(f"unknown supply fault(s) {sorted(faults - FAULTS)}")
        self.faults = faults
        self._setting("VOLTage", self._set_volts)
        self._setting("CURRent", self._set_amps)
        self._setting("OUTPut", self._set_output)
        self.command("VOLTage?", self._query(lambda: f"{self._volts:+.6E}"))
        self.command("CURRent?", self._query(lambda: f"{self._amps:+.6E}"))
        self.command("OUTPut?", self._query(lambda: "1" if self._output else "0"))
        self.command("MEASure:VOLTage?", self._measuring(self._measure_volts))
        self.command("MEASure:CURRent?", self._measuring(self._measure_amps))

    @property
    def output(self) -> bool:
        """Whether the output is on now (for the simulated bench, not over SCPI)."""
        return self._output

    def reset(self) -> None:
        """Output off, 5.0 V, 1.0 A (power-scpi.md)."""
        with self._lock:
            self._volts, self._amps = DEFAULT_VOLTS, DEFAULT_AMPS
        self._switch(False)

    # -- command plumbing --------------------------------------------------------------

    def _setting(self, pattern: str, apply: Callable[[str], None]) -> None:
        def run(params: list[str]) -> Reply:
            apply(self.one_param(params))
            if "scpi_error" in self.faults:
                raise ScpiError(-222, "Data out of range")
            return None

        self.command(pattern, run)

    def _query(self, answer: Callable[[], str]) -> Handler:
        def run(params: list[str]) -> Reply:
            self._no_params(params)
            with self._lock:
                return answer()

        return run

    def _measuring(self, answer: Callable[[], float]) -> Handler:
        def run(params: list[str]) -> Reply:
            self._no_params(params)
            if "scpi_timeout" in self.faults:
                return None
            return f"{answer():+.6E}"

        return run

    # -- settings and measurements -----------------------------------------------------

    def _set_volts(self, text: str) -> None:
        value = self.number(text, 0.0, MAX_VOLTS)
        with self._lock:
            self._volts = value

    def _set_amps(self, text: str) -> None:
        value = self.number(text, 0.0, MAX_AMPS)
        with self._lock:
            self._amps = value

    def _set_output(self, text: str) -> None:
        self._switch(self.keyword(text, ["ON", "OFF"]) == "ON")

    def _switch(self, on: bool) -> None:
        """Change the output and tell the device; the callback runs before the command is
        done, so `OUTP ON` followed by `*OPC?` means the device has been powered."""
        with self._lock:
            changed = on != self._output
            self._output = on
        if changed:
            try:
                self._on_output(on)
            except Exception as e:  # the device's problem must not kill the supply
                raise ScpiError(-300, f"Device-specific error; {type(e).__name__}") from e

    def _measure_volts(self) -> float:
        with self._lock:
            return self._volts if self._output else 0.0

    def _measure_amps(self) -> float:
        with self._lock:
            on, limit = self._output, self._amps
        if not on:
            return 0.0
        if self._draw is None:
            amps = float(self._current_a())
        else:
            now = time.monotonic()
            level = None if self._steady is None else self._steady(now - self._averaging_s, now)
            amps = level if level is not None else float(self._draw(now + self._window).mean())
        if self._noise_a:
            with self._lock:
                amps += self._noise_a * self._rng.gauss(0.0, 1.0)
        return max(0.0, min(amps, limit))  # constant-current at the limit

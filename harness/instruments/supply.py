"""Bench supply driver (power-scpi.md): cut power for real and log the current drawn.

One supply is shared by a test (switching the output) and the background current
monitor (`MEAS:CURR?` at 20 Hz or faster for the whole run); a pyvisa resource is not
thread-safe, so every exchange holds the driver's lock.

An exchange is pyvisa's low-level write and read (viWrite, then viRead until the
termination character), what `resource.query` does inside its wrappers: at 50 Hz for
every minute of a run, the wrappers were about a tenth of the poll's host CPU (measured:
~433 -> ~392 us a reading).
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import NamedTuple

import pyvisa
from pyvisa.constants import StatusCode

from harness.errors import InstrumentError

MAX_ANSWER = 4096  # bytes: a longer answer (no termination within it) is no answer


class CurrentSample(NamedTuple):
    """One reading: the supply measured inside the query's round trip, centred on `t`
    with half-width `u` (a bound, host monotonic seconds). A tuple: one is made 50 times
    a second for as long as a run lasts."""

    t: float
    amps: float
    u: float = 0.0


class PowerSupply:
    """A programmable supply feeding the DUT, through pyvisa."""

    def __init__(self, resource: pyvisa.resources.MessageBasedResource, name: str) -> None:
        self.resource = resource
        self.name = name
        self._lock = threading.Lock()
        self.idn = self.query("*IDN?")

    @classmethod
    def open(cls, resource: str, *, backend: str = "@py", timeout_s: float = 2.0) -> PowerSupply:
        try:
            rm = pyvisa.ResourceManager(backend)
            res = rm.open_resource(resource)
            res.timeout = int(timeout_s * 1000)
            res.read_termination = "\n"
            res.write_termination = "\n"
        except Exception as exc:  # pyvisa raises many types; none may escape raw
            raise InstrumentError(f"cannot open power supply {resource!r}: {exc}") from None
        return cls(res, resource)

    def query(self, cmd: str) -> str:
        """One exchange (see `_exchange`)."""
        return self._exchange(cmd)[0]

    def _exchange(self, cmd: str) -> tuple[str, float, float]:
        """One exchange, timed inside the lock (a wait for the lock does not widen the
        bound): the answer, and the host times it was sent and received. After a failed
        one (a timeout), what the supply may still send is dropped (a device clear, as the
        photodiode's driver does): a late answer must never be read as the next one's."""
        try:
            with self._lock:
                sent = time.monotonic()
                try:
                    text = self._ask(cmd)
                except Exception:
                    with contextlib.suppress(Exception):
                        self.resource.clear()
                    raise
                return text, sent, time.monotonic()
        except Exception as exc:
            raise InstrumentError(f"power supply {self.name}: {cmd} failed: {exc}") from None

    def _ask(self, cmd: str) -> str:
        """Write `cmd` and read its answer, up to the termination character (or the
        instrument's END) within `MAX_ANSWER` bytes; pyvisa raises a timeout."""
        res = self.resource  # its terminations and encoding, as `open` set them
        lib, session, enc = res.visalib, res.session, res.encoding
        lib.write(session, f"{cmd}{res.write_termination}".encode(enc))
        data, status = lib.read(session, MAX_ANSWER)
        if status == StatusCode.success_max_count_read:
            end = (res.read_termination or "").encode(enc)
            if not (end and data.endswith(end)):
                raise InstrumentError(f"answer longer than {MAX_ANSWER} bytes")
        return data.decode(enc).strip()[:256]

    def write(self, cmd: str) -> None:
        try:
            with self._lock:
                self.resource.write(cmd)
        except Exception as exc:
            raise InstrumentError(f"power supply {self.name}: {cmd} failed: {exc}") from None

    def check_errors(self) -> None:
        err = self.query("SYST:ERR?")
        if not err.startswith(("+0", "0")):
            raise InstrumentError(f"power supply {self.name} reports: {err}")

    def configure(self, volts: float, current_limit_a: float) -> None:
        self.write(f"VOLT {volts:g}")
        self.write(f"CURR {current_limit_a:g}")
        self.check_errors()

    def output(self, on: bool) -> None:
        self.write(f"OUTP {'ON' if on else 'OFF'}")
        if self.query("*OPC?") != "1":
            raise InstrumentError(f"power supply {self.name}: *OPC? did not answer 1")

    def is_on(self) -> bool:
        return self.query("OUTP?") in ("1", "ON")

    def current(self) -> CurrentSample:
        """`MEAS:CURR?`, centred on its exchange's round trip."""
        text, sent, received = self._exchange("MEAS:CURR?")
        try:
            amps = float(text)
        except ValueError:
            raise InstrumentError(f"power supply {self.name}: bad current {text!r}") from None
        if amps != amps or abs(amps) > 1e3:  # NaN or an overload marker is no reading
            raise InstrumentError(f"power supply {self.name}: current out of range {text!r}")
        return CurrentSample((sent + received) / 2, amps, (received - sent) / 2)

    def close(self) -> None:
        # Closing a dead resource must not mask the real error.
        with contextlib.suppress(Exception):
            self.resource.close()

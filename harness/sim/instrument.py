"""The simulated photodiode instrument: a digitizing voltmeter watching the recording LED.

It implements exactly the SCPI subset of `shared/spec/photodiode-scpi.md`, so the harness
driver that talks to it talks to a real DMM the same way. Reading k of an acquisition is
the LED's light at trigger time + k × SAMP:TIM (host monotonic clock, shared with the
simulated device), plus ambient light and seeded gaussian noise. Readings are computed
only when asked for, vectorised, so a 10,000,000-reading acquisition costs nothing until
it is read and a million readings are served in tens of milliseconds.

Faults make it misbehave the ways real instruments do, so the driver's defences are tested:
`scpi_timeout` (R? never answered), `short_block` (a REAL block shorter than its header
says, an odd byte count), `scpi_error` (every configure command also queues -222) and
`indefinite_block` (REAL data as a legal IEEE 488.2 `#0` block).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from harness.sim.led import Led
from harness.sim.scpi import Handler, Reply, ScpiError, ScpiServer

FAULTS = frozenset({"scpi_timeout", "short_block", "scpi_error", "indefinite_block"})

MIN_INTERVAL_S = 10e-6
MAX_INTERVAL_S = 3600.0
MAX_COUNT = 10_000_000
MIN_RANGE_V, MAX_RANGE_V = 1e-3, 1000.0
OVERLOAD_V = 9.9e37  # what DMMs report beyond 120 % of range
NOISE_BLOCK = 1 << 16  # noise is drawn per block of readings, so it is the same per index


@dataclass
class _Settings:
    """What `*RST` restores (photodiode-scpi.md)."""

    range_v: float = 10.0
    interval_s: float = MIN_INTERVAL_S
    count: int = 1
    trigger: str = "IMMEDIATE"
    fmt: str = "ASC"  # ASC, REAL32 or REAL64
    big_endian: bool = True


@dataclass
class _Acquisition:
    """One INIT: its own copy of timing, the trigger time once it happened, a read cursor."""

    seq: int
    interval_s: float
    count: int
    t0: float | None  # host time of the trigger; None while waiting for *TRG
    frozen: int | None = None  # readings taken when it was aborted
    read: int = 0  # readings removed by R?

    def taken(self, now: float) -> int:
        """Readings whose time is <= now."""
        if self.frozen is not None:
            return self.frozen
        if self.t0 is None or now < self.t0:
            return 0
        k = math.floor((now - self.t0) / self.interval_s)
        if self.t0 + k * self.interval_s > now:  # float rounding at the boundary
            k -= 1
        return min(self.count, k + 1)

    def running(self, now: float) -> bool:
        return self.frozen is None and self.taken(now) < self.count

    def done_at(self) -> float | None:
        return None if self.t0 is None else self.t0 + (self.count - 1) * self.interval_s


class SimInstrument(ScpiServer):
    """A photodiode amplifier on a digitizing voltmeter, over SCPI on 127.0.0.1."""

    idn = "Tally,SimPhotodiode,SIM0001,1.0"

    def __init__(
        self,
        led: Led,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        gain_v: float = 3.0,
        ambient_v: float = 0.05,
        noise_v: float = 0.01,
        seed: int | None = None,
        faults: Iterable[str] = (),
        cover: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        """`cover` gives, for host times, the share of the LED's light that reaches the
        photodiode (a bench shutter in between: 0 while it covers the LED)."""
        super().__init__(host, port)
        self._led = led
        self._cover = cover
        self._gain = gain_v
        self._ambient = ambient_v
        self._noise = noise_v
        self._root = int(np.random.SeedSequence(seed).entropy)  # type: ignore[arg-type]
        self._meas_rng = np.random.default_rng([self._root, 2**32])
        self._noise_cache: tuple[int, int, np.ndarray] | None = None
        self._lock = threading.Lock()
        self._settings = _Settings()
        self._acq: _Acquisition | None = None
        self._seq = 0
        self._faults: frozenset[str] = frozenset()
        self.faults = frozenset(faults)
        self._register()

    # -- faults and introspection for the simulated bench ------------------------------

    @property
    def faults(self) -> frozenset[str]:
        return self._faults

    @faults.setter
    def faults(self, names: Iterable[str]) -> None:
        names = frozenset(names)
        unknown = names - FAULTS
        if unknown:
            raise ValueError(
                f"unknown instrument fault(s) {sorted(unknown)}; known: {sorted(FAULTS)}"
            )
        self._faults = names

    def oldest_unread_time(self) -> float | None:
        """Host time of the oldest reading still to be served: prune the LED only before it
        (readings are computed lazily from the LED timeline)."""
        with self._lock:
            acq = self._acq
            if acq is None or acq.t0 is None:
                return None
            return acq.t0 + acq.read * acq.interval_s

    # -- the command table -------------------------------------------------------------

    def _register(self) -> None:
        configure: list[tuple[str, Handler]] = [
            ("CONFigure:VOLTage:DC", self._conf_volt),
            ("SAMPle:SOURce", self._samp_source),
            ("SAMPle:TIMer", self._samp_timer),
            ("SAMPle:COUNt", self._samp_count),
            ("TRIGger:SOURce", self._trig_source),
            ("FORMat:DATA", self._form_data),
            ("FORMat:BORDer", self._form_border),
        ]
        for pattern, handler in configure:
            self.command(pattern, self._configuring(handler))
        self.command("SAMPle:TIMer?", self._q(lambda: f"{self._settings.interval_s:+.9E}"))
        self.command("SAMPle:COUNt?", self._q(lambda: f"{self._settings.count:+d}"))
        self.command("INITiate", self._init)
        self.command("*TRG", self._trg)
        self.command("ABORt", self._abort)
        self.command("DATA:POINts?", self._q(self._points))
        self.command("R?", self._r)
        self.command("FETCh?", self._fetch)
        self.command("*OPC?", self._opc)
        self.command("READ?", self._read)
        self.command("MEASure:VOLTage:DC?", self._q(self._measure))

    def _configuring(self, handler: Handler) -> Handler:
        """Wrap a configure command: under lock, plus the `scpi_error` fault."""

        def run(params: list[str]) -> Reply:
            with self._lock:
                handler(params)
            if "scpi_error" in self._faults:
                raise ScpiError(-222, "Data out of range")
            return None

        return run

    def _q(self, answer: Callable[[], str]) -> Handler:
        """A query without parameters whose answer is computed under the lock."""

        def run(params: list[str]) -> Reply:
            self._no_params(params)
            with self._lock:
                return answer()

        return run

    # -- configuration -----------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self._settings = _Settings()
            self._acq = None

    def _conf_volt(self, params: list[str]) -> None:
        self._settings.range_v = self.number(self.one_param(params), MIN_RANGE_V, MAX_RANGE_V)

    def _samp_source(self, params: list[str]) -> None:
        self.keyword(self.one_param(params), ["TIMer"])

    def _samp_timer(self, params: list[str]) -> None:
        value = self.number(self.one_param(params), MIN_INTERVAL_S, MAX_INTERVAL_S)
        self._settings.interval_s = value

    def _samp_count(self, params: list[str]) -> None:
        self._settings.count = self.integer(self.one_param(params), 1, MAX_COUNT)

    def _trig_source(self, params: list[str]) -> None:
        self._settings.trigger = self.keyword(self.one_param(params), ["IMMediate", "BUS"])

    def _form_data(self, params: list[str]) -> None:
        if not params:
            raise ScpiError(-109, "Missing parameter")
        kind = self.keyword(params[0], ["ASCii", "REAL"])
        if kind == "ASCII":
            if len(params) > 1:
                raise ScpiError(-108, "Parameter not allowed")
            self._settings.fmt = "ASC"
            return
        if len(params) < 2:
            raise ScpiError(-109, "Missing parameter")
        if len(params) > 2:
            raise ScpiError(-108, "Parameter not allowed")
        if params[1] not in ("32", "64"):  # a choice of two widths, not a range
            raise ScpiError(-224, "Illegal parameter value")
        self._settings.fmt = f"REAL{params[1]}"

    def _form_border(self, params: list[str]) -> None:
        order = self.keyword(self.one_param(params), ["NORMal", "SWAPped"])
        self._settings.big_endian = order == "NORMAL"

    # -- acquisition -------------------------------------------------------------------

    def _init(self, params: list[str]) -> None:
        self._no_params(params)
        with self._lock:
            self._start_locked()

    def _start_locked(self) -> None:
        now = time.monotonic()
        if self._acq is not None and self._acq.running(now):
            raise ScpiError(-213, "Init ignored")
        self._seq += 1
        s = self._settings
        t0 = now if s.trigger == "IMMEDIATE" else None
        self._acq = _Acquisition(self._seq, s.interval_s, s.count, t0)

    def _trg(self, params: list[str]) -> None:
        self._no_params(params)
        with self._lock:
            acq = self._acq
            if acq is None or acq.t0 is not None or acq.frozen is not None:
                raise ScpiError(-211, "Trigger ignored")
            acq.t0 = time.monotonic()

    def _abort(self, params: list[str]) -> None:
        self._no_params(params)
        with self._lock:
            acq = self._acq
            if acq is not None and acq.frozen is None:
                acq.frozen = acq.taken(time.monotonic())

    def _points(self) -> str:
        acq = self._acq
        n = 0 if acq is None else acq.taken(time.monotonic()) - acq.read
        return f"{n:+d}"

    def _r(self, params: list[str]) -> Reply:
        if len(params) > 1:
            raise ScpiError(-108, "Parameter not allowed")
        limit = self.integer(params[0], 1, 2**31 - 1) if params else None
        if "scpi_timeout" in self._faults:
            return None  # the instrument has gone silent on R?
        with self._lock:
            acq = self._acq
            if acq is None:
                return self._format(np.empty(0))
            end = acq.taken(time.monotonic())
            if limit is not None:
                end = min(end, acq.read + limit)
            values = self._values(acq, acq.read, end)
            acq.read = end
            return self._format(values)

    def _opc(self, params: list[str]) -> Reply:
        """`1` once earlier commands are done. As on real DMMs, INIT is an overlapped
        command: it is done when its acquisition is complete (or aborted)."""
        self._no_params(params)
        return "1" if self._wait_complete() else None

    def _wait_complete(self) -> bool:
        """Block until the current acquisition is no longer running; False on stop()."""
        while True:
            with self._lock:
                acq = self._acq
                now = time.monotonic()
                if acq is None or not acq.running(now):
                    return True
                done = acq.done_at()
                wait = 0.1 if done is None else max(0.0, done - now) + 1e-6
            if self.stopping.wait(min(wait, 0.1)):
                return False

    def _fetch(self, params: list[str]) -> Reply:
        """All readings of the last acquisition still in memory, once it is complete."""
        self._no_params(params)
        if not self._wait_complete():
            return None
        with self._lock:
            acq = self._acq
            if acq is None:
                return self._format(np.empty(0))
            return self._format(self._values(acq, acq.read, acq.taken(time.monotonic())))

    def _read(self, params: list[str]) -> Reply:
        self._no_params(params)
        with self._lock:
            try:
                self._start_locked()
            except ScpiError as e:
                self.push_error(e.code, e.message)
        return self._fetch([])

    def _measure(self) -> str:
        now = np.array([time.monotonic()])
        level = float((self._light(now))[0])
        v = self._ambient + self._gain * level + self._noise * self._meas_rng.standard_normal()
        return f"{self._overload(np.array([v]))[0]:+.9E}"

    # -- readings ----------------------------------------------------------------------

    def _values(self, acq: _Acquisition, a: int, b: int) -> np.ndarray:
        """Readings a..b-1 of `acq`, float64 volts (vectorised; noise fixed per index)."""
        if b <= a or acq.t0 is None:
            return np.empty(0)
        t = acq.t0 + np.arange(a, b, dtype=np.float64) * acq.interval_s
        v = self._light(t)
        v *= self._gain
        v += self._ambient
        if self._noise:
            v += self._noise * self._normal(acq.seq, a, b)
        return self._overload(v)

    def _light(self, t: np.ndarray) -> np.ndarray:
        """The LED's brightness (0..1) as the photodiode receives it at host times `t`."""
        v = self._led.levels(t)
        if self._cover is not None:
            v = v * self._cover(t)
        return v

    def _overload(self, v: np.ndarray) -> np.ndarray:
        limit = 1.2 * self._settings.range_v
        if np.any(np.abs(v) > limit):
            v = np.where(np.abs(v) > limit, np.copysign(OVERLOAD_V, v), v)
        return v

    def _normal(self, seq: int, a: int, b: int) -> np.ndarray:
        """Standard normals for indices a..b-1, drawn per block so chunking never matters."""
        out = np.empty(b - a)
        for j in range(a // NOISE_BLOCK, (b - 1) // NOISE_BLOCK + 1):
            block = self._noise_block(seq, j)
            lo, hi = max(a, j * NOISE_BLOCK), min(b, (j + 1) * NOISE_BLOCK)
            out[lo - a : hi - a] = block[lo - j * NOISE_BLOCK : hi - j * NOISE_BLOCK]
        return out

    def _noise_block(self, seq: int, j: int) -> np.ndarray:
        cached = self._noise_cache
        if cached is not None and cached[0] == seq and cached[1] == j:
            return cached[2]
        block = np.random.default_rng([self._root, seq, j]).standard_normal(NOISE_BLOCK)
        self._noise_cache = (seq, j, block)
        return block

    def _format(self, values: np.ndarray) -> Reply:
        """Readings in the current FORM:DATA / FORM:BORD (with the block faults)."""
        s = self._settings
        if s.fmt == "ASC":
            return ",".join(f"{x:+.9E}" for x in values.tolist())
        dtype = (">" if s.big_endian else "<") + ("f4" if s.fmt == "REAL32" else "f8")
        data = values.astype(dtype).tobytes()
        if "indefinite_block" in self._faults:
            return b"#0" + data + b"\n"
        digits = str(len(data)).encode()
        header = b"#" + str(len(digits)).encode() + digits
        if "short_block" in self._faults and data:
            return header + data[:-3] + b"\n"  # fewer bytes than declared, an odd count
        return header + data + b"\n"

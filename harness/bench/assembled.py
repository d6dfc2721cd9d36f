"""The assembled bench: the DUT's client and clock, the photodiode, the optional supply
and shutter.

`Station` says what the hardware is; `Bench` holds the drivers that talk to it. Usable
without pytest (a script or notebook can open a bench and record light). From the moment
it opens, the bench watches for the whole run: the light as one `LightStream` (tests
record through windows on it) and, with a supply, the current as one `CurrentMonitor`.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass
from typing import Any

from harness.bench.clock import ClockSync
from harness.bench.current_cal import learn_signature
from harness.bench.gcquiet import freeze_once
from harness.bench.media_sandbox import MediaSandbox
from harness.bench.station import Station
from harness.bench.stored import StoredFile, read_stored
from harness.errors import BenchFault, CalibrationError, DeviceError, InstrumentError
from harness.instruments.current_monitor import CurrentMonitor
from harness.instruments.light_monitor import LightMonitor
from harness.instruments.light_stream import CHUNK_S, LightStream, LightWindow
from harness.instruments.photodiode import Photodiode
from harness.instruments.sampling import run_interval
from harness.instruments.shutter import Shutter
from harness.instruments.supply import PowerSupply
from harness.judge.light import LightTrace
from harness.judge.signature import Signature
from harness.wire.client import DeviceClient
from harness.wire.messages import ArtifactInfo, Hello
from harness.wire.seriallog import SerialLog


@dataclass(frozen=True)
class Calibration:
    """The light path's levels at the start of a run, for the record."""

    visible_v: float
    dark_mean_v: float
    dark_std_v: float
    dark_max_v: float
    lit_mean_v: float | None
    lit_margin_ok: bool | None
    note: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


MIN_DARK_READINGS = 10  # the dark level from fewer is no level
SYNC_BURST = 4  # clock exchanges per re-sync: enough for one tight round trip, cheap


class Bench:
    """Open drivers for one station."""

    def __init__(self, station: Station, log: SerialLog | None = None) -> None:
        self.station = station
        d = station.dut
        self.client = DeviceClient(
            d.port,
            baudrate=d.baudrate,
            response_timeout_s=d.response_timeout_s,
            boot_timeout_s=d.boot_timeout_s,
            log=log,
        )
        self.sync = ClockSync(self.client)
        self.photodiode: Photodiode | None = None
        self.power: PowerSupply | None = None
        self.shutter: Shutter | None = None
        self.stream: LightStream | None = None
        self.current: CurrentMonitor | None = None
        self.hello: Hello | None = None
        self.calibration: Calibration | None = None
        # the photodiode's interval for this bench, off the station's (instruments/sampling)
        self.sample_interval_s = run_interval(station.photodiode.sample_interval_s)
        self._media: MediaSandbox | None = None
        self.signature: Signature | None = None

    @property
    def visible_v(self) -> float:
        return self.station.photodiode.visible_v

    def resync(self) -> None:
        """A fresh clock sync point: a short burst of `clock` exchanges (the tightest kept),
        taken after a test step so its events lie between two sync points."""
        self.sync.sync(SYNC_BURST)

    def open(self, port_wait_s: float = 0.0) -> Bench:
        """Connect everything and introduce ourselves; any failure is a `BenchFault`.

        `port_wait_s` > 0 waits (bounded) for a DUT port that is not there yet, as after a
        USB serial port vanished.
        """
        freeze_once()  # full collections short from here on: they hold the GIL (gcquiet)
        try:
            p = self.station.photodiode
            self.photodiode = Photodiode.open(p.resource, backend=p.backend, timeout_s=p.timeout_s)
            if self.station.shutter is not None:
                sh = self.station.shutter
                self.shutter = Shutter.open(
                    sh.resource, sh.channel, settle_s=sh.settle_ms / 1000,
                    backend=sh.backend, timeout_s=sh.timeout_s,
                )  # fmt: skip
                self.shutter.uncover()  # a run starts with the indicator in view
            if self.station.power is not None:
                pw = self.station.power
                self.power = PowerSupply.open(
                    pw.resource, backend=pw.backend, timeout_s=pw.timeout_s
                )
                self.power.configure(pw.volts, pw.current_limit_a)
                if not self.power.is_on():
                    mark = self.client.event_mark
                    self.client.open()
                    self.power.output(True)
                    self.client.wait_boot(since=mark)
            if not self.client.link.alive:
                if port_wait_s > 0:
                    self.client.reconnect(timeout_s=port_wait_s)
                else:
                    self.client.open()
            self.hello = self.client.hello()
            self.sync.sync()
            self._watch()
        except BaseException:
            self.close()
            raise
        return self

    def _watch(self) -> None:
        """Start recording the light (and the current) for the rest of the run."""
        p = self.station.photodiode
        assert self.photodiode is not None
        self.stream = LightStream(
            self.photodiode, self.sample_interval_s, chunk_s=max(CHUNK_S, 2 * p.max_capture_s),
            fmt=p.data_format, byte_order=p.byte_order, range_v=p.range_v,
        ).start()  # fmt: skip
        if self.power is not None and self.station.power is not None:
            self.current = CurrentMonitor(self.power, self.station.power.poll_s).start()

    def between_tests(self) -> None:
        """Give the light stream room for a whole test (a chunk boundary falls here)."""
        if self.stream is not None:
            self.stream.roll(self.station.photodiode.max_capture_s)

    def covered_spans(self) -> list[tuple[float, float]]:
        """When the shutter may have covered the indicator (none without a shutter)."""
        return self.shutter.covered_spans() if self.shutter is not None else []

    def recover(self) -> None:
        """After a transport fault: reopen the port (it may come back) and resync."""
        self.client.reconnect(timeout_s=self.station.dut.boot_timeout_s)
        self.hello = self.client.hello()
        self.sync.sync()

    def read_stored(
        self, artifact: str, kind: str | None = None, info: ArtifactInfo | None = None
    ) -> StoredFile:
        """`artifact`'s stored file, read back and inspected (`harness.bench.stored`)."""
        if self._media is None:  # started on first use: a run may never read a file
            self._media = MediaSandbox()
        return read_stored(
            self.client, self._media, artifact, kind, info,
            max_bytes=self.station.dut.max_artifact_bytes,
        )  # fmt: skip

    def monitor(self, max_seconds: float | None = None) -> LightMonitor | LightWindow:
        """A background light recording for the duration of a `with` block: a window on
        the run's light stream once the bench is open."""
        if self.stream is not None:
            return self.stream.window()
        if self.photodiode is None:
            raise BenchFault("photodiode is not open")
        p = self.station.photodiode
        return LightMonitor(
            self.photodiode,
            self.sample_interval_s,
            max_seconds=max_seconds or p.max_capture_s,
        )

    def trace(self, monitor: LightMonitor | LightWindow) -> LightTrace:
        return monitor.trace(self.visible_v)

    def _dark(self, seconds: float) -> LightTrace:
        with self.monitor(max_seconds=seconds + 5) as mon:
            time.sleep(seconds)
        return self.trace(mon)

    def calibrate(self, dark_s: float = 0.3, selftest_ms: int = 300) -> Calibration:
        """Dark level with the device idle; lit level from `indicator.selftest` if offered;
        with a supply, the device's current signature (`bench/current_cal.py`)."""
        p = self.station.photodiode
        self.client.ensure_idle()
        time.sleep(0.1)  # let a previous indicator tail die out
        dark = self._dark(dark_s)
        if len(dark.v) < MIN_DARK_READINGS:
            # Before the photodiode is blamed: a device that floods or left the link has
            # starved this host (the link's error names it), and a lag once is looked past.
            self.client.ensure_idle()
            dark_s *= 3
            dark = self._dark(dark_s)
        if len(dark.v) < MIN_DARK_READINGS:
            n = len(dark.v)
            raise CalibrationError(f"photodiode returned only {n} readings in {dark_s:g}s")
        dark_mean, dark_std = float(dark.v.mean()), float(dark.v.std())
        dark_max = float(dark.v.max())
        limit = p.visible_v * p.max_dark_fraction
        if dark_mean >= limit:
            raise CalibrationError(
                f"dark level {dark_mean:.3f} V with the device idle is not well under visible_v "
                f"{p.visible_v} V (limit {limit:.3f} V): light leak into the jig, wrong "
                "threshold in the station file, or the indicator is stuck on"
            )
        lit_mean, margin_ok, note = None, None, "device offers no indicator.selftest"
        if self.hello is not None and self.hello.indicator_selftest:
            with self.monitor(max_seconds=selftest_ms / 1000 + 5) as mon:
                self.client.indicator_selftest(selftest_ms)
                time.sleep(selftest_ms / 1000 + 0.1)
            lit = self.trace(mon)
            hi = lit.v[lit.v > (dark_mean + p.visible_v) / 2]
            lit_mean = float(hi.mean()) if len(hi) else float(lit.v.max())
            margin_ok = lit_mean >= 1.2 * p.visible_v
            note = (
                "self-test lit level clearly above visible_v"
                if margin_ok
                else "self-test lit level NOT clearly above visible_v: a dim indicator or a "
                "misaligned photodiode; indicator clauses will show which"
            )
            if lit_mean <= dark_mean + 3 * dark_std + 0.01:
                note = (
                    "self-test produced no light at the photodiode: photodiode disconnected or "
                    "not on the indicator, or the indicator is dead"
                )
        self.calibration = Calibration(
            p.visible_v, dark_mean, dark_std, dark_max, lit_mean, margin_ok, note
        )
        if self.current is not None:
            self.signature = learn_signature(self)
        return self.calibration

    def leave_safe(self) -> None:
        """Best effort: the indicator uncovered, the device left not recording."""
        if self.shutter is not None:
            with contextlib.suppress(InstrumentError):
                self.shutter.uncover()
        with contextlib.suppress(BenchFault, DeviceError):
            self.client.ensure_idle()

    def close(self) -> None:
        for watcher in (self.stream, self.current):
            if watcher is not None:
                with contextlib.suppress(Exception):
                    watcher.stop()
        if self.shutter is not None:
            self.shutter.close()  # leaves the flap open, best effort
        with contextlib.suppress(Exception):
            self.client.close()
        if self._media is not None:
            self._media.close()
        if self.photodiode is not None:
            with contextlib.suppress(Exception):
                self.photodiode.close()
        if self.power is not None:
            self.power.close()

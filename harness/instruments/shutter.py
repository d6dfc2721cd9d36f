"""Indicator shutter driver (shutter-scpi.md): a flap the bench closes over the recording LED.

A relay channel of a switch unit (Keysight 34970A/DAQ970A, Keithley 2700, Rigol M300)
drives it with the common `ROUTe` subset. Each move is checked three ways: the SCPI error
queue, the relay's own state (`ROUT:CLOS?`), and the settle time the station states,
after which the flap has moved. The driver keeps when the indicator was covered, so the
light seen then is not taken for the device's (IND-7 leaves those stretches out).
"""

from __future__ import annotations

import contextlib
import threading
import time

import pyvisa

from harness.errors import InstrumentError

Span = tuple[float, float]


class Shutter:
    """One shutter channel; use `Shutter.open(resource, channel)`."""

    def __init__(
        self, res: pyvisa.resources.MessageBasedResource, name: str, channel: int, settle_s: float
    ) -> None:
        self.resource = res
        self.name = name
        self.channel = channel
        self.settle_s = settle_s
        self._lock = threading.Lock()
        self._spans: list[Span] = []  # closed: from the close command to the open's settling
        self._closed_at: float | None = None
        self.idn = self._query("*IDN?")

    @classmethod
    def open(
        cls,
        resource: str,
        channel: int = 101,
        *,
        settle_s: float = 0.05,
        backend: str = "@py",
        timeout_s: float = 2.0,
    ) -> Shutter:
        try:
            rm = pyvisa.ResourceManager(backend)
            res = rm.open_resource(resource)
            res.timeout = int(timeout_s * 1000)
            res.read_termination = "\n"
            res.write_termination = "\n"
        except Exception as exc:  # pyvisa raises many types; none may escape raw
            raise InstrumentError(f"cannot open shutter {resource!r}: {exc}") from None
        try:
            return cls(res, resource, channel, settle_s)
        except InstrumentError:
            with contextlib.suppress(Exception):
                res.close()
            raise

    # -- plumbing ----------------------------------------------------------------------

    def _query(self, cmd: str) -> str:
        try:
            return str(self.resource.query(cmd)).strip()[:256]
        except Exception as exc:
            raise InstrumentError(f"shutter {self.name}: {cmd} failed: {exc}") from None

    def _write(self, cmd: str) -> None:
        try:
            self.resource.write(cmd)
        except Exception as exc:
            raise InstrumentError(f"shutter {self.name}: {cmd} failed: {exc}") from None

    def _errors(self, after: str) -> None:
        err = self._query("SYST:ERR?")
        if not err.startswith(("+0", "0")):
            raise InstrumentError(f"shutter {self.name} refused {after}: {err}")

    # -- moving ------------------------------------------------------------------------

    @property
    def _where(self) -> str:
        return f"(@{self.channel})"

    def covered(self) -> bool:
        """The relay's own word: is the flap commanded over the indicator?"""
        with self._lock:
            return self._state()

    def _state(self) -> bool:
        answer = self._query(f"ROUT:CLOS? {self._where}")
        if answer not in ("0", "1"):
            raise InstrumentError(f"shutter {self.name}: ROUT:CLOS? answered {answer!r}")
        return answer == "1"

    def cover(self) -> Span:
        """Close the flap over the indicator; returns when it has moved: (sent, settled)."""
        return self._move(True)

    def uncover(self) -> Span:
        """Open the flap; returns when it has moved: (sent, settled)."""
        return self._move(False)

    def _move(self, cover: bool) -> Span:
        cmd = f"ROUT:{'CLOS' if cover else 'OPEN'} {self._where}"
        with self._lock:
            sent = time.monotonic()
            if cover and self._closed_at is None:
                self._closed_at = sent  # covered from now on, until the open has settled
            self._write(cmd)
            if self._query("*OPC?") != "1":
                raise InstrumentError(f"shutter {self.name}: *OPC? after {cmd} did not answer 1")
            self._errors(cmd)
            if self._state() != cover:
                raise InstrumentError(
                    f"shutter {self.name}: channel {self.channel} did not "
                    f"{'close' if cover else 'open'} ({cmd}; ROUT:CLOS? disagrees)"
                )
            settled = time.monotonic() + self.settle_s
            if not cover and self._closed_at is not None:
                self._spans.append((self._closed_at, settled))
                self._closed_at = None
        time.sleep(self.settle_s)
        return sent, settled

    def covered_spans(self, now: float | None = None) -> list[Span]:
        """When the indicator may have been covered (a cover still in force ends at `now`)."""
        with self._lock:
            spans = list(self._spans)
            if self._closed_at is not None:
                spans.append((self._closed_at, now if now is not None else time.monotonic()))
        return spans

    def close(self) -> None:
        """Best effort: leave the flap open, then close the resource."""
        with contextlib.suppress(Exception):
            self.uncover()
        with contextlib.suppress(Exception):
            self.resource.close()

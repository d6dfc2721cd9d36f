"""The photodiode instrument driver: pyvisa, and only the SCPI of photodiode-scpi.md.

One driver serves a Keysight Truevolt DMM, a small SCPI ADC board and the simulated
instrument, over any VISA resource. Everything the instrument says is checked before it
becomes a reading: the SCPI error queue after configuring, the byte count of every REAL
block against the readings asked for, and every pyvisa failure becomes an
`InstrumentError` that says what was being done, so a bench fault is never a clause FAIL.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyvisa
from pyvisa import constants
from pyvisa.resources import MessageBasedResource

from harness.errors import InstrumentError

TriggerSource = Literal["IMM", "BUS"]
DataFormat = Literal["REAL,32", "REAL,64"]
ByteOrder = Literal["NORM", "SWAP"]

MAX_COUNT = 10_000_000
MAX_ERRORS_DRAINED = 64  # an error queue is ~20 deep; never loop on a broken instrument
CHUNK_BYTES = 1 << 20
# A trigger timed over a round trip looser than this, and than LOOSE_FACTOR x the tightest
# this instrument has given, is armed again (up to REARMS times, after a pause): its half
# round trip bounds every reading's time in the acquisition, so one stall of a loaded host
# would widen every light edge of a whole test (a spec-lawyer device's 20 ms LED lead came
# out IND-1 INCONCLUSIVE at +-30 ms under make test's load).
LOOSE_S = 0.005
LOOSE_FACTOR = 3.0
REARMS = 2
REARM_PAUSE_S = 0.05
MAX_DRAIN_ROUNDS = 4  # after ABOR the memory only shrinks: a few R? always empty it


@dataclass(frozen=True)
class Trigger:
    """When the acquisition's reading 0 was taken, in host monotonic seconds.

    `u_s` is a half-width bound, not a standard deviation: the instrument acted somewhere
    inside the round trip that bracketed the trigger command, so |true - t_host| <= u_s.
    """

    t_host: float
    u_s: float


class Photodiode:
    """A configured photodiode instrument; use `Photodiode.open(resource)`.

    Thread-safe per transaction (a lock around each write/read pair), so a monitor thread
    streaming readings cannot interleave with another caller's query.
    """

    def __init__(self, res: MessageBasedResource, resource: str) -> None:
        self._res = res
        self._name = resource
        self._lock = threading.RLock()
        self._dtype = np.dtype(">f4")
        self.interval_s: float | None = None
        self.count: int | None = None
        self.trigger_source: TriggerSource = "IMM"
        self.trigger: Trigger | None = None
        self._tightest_u_s = float("inf")  # the tightest trigger this instrument has given
        with self._visa("*IDN?"):
            self.idn: str = self._res.query("*IDN?").strip()

    # -- lifecycle ---------------------------------------------------------------------

    @classmethod
    def open(cls, resource: str, *, backend: str = "@py", timeout_s: float = 2.0) -> Photodiode:
        """Open `resource` with `\\n` termination both ways and a read timeout."""
        try:
            rm = pyvisa.ResourceManager(backend)
            res = rm.open_resource(resource)
        except (pyvisa.errors.Error, OSError, ValueError) as e:
            raise InstrumentError(f"cannot open photodiode instrument {resource}: {e}") from e
        if not isinstance(res, MessageBasedResource):
            res.close()
            raise InstrumentError(f"{resource} is not a message-based (SCPI) resource")
        try:
            res.read_termination = "\n"
            res.write_termination = "\n"
            res.timeout = timeout_s * 1000.0
            res.chunk_size = CHUNK_BYTES
            _disable_nagle(res)
            if res.interface_type == constants.InterfaceType.asrl:
                # serial ports end a read only on the termination character
                res.end_input = constants.SerialTermination.termination_char  # type: ignore[attr-defined]
        except (pyvisa.errors.Error, OSError, ValueError) as e:
            res.close()
            raise InstrumentError(f"cannot set up {resource}: {e}") from e
        try:
            return cls(res, resource)
        except InstrumentError:
            res.close()
            raise

    def close(self) -> None:
        """Close the resource (never the shared ResourceManager); safe to call twice."""
        with suppress(pyvisa.errors.Error, OSError):
            self._res.close()

    def __enter__(self) -> Photodiode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def resource(self) -> str:
        return self._name

    @property
    def timeout_s(self) -> float:
        """The read timeout: the longest any single call waits on the instrument."""
        return (self._res.timeout or 0.0) / 1000.0

    @property
    def dtype(self) -> np.dtype:
        """The wire dtype of REAL readings as configured (byte order included)."""
        return self._dtype

    # -- configuration -----------------------------------------------------------------

    def configure(
        self,
        sample_interval_s: float,
        count: int,
        *,
        trigger: TriggerSource = "IMM",
        fmt: DataFormat = "REAL,32",
        byte_order: ByteOrder = "NORM",
        range_v: float = 10.0,
    ) -> float:
        """Set up a timed acquisition of `count` readings; returns the interval the
        instrument actually uses (SAMP:TIM?), which the trace must use.

        Any entry in the instrument's error queue afterwards is raised as an
        `InstrumentError` carrying the instrument's own words.
        """
        if not 1 <= count <= MAX_COUNT:
            raise ValueError(f"count {count} outside 1..{MAX_COUNT}")
        if trigger not in ("IMM", "BUS") or fmt not in ("REAL,32", "REAL,64"):
            raise ValueError(f"unsupported trigger {trigger!r} or format {fmt!r}")
        if byte_order not in ("NORM", "SWAP") or not sample_interval_s > 0:
            raise ValueError(f"bad byte order {byte_order!r} or interval {sample_interval_s!r}")
        commands = [
            "*RST",
            "*CLS",
            f"CONF:VOLT:DC {range_v:.9g}",
            "SAMP:SOUR TIM",
            f"SAMP:TIM {sample_interval_s:.12g}",
            f"SAMP:COUN {count:d}",
            f"TRIG:SOUR {trigger}",
            f"FORM:DATA {fmt}",
            f"FORM:BORD {byte_order}",
        ]
        with self._lock:
            self.trigger = None
            for cmd in commands:
                with self._visa(cmd):
                    self._res.write(cmd)
            errors = self.errors()
            if errors:
                raise InstrumentError(
                    f"{self._name} rejected the configuration: " + "; ".join(errors)
                )
            interval = self._query_float("SAMP:TIM?")
            actual_count = int(self._query_float("SAMP:COUN?"))
        if actual_count != count or not interval > 0:
            raise InstrumentError(
                f"{self._name} configured {actual_count} readings every {interval} s, "
                f"asked for {count} every {sample_interval_s} s"
            )
        self.interval_s, self.count, self.trigger_source = interval, count, trigger
        order = ">" if byte_order == "NORM" else "<"
        self._dtype = np.dtype(order + ("f4" if fmt == "REAL,32" else "f8"))
        return interval

    def errors(self) -> list[str]:
        """Drain the SCPI error queue: every entry but `+0,"No error"`, oldest first."""
        out: list[str] = []
        with self._lock:
            for _ in range(MAX_ERRORS_DRAINED):
                with self._visa("SYST:ERR?"):
                    entry = self._res.query("SYST:ERR?").strip()
                code = entry.split(",", 1)[0].strip()
                try:
                    if int(code) == 0:
                        return out
                except ValueError:
                    raise InstrumentError(
                        f"{self._name}: malformed SYST:ERR? answer {entry[:80]!r}"
                    ) from None
                out.append(entry)
        raise InstrumentError(f"{self._name}: error queue never emptied: {out[-3:]}")

    # -- acquisition -------------------------------------------------------------------

    def arm(self) -> Trigger:
        """Start the acquisition and time its trigger against the host clock.

        The trigger happened inside the round trip from writing `INIT` (or `*TRG` with
        TRIG:SOUR BUS, after arming) to the answer of the query that follows it: its
        midpoint is the estimate and half of it the bound. That query is `DATA:POIN?`,
        not `*OPC?`: on real DMMs INIT is an overlapped command and `*OPC?` answers only
        once the whole acquisition is complete (minutes; never, before a BUS trigger),
        while `DATA:POIN?` is answered at once, after the commands before it.

        A trigger timed over a loose round trip (see `LOOSE_S`) is aborted and armed
        again, a bounded number of times; the readings of the attempts before are read
        out and dropped first (photodiode-scpi.md does not say that `INIT` clears the
        memory), so they are never timed from the new trigger: a few ms of light not
        seen, before the acquisition starts.
        """
        if self.interval_s is None:
            raise InstrumentError(f"{self._name}: arm() before configure()")
        for attempt in range(REARMS + 1):
            trigger = self._arm_once()
            if not self._loose(trigger.u_s) or attempt == REARMS:
                break
            self.abort()
            self._discard()
            time.sleep(REARM_PAUSE_S)
        self._tightest_u_s = min(self._tightest_u_s, trigger.u_s)
        self.trigger = trigger
        return trigger

    def _discard(self) -> None:
        """Empty the instrument's memory (an aborted acquisition's readings), bounded."""
        for _ in range(MAX_DRAIN_ROUNDS):
            if self.available() == 0:
                return
            self.read_available()

    def _loose(self, u_s: float) -> bool:
        """Looser than `LOOSE_S` and, once it has given one, than `LOOSE_FACTOR` times
        this instrument's tightest trigger (a slow link is not armed again and again)."""
        tightest = self._tightest_u_s if self._tightest_u_s < float("inf") else 0.0
        return u_s > max(LOOSE_S, LOOSE_FACTOR * tightest)

    def _arm_once(self) -> Trigger:
        with self._lock:
            if self.trigger_source == "BUS":
                with self._visa("INIT"):
                    self._res.write("INIT")
                    self._res.query("DATA:POIN?")
                cmd = "*TRG"
            else:
                cmd = "INIT"
            with self._visa(cmd):
                before = time.monotonic()
                self._res.write(cmd)
                self._res.query("DATA:POIN?")
                after = time.monotonic()
            errors = self.errors()
        if errors:
            raise InstrumentError(f"{self._name} refused {cmd}: " + "; ".join(errors))
        return Trigger((before + after) / 2.0, (after - before) / 2.0)

    def available(self) -> int:
        """Readings in the instrument's memory now (DATA:POIN?)."""
        n = int(self._query_float("DATA:POIN?"))
        if n < 0:
            raise InstrumentError(f"{self._name}: negative DATA:POIN? answer {n}")
        return n

    def read_available(self, max_n: int | None = None) -> np.ndarray:
        """Remove and return the readings taken so far (at most `max_n`), oldest first,
        as native-endian float32/float64 volts.

        The count is asked first (DATA:POIN?) and then exactly that many are requested
        (`R? n`), so every block is checked against a known size: a header declaring more
        bytes than asked for, or not whole readings, or a block not followed by `\\n`, is
        an `InstrumentError`, never a shifted trace; fewer whole readings (down to an
        empty `#10`) are what R? allows. A block shorter than its own header never
        completes: that is a timeout. An indefinite `#0` block is read by the known size
        (it has no length of its own, and its data may contain `\\n` bytes).
        """
        native = self._dtype.newbyteorder("=")
        with self._lock:
            n = self.available()
            if max_n is not None:
                n = min(n, max_n)
            if n <= 0:
                return np.empty(0, native)
            hint = "no complete block: a silent instrument, or a block short of its header"
            with self._visa("R?", resync=True, hint=hint):
                self._res.write(f"R? {n}")
                body = self._read_block(n)
        return np.frombuffer(body, self._dtype).astype(native)

    def _read_block(self, n: int) -> bytes:
        """The data bytes of one IEEE 488.2 block answering `R? n`, and its `\\n`.

        Read by byte count with the termination character off: REAL data is full of 0x0A
        bytes, and pyvisa (`query_binary_values` included) stops at each one and resumes,
        which costs ~3x the time of the whole transfer. Reading the header first also
        lets the length be checked before a single data byte is trusted.
        """
        res, size = self._res, self._dtype.itemsize
        want = n * size
        res.read_termination = None
        try:
            head = res.read_bytes(2)
            if head[:1] != b"#" or not head[1:2].isdigit():
                self._discard_input()
                raise InstrumentError(f"{self._name}: R? answer is not a block: {head!r}...")
            digits = int(head[1:2])
            if digits == 0:  # indefinite: ends at the terminator, so only the count sizes it
                length = want
            else:
                text = res.read_bytes(digits)
                if not text.isdigit():
                    self._discard_input()
                    raise InstrumentError(f"{self._name}: R? block header {head + text!r}")
                length = int(text)
            if length > want or length % size:
                self._discard_input()
                raise InstrumentError(
                    f"{self._name}: R? {n} answered a block of {length} bytes; expected "
                    f"whole {size}-byte readings, at most {n} ({want} bytes)"
                )
            try:
                block = res.read_bytes(length + 1)
            except pyvisa.errors.VisaIOError as e:
                if e.error_code != constants.StatusCode.error_timeout:
                    raise
                self._discard_input()  # the header came, its data did not: say so
                raise InstrumentError(
                    f"{self._name}: R? {n}: short block: its header announced {length} bytes "
                    f"and fewer came within {res.timeout / 1000:g} s (a truncated transfer)"
                ) from e
        finally:
            res.read_termination = "\n"
        if block[-1:] != b"\n":
            self._discard_input()
            raise InstrumentError(
                f"{self._name}: R? {n} block of {length} bytes not followed by \\n "
                f"(got {block[-1:]!r}): the block is longer than its header says"
            )
        return block[:-1]

    def abort(self) -> None:
        """Stop acquiring; readings taken stay in memory for `read_available`."""
        with self._lock, self._visa("ABOR"):
            self._res.write("ABOR")

    def measure_once(self) -> float:
        """One reading now, in volts (MEAS:VOLT:DC?, answered in ASCII)."""
        return self._query_float("MEAS:VOLT:DC?")

    # -- plumbing ----------------------------------------------------------------------

    def _query_float(self, cmd: str) -> float:
        with self._lock, self._visa(cmd):
            text = self._res.query(cmd).strip()
        try:
            return float(text)
        except ValueError:
            raise InstrumentError(f"{self._name}: {cmd} answered {text[:80]!r}") from None

    @contextmanager
    def _visa(self, what: str, *, resync: bool = False, hint: str = "") -> Iterator[None]:
        """Turn pyvisa's failures into `InstrumentError` naming the step; after a failed
        block read, drop whatever is left of it so the next answer is not misread."""
        try:
            yield
        except pyvisa.errors.VisaIOError as e:
            if resync:
                self._discard_input()
            if e.error_code == constants.StatusCode.error_timeout:
                timeout = self._res.timeout / 1000.0 if self._res.timeout else None
                raise InstrumentError(
                    f"instrument timed out on {what} ({self._name}, {timeout} s"
                    + (f"; {hint})" if hint else ")")
                ) from e
            raise InstrumentError(f"{self._name}: {what} failed: {e.description}") from e
        except (pyvisa.errors.Error, ValueError, OSError, UnicodeDecodeError) as e:
            if resync:
                self._discard_input()
            raise InstrumentError(f"{self._name}: {what} failed: {e}") from e

    def _discard_input(self) -> None:
        with suppress(pyvisa.errors.Error, OSError, NotImplementedError):
            self._res.clear()


def _disable_nagle(res: MessageBasedResource) -> None:
    """Send each small SCPI write at once on a raw socket.

    With Nagle on, a write that follows another unanswered write (`INIT` then `*OPC?`,
    or the nine commands of `configure`) waits for the peer's delayed ACK, ~40 ms on
    Linux: that would widen every trigger bound to tens of ms. NI-VISA turns Nagle off
    by default; pyvisa-py 0.8 leaves it on and rejects VI_ATTR_TCPIP_NODELAY (its setter is
    not wired), so after asking politely this reaches the session's socket.
    """
    if res.interface_type != constants.InterfaceType.tcpip:
        return
    try:
        res.set_visa_attribute(constants.ResourceAttribute.tcpip_nodelay, constants.VI_TRUE)
        return
    except Exception:  # pyvisa-py raises its own UnknownAttribute, not a pyvisa error
        pass
    sessions = getattr(res.visalib, "sessions", None)
    session = sessions.get(res.session) if isinstance(sessions, dict) else None
    sock = getattr(session, "interface", None)
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

"""SimDevice: simulated smart glasses on a real pty, speaking bench protocol 1.1 to the letter.

The device is a state machine on one thread (`Reactor`); its LED is the shared `Led`
the simulated photodiode reads, written ahead of time through `LedDriver`. Timing is
physical: a capture's LED-on, exposures and LED-off are scheduled on the host clock when
the request is handled, and every event's `t_us` is the device-clock time at which that
thing happened, not when the thread got round to sending it.

Where the spec leaves room, this device does what a careful firmware would:

- A line that is not a JSON object (console text, bad UTF-8, oversize, broken JSON) is
  not a message and is ignored. A JSON object whose ``id`` is not an integer in
  1..2^31-1 cannot be answered (a response must carry the request's id); it gets no
  response, only a ``log`` event (level "warn"). With a valid id: a missing or non-string
  ``cmd``, ``args`` not an object, a missing or unknown argument name, or a bad value is
  BAD_REQUEST; an unknown ``cmd`` is UNKNOWN_COMMAND. Unknown top-level keys are ignored.
- ``reply_delay_ms`` delays the *handling* of every request but `clock` (a busy main
  loop: a capture starts late, its events stay exact). `clock` is answered on a fast
  path, as shims built for time sync do, after ``clock_delay_ms`` (0); its ``t_us`` is
  read when it is handled. A device slow on `clock` too cannot be synced closer than half
  its round trip, which leaves timing clauses inconclusive rather than wrong.
- Captures are checked in this order: arguments, BUSY (a recording runs or a photo is
  being taken; the spec lawyer also while the last photo's exposure is < 1 s old),
  UNSUPPORTED (kind not in ``capabilities.capture``), CONSENT_REQUIRED,
  INDICATOR_FAULT (``tamper_detect`` and covered), INTERNAL (storage full).
- `record.stop`, a revoke or a reboot that comes before a recording's first frame lets
  that frame happen (at most ``camera_startup_ms`` later) and then stops: every capture
  has at least one frame and its ``capture.frame`` seq 0 event.
- Revoking audio consent during a video that records audio mutes the microphone; the
  video goes on (its scope is video) and keeps the audio recorded so far.
- `device.reboot` / `device.factory_reset` with a recording running stop it as
  `record.stop` would (``capture.end`` reason "power", artifact kept) and turn the LED
  off *before* the response, because after the response the device is silent until
  ``boot``: requests meanwhile get no answer (the ``busy_while_rebooting`` fault models
  the BUSY alternative the error table allows).
- Make before break: a capture's sensors power up as its LED comes on (in time for the
  first frame) and down at the stop or the exposure, before the LED goes dark; both are
  written ahead on the host clock, so a busy thread never leaves a sensor powered in the
  dark (the spec lawyer powers them at the request: up to its `led_on_ms` in the dark).
  A recording's file is written off the device's thread, after `record.stop` is answered.
- Power loss sends nothing: the running capture and its data are lost, consent too.
- ``consent`` events are sent only when consent changes; revoking "all" sends one per
  scope that was granted.

With ``lawyer_seed`` set it stops being kind and takes every liberty the spec allows
(`lawyer`); its free text and ids come from `voice`, the catalogue's liars from `liars`.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness import spec
from harness.sim.capture import CaptureCommands
from harness.sim.commands import DeviceCommands
from harness.sim.config import SimDeviceConfig, apply_knobs
from harness.sim.device_clock import DeviceClock
from harness.sim.device_state import TICK_S, Power, Recording, Reply
from harness.sim.draw import Draw
from harness.sim.faults import SILENT_AFTER, VANISH_AFTER, check_faults, fault_knobs
from harness.sim.lawyer import Lawyer
from harness.sim.led import Led
from harness.sim.led_driver import LedDriver
from harness.sim.lifecycle import Lifecycle
from harness.sim.protocol import (
    LineSplitter,
    Refusal,
    check_request,
    parse_message,
    request_id,
    response,
)
from harness.sim.pty_port import PtyPort
from harness.sim.reactor import Reactor, Timer
from harness.sim.sensors import SensorPower
from harness.sim.storage import Storage
from harness.sim.voice import Voice

__all__ = ["SimDevice", "SimDeviceConfig"]

log = logging.getLogger(__name__)

LED_HISTORY_S = 60.0  # past LED kept at least this long (longer while a reader needs it)
HOLD_MAX_S = 1.0  # events held for a response are sent by then even if none comes


class SimDevice(CaptureCommands, DeviceCommands, Lifecycle, SensorPower):
    """Simulated glasses on a pty at `link_path` (default: ``<new tmpdir>/dut``)."""

    def __init__(
        self,
        led: Led,
        config: SimDeviceConfig | None = None,
        faults: Iterable[str] = (),
        *,
        link_path: Path | None = None,
        keep_led_since: Callable[[], float | None] | None = None,
    ) -> None:
        """`keep_led_since` names the oldest LED instant a reader may still ask about (the
        instrument computes readings lazily); older history is pruned."""
        self.faults = check_faults(faults, "device")
        implied = fault_knobs(self.faults)
        cfg = apply_knobs(config or SimDeviceConfig(), implied)
        self.lawyer = None if cfg.lawyer_seed is None else Lawyer(cfg.lawyer_seed)
        if self.lawyer is not None:
            cfg = self.lawyer.vary(cfg, keep=frozenset(implied))
        self.config = cfg
        self._rng = random.Random(cfg.seed)
        self._tmpdir: Path | None = None
        if link_path is None:
            self._tmpdir = Path(tempfile.mkdtemp(prefix="tally-dut-"))
            link_path = self._tmpdir / "dut"
        self.port = PtyPort(link_path)
        self.reactor = Reactor(self.port, self._on_data, name="sim-device")
        self.driver = LedDriver(led)
        self.draw = Draw(led, cfg.led_a)  # what the supply sees the device draw
        self._sensors = {"camera": False, "mic": False, "covert": False}
        self._power_state = Power.OFF
        self._keep_led_since = keep_led_since
        serial = cfg.serial_number or f"SG1-{self._rng.randrange(16**8):08X}"
        lawyer = self.lawyer
        self.voice = Voice(
            self.faults, serial, *((lawyer.id_style, lawyer.ids) if lawyer else ("plain", None))
        )
        self.serial_number = self.voice.identity["serial_number"]
        self.clock = DeviceClock(time.monotonic(), 0, cfg.drift_ppm)
        self.boot_count = 0
        self.booted = threading.Event()
        self.indicator_covered = cfg.indicator_covered
        self.storage = Storage(cfg.storage_bytes, self.voice.artifact_id)
        # recordings' files are written here, off the device's thread (a second core)
        self.encoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim-encoder")
        self._gen = 0  # power session; timers of an older one are void
        self._lines = LineSplitter()
        self._withheld = self._withheld_commands()
        self._consent = dict.fromkeys(spec.SCOPES, False)
        self._recording: Recording | None = None
        self._photo_busy = False
        self._busy_until = 0.0  # the lawyer's "previous photo still being exposed"
        self._belief = False
        self._indicator_muted = False  # `indicator` events withheld (a silent shutdown)
        # changes still to come: (time, on, timer, power session)
        self._belief_timers: list[tuple[float, bool, Timer, int]] = []
        self._requests_this_boot = 0
        self._requests_total = 0
        self._last_id = 0
        self._vanished = False
        self._noise_count = 0
        self._next_session = 1
        self._eol = "crlf" if cfg.crlf else lawyer.eol if lawyer else "lf"
        self._held: list[bytes] | None = None  # events held back until after a response
        self._held_lag = 0.0
        self._hung = False  # `silent_mid_recording`: the main loop is stuck until power is cut
        self._hang_done = False
        self._recordings_begun = 0  # since the simulator started (not reset by a boot)
        if "flood" in self.faults:
            self.reactor.on_low_water = self._flood
        if "event_flood" in self.faults:
            self.reactor.on_low_water = self._flood_events

    # -- public, any thread -------------------------------------------------------------

    @property
    def link_path(self) -> Path:
        return self.port.path

    @property
    def powered(self) -> bool:
        return self._power is not Power.OFF

    def has(self, fault: str) -> bool:
        return fault in self.faults

    def _withheld_commands(self) -> frozenset[str]:
        """Commands answered UNSUPPORTED: the optional self-test without its capability, and
        the mandatory ones a liar refuses."""
        withheld = set() if self.config.indicator_selftest else {"indicator.selftest"}
        for fault, cmds in (
            ("unsupported_delete", ("artifact.delete",)),
            ("unsupported_reboot", ("device.reboot", "device.factory_reset")),
            ("unsupported_info", ("artifact.info",)),
        ):
            if self.has(fault):
                withheld.update(cmds)
        return frozenset(withheld)

    def start(self, *, powered: bool = True, timeout: float = 5.0) -> SimDevice:
        """Open the pty; if `powered`, boot at once and wait (bounded) for the first `boot`.

        Unpowered, the device waits for `power_on()` (a bench supply whose output is off).
        """
        self.port.open()
        self.reactor.start()
        if powered:
            self.reactor.post(lambda: self._boot("power_on"))
            if not self.booted.wait(timeout):
                raise TimeoutError("simulated device did not boot")
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread, close the pty, darken the LED, remove the temporary directory."""
        if not self.reactor.stop(timeout):
            log.warning("simulated device thread did not stop within %.1f s", timeout)
        self.port.close()
        self.encoder.shutdown(wait=False, cancel_futures=True)
        self.driver.clear()
        self.driver.render()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    def __enter__(self) -> SimDevice:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def power_off(self) -> None:
        """The supply's output went off: silent at once, LED dark, capture and consent lost."""
        self.reactor.post(self._power_off)

    def power_on(self) -> None:
        """The supply's output came on: `boot` (reason power_on) after ``reboot_ms``."""
        self.reactor.post(self._power_on)

    def set_indicator_covered(self, covered: bool) -> None:
        """Tape over the LED; a `tamper_detect` device ends a running recording."""
        self.reactor.post(lambda: self._set_covered(covered))

    def to_device_us(self, host_t: float) -> int:
        """Truth for tests: the device clock (this boot) at host monotonic time `host_t`."""
        return self.clock.to_device_us(host_t)

    def to_host(self, t_us: int) -> float:
        return self.clock.to_host(t_us)

    # -- timers and output --------------------------------------------------------------

    def _at(self, t: float, action: Callable[[], None]) -> Timer:
        """Run `action` at host time `t`, unless the device lost power or rebooted since."""
        gen = self._gen

        def guarded() -> None:
            if self._gen == gen:
                action()

        return self.reactor.call_at(t, guarded)

    def _line(self, data: bytes) -> bytes:
        """`data` with its line end: LF, CRLF, or (lawyer) either, fixed per content."""
        crlf = self._eol == "crlf" or (self._eol == "mixed" and zlib.crc32(data) & 1)
        return data + (b"\r\n" if crlf else b"\n")

    def _send(self, obj: dict[str, Any]) -> None:
        if self._hung:
            return
        obj = self._as_sent(obj)
        data = self._line(json.dumps(obj).encode())
        if "event" in obj and self._held is not None:
            self._held.append(data)
        else:
            self.reactor.send(data)
        self._after_send(obj)

    def _console(self, line: bytes) -> None:
        if not self._hung:
            self.reactor.send(self._line(line), console=True)

    def _emit(self, event: str, t: float, **fields: Any) -> None:
        """Send an event that happened at host time `t` (silent unless up)."""
        if self._power is Power.UP:
            self._send({"event": event, "t_us": self.clock.to_device_us(t), **fields})

    def _narrate(self, t: float) -> None:
        for message in self.voice.narration():
            self._emit("log", t, level="info", message=message)

    def _hold_events(self, lag: float) -> None:
        """Hold every event back until `lag` after the next response (lawyer): the events
        of a capture then follow the response that they would have preceded."""
        if self._held is None:
            self._held = []
            self._at(time.monotonic() + HOLD_MAX_S, self._release_held)
        self._held_lag = lag

    def _release_held(self) -> None:
        held, self._held = self._held, None
        for data in held or ():
            self.reactor.send(data)

    def _reply(
        self, wire_id: int, *, result: dict[str, Any] | None = None, error: Refusal | None = None
    ) -> None:
        if self._power is Power.OFF:
            return
        if error is not None:
            error = Refusal(error.code, self.voice.error(error.code, error.message))
        msg = response(wire_id, result, error)
        for _ in range(2 if self.has("dup_response") else 1):
            self._send(msg)
        if self._held is not None:
            self._at(time.monotonic() + self._held_lag, self._release_held)
        if self.has("vanish") and not self._vanished and self._requests_total >= VANISH_AFTER:
            self._vanished = True
            self._at(time.monotonic() + 0.05, self._vanish)

    # -- input --------------------------------------------------------------------------

    def _on_data(self, data: bytes, t: float) -> None:
        if self._power is Power.OFF:
            return
        for raw in self._lines.feed(data):
            self._on_line(raw, t)

    def _on_line(self, raw: bytes, t: float) -> None:
        msg = parse_message(raw)
        if msg is None or self._hung:
            return
        msg = self._as_received(msg)
        rid = request_id(msg)
        if rid is None:
            self._emit("log", t, level="warn", message="request without a valid id ignored")
            return
        if self._power is Power.BOOTING:
            if self.has("busy_while_rebooting"):
                self._reply(rid, error=Refusal("BUSY", "rebooting"))
            return
        self._requests_this_boot += 1
        self._requests_total += 1
        if self.has("silent_after_5") and self._requests_this_boot > SILENT_AFTER:
            return
        wire_id = self._last_id if self.has("unknown_id") else rid
        self._last_id = rid
        cfg, cmd = self.config, msg.get("cmd")
        if cmd == "clock":
            delay = cfg.clock_delay_ms / 1000
        elif self.lawyer is not None:
            delay = self.lawyer.reply_delay(cmd, cfg)
        else:
            delay = cfg.reply_delay_ms / 1000
        if delay > 0:
            # Handled when the busy loop gets to it: at its time, or later on a loaded host
            # (stamped with the time scheduled, a late handler would light the LED after
            # the instrument had already seen that moment dark and claim the frames lit).
            self._at(
                t + delay,
                lambda: self._handle(msg, wire_id, max(t + delay, time.monotonic())),
            )
        else:
            self._handle(msg, wire_id, t)

    def _handle(self, msg: dict[str, Any], wire_id: int, t: float) -> None:
        """Run one request; handlers return a result, or None when they reply later."""

        def reply(result: dict[str, Any]) -> None:
            self._reply(wire_id, result=result)

        try:
            result = self._dispatch(msg, t, reply)
        except Refusal as refusal:
            self._reply(wire_id, error=refusal)
            return
        except Exception:
            log.exception("simulated device: %s failed", msg.get("cmd"))
            self._reply(wire_id, error=Refusal("INTERNAL", "internal error"))
            return
        if result is not None:
            reply(result)

    def _dispatch(self, msg: dict[str, Any], t: float, reply: Reply) -> dict[str, Any] | None:
        cmd, args = check_request(msg, self._withheld)
        handler = getattr(self, "_cmd_" + cmd.replace(".", "_"))
        return handler(args, t, reply)

    # -- the LED and what the device says about it --------------------------------------

    def _render(self) -> float:
        """Rewrite the LED's future and reschedule the indicator events that follow from it;
        return the host time it was written from.

        A change whose time has come but whose timer has not yet run (the thread was busy)
        happened then: the LED's past is never rewritten, so it is sent stamped with its
        own time, before the changes from now on."""
        changes = self.driver.render()
        now = changes[0][0]  # when the LED was written: its belief is stamped no earlier
        for t, on, timer, gen in self._belief_timers:
            if timer.pending and t <= now and gen == self._gen:
                self._set_belief(on, t)
            timer.cancel()
        self._belief_timers = []
        for t, on in changes:
            if t <= now:
                self._set_belief(on, t)
            else:
                timer = self._at(t, lambda on=on, t=t: self._set_belief(on, t))
                self._belief_timers.append((t, on, timer, self._gen))
        return now

    def _set_belief(self, on: bool, t: float) -> None:
        if on != self._belief:
            self._belief = on
            if not self._indicator_muted:
                self._emit("indicator", t, state="on" if on else "off")

    def _tick(self) -> None:
        now = time.monotonic()
        if self.driver.active:
            self._render()
        keep = now - LED_HISTORY_S
        if self._keep_led_since is not None:
            keep = min(keep, self._keep_led_since() or keep)
        self.driver.led.prune(keep)
        self._at(now + TICK_S, self._tick)

"""SimDevice: simulated smart glasses on a real pty, speaking bench protocol 1 to the letter.

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
  being taken), UNSUPPORTED (kind not in ``capabilities.capture``), CONSENT_REQUIRED,
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
- Power loss sends nothing: the running capture and its data are lost, consent too.
- ``consent`` events are sent only when consent changes; revoking "all" sends one per
  scope that was granted.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from harness import spec
from harness.sim.capture import CaptureCommands
from harness.sim.config import SimDeviceConfig, apply_knobs
from harness.sim.device_clock import DeviceClock
from harness.sim.device_state import FIRMWARE, MODEL, TICK_S, VENDOR, Power, Recording, Reply
from harness.sim.draw import Draw
from harness.sim.faults import (
    COVERT_EVERY_S,
    COVERT_S,
    REVOKE_SLOW_S,
    SILENT_AFTER,
    VANISH_AFTER,
    check_faults,
    fault_knobs,
)
from harness.sim.led import Led
from harness.sim.led_driver import Demand, LedDriver
from harness.sim.lifecycle import Lifecycle
from harness.sim.protocol import (
    LineSplitter,
    Refusal,
    artifact_id,
    check_request,
    choice,
    parse_message,
    request_id,
    response,
    selftest_ms,
)
from harness.sim.pty_port import PtyPort
from harness.sim.reactor import Reactor, Timer
from harness.sim.storage import Artifact, Storage

__all__ = ["SimDevice", "SimDeviceConfig"]

log = logging.getLogger(__name__)

LED_HISTORY_S = 60.0  # past LED kept at least this long (longer while a reader needs it)


class SimDevice(CaptureCommands, Lifecycle):
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
        self.config = apply_knobs(config or SimDeviceConfig(), fault_knobs(self.faults))
        cfg = self.config
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
        self.serial_number = cfg.serial_number or f"SG1-{self._rng.randrange(16**8):08X}"
        self.clock = DeviceClock(time.monotonic(), 0, cfg.drift_ppm)
        self.boot_count = 0
        self.booted = threading.Event()
        self.indicator_covered = cfg.indicator_covered
        self.storage = Storage(cfg.storage_bytes)
        self._gen = 0  # power session; timers of an older one are void
        self._lines = LineSplitter()
        self._offered = frozenset({"indicator.selftest"} if cfg.indicator_selftest else ())
        self._consent = dict.fromkeys(spec.SCOPES, False)
        self._recording: Recording | None = None
        self._photo_busy = False
        self._belief = False
        self._belief_timers: list[Timer] = []
        self._requests_this_boot = 0
        self._requests_total = 0
        self._last_id = 0
        self._vanished = False
        self._noise_count = 0
        self._next_session = 1
        self._eol = b"\r\n" if cfg.crlf else b"\n"
        if "flood" in self.faults:
            self.reactor.on_low_water = self._flood

    # -- public, any thread -------------------------------------------------------------

    @property
    def link_path(self) -> Path:
        return self.port.path

    @property
    def powered(self) -> bool:
        return self._power is not Power.OFF

    def has(self, fault: str) -> bool:
        return fault in self.faults

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
        self.driver.clear()
        self.driver.render(time.monotonic())
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

    def current_a(self) -> float:
        """Supply current now (the LED's apart): idle draw, plus camera and microphone
        while powered."""
        if self._power is Power.OFF:
            return 0.0
        cfg = self.config
        up = self._power is Power.UP
        camera = self._camera or self._covert or (self.has("preroll") and up)
        mic = self._mic or (self.has("mic_wake_word") and up)
        return cfg.idle_a + cfg.camera_a * camera + cfg.mic_a * mic

    def draw_a(self, times: Any) -> Any:
        """The instantaneous draw at host times (a numpy array), the LED's included."""
        return self.draw.amps(times)

    # What the device powers: every change is noted on the draw timeline when it happens.

    def _powering(self, name: str, on: bool) -> None:
        if self._sensors[name] != on:
            self._sensors[name] = on
            self.draw.set(time.monotonic(), self.current_a())

    @property
    def _camera(self) -> bool:
        return self._sensors["camera"]

    @_camera.setter
    def _camera(self, on: bool) -> None:
        self._powering("camera", on)

    @property
    def _mic(self) -> bool:
        return self._sensors["mic"]

    @_mic.setter
    def _mic(self, on: bool) -> None:
        self._powering("mic", on)

    @property
    def _covert(self) -> bool:
        return self._sensors["covert"]

    @_covert.setter
    def _covert(self, on: bool) -> None:
        self._powering("covert", on)

    @property
    def _power(self) -> Power:
        return self._power_state

    @_power.setter
    def _power(self, state: Power) -> None:
        self._power_state = state
        self.draw.set(time.monotonic(), self.current_a())

    def _covert_burst(self) -> None:
        """`covert_burst`: the camera powered in the dark, with no event and no light."""
        now = time.monotonic()
        self._covert = True

        def off() -> None:
            self._covert = False

        self._at(now + COVERT_S, off)
        self._at(now + COVERT_EVERY_S, self._covert_burst)

    def cover_at(self, covered: bool, t: float) -> None:
        """The bench's shutter reaches (or leaves) the LED at host time `t` (any thread)."""
        self.reactor.post(lambda: self.reactor.call_at(t, lambda: self._set_covered(covered)))

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

    def _send(self, obj: dict[str, Any]) -> None:
        self.reactor.send(json.dumps(obj).encode() + self._eol)

    def _console(self, line: bytes) -> None:
        self.reactor.send(line + self._eol, console=True)

    def _emit(self, event: str, t: float, **fields: Any) -> None:
        """Send an event that happened at host time `t` (silent unless up)."""
        if self._power is Power.UP:
            self._send({"event": event, "t_us": self.clock.to_device_us(t), **fields})

    def _reply(
        self, wire_id: int, *, result: dict[str, Any] | None = None, error: Refusal | None = None
    ) -> None:
        if self._power is Power.OFF:
            return
        msg = response(wire_id, result, error)
        for _ in range(2 if self.has("dup_response") else 1):
            self._send(msg)
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
        if msg is None:
            return
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
        cfg = self.config
        delay = (cfg.clock_delay_ms if msg.get("cmd") == "clock" else cfg.reply_delay_ms) / 1000
        if delay > 0:
            self._at(t + delay, lambda: self._handle(msg, wire_id, t + delay))
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
        cmd, args = check_request(msg, self._offered)
        handler = getattr(self, "_cmd_" + cmd.replace(".", "_"))
        return handler(args, t, reply)

    # -- commands: identity and state ---------------------------------------------------

    def _cmd_hello(self, args: dict[str, Any], t: float, reply: Reply) -> dict[str, Any]:
        return {
            "protocol": spec.PROTOCOL_VERSION,
            "vendor": VENDOR,
            "model": MODEL,
            "firmware": FIRMWARE,
            "serial_number": self.serial_number,
            "capabilities": {
                "capture": list(self.config.capture_kinds),
                "indicator_selftest": self.config.indicator_selftest,
                "tamper_detect": self.config.tamper_detect,
            },
        }

    def _cmd_clock(self, args: dict[str, Any], t: float, reply: Reply) -> dict[str, Any]:
        return {"t_us": self.clock.to_device_us(time.monotonic())}

    def _cmd_state(self, args: dict[str, Any], t: float, reply: Reply) -> dict[str, Any]:
        rec = self._recording
        recording = None
        if rec is not None:
            since = self.clock.to_device_us(rec.requested)
            recording = {"kind": rec.kind, "session": rec.session, "since_us": since}
        return {
            "recording": recording,
            "indicator": "on" if self._belief else "off",
            "consent": dict(self._consent),
            "artifacts": len(self.storage.ids()),
        }

    # -- commands: consent --------------------------------------------------------------

    def _cmd_consent_grant(self, args: dict[str, Any], t: float, reply: Reply) -> dict[str, Any]:
        scope = choice(args, "scope", spec.SCOPES)
        choice(args, "gesture", spec.GESTURES)
        if not self._consent[scope]:
            self._consent[scope] = True
            self._emit("consent", t, scope=scope, granted=True)
        return {}

    def _cmd_consent_revoke(self, args: dict[str, Any], t: float, reply: Reply) -> dict[str, Any]:
        scope = choice(args, "scope", (*spec.SCOPES, "all"))
        scopes = spec.SCOPES if scope == "all" else (scope,)
        for s in scopes:
            if self._consent[s]:
                self._consent[s] = False
                self._emit("consent", t, scope=s, granted=False)
        rec = self._recording
        if rec is not None and not rec.stopping:
            if rec.kind in scopes:
                self._revoke_recording(rec, t)
            elif "audio" in scopes and rec.mic:
                rec.mic = self._mic = False
        return {}

    def _revoke_recording(self, rec: Recording, t: float) -> None:
        if self.has("revoke_ignored"):
            return
        if self.has("revoke_slow"):
            if rec.stop_timer is None:
                when = t + REVOKE_SLOW_S
                rec.stop_timer = self._at(when, lambda: self._stop(rec, "consent_revoked", when))
            return
        self._stop(rec, "consent_revoked", t)

    def _consent_ok(self, scope: str, source: str) -> bool:
        if self._consent[scope]:
            return True
        if source == "agent" and self.has("agent_bypass"):
            return True
        if scope == "photo" and self.has("photo_no_consent"):
            return True
        return scope in ("photo", "audio") and self.has("scope_leak") and self._consent["video"]

    # -- commands: artifacts ------------------------------------------------------------

    def _cmd_artifact_list(self, args: dict[str, Any], t: float, reply: Reply) -> dict[str, Any]:
        return {"artifacts": self.storage.ids()}

    def _artifact(self, args: dict[str, Any]) -> Artifact:
        aid = artifact_id(args)
        artifact = self.storage.get(aid)
        if artifact is None:
            raise Refusal("NOT_FOUND", f"no artifact {aid[:32]!r}")
        return artifact

    def _cmd_artifact_info(self, args: dict[str, Any], t: float, reply: Reply) -> dict[str, Any]:
        return self._artifact(args).info()

    def _cmd_artifact_delete(self, args: dict[str, Any], t: float, reply: Reply) -> dict[str, Any]:
        self.storage.delete(self._artifact(args).id, keep_file=self.has("undeleted"))
        return {}

    # -- commands: indicator and device -------------------------------------------------

    def _cmd_indicator_selftest(
        self, args: dict[str, Any], t: float, reply: Reply
    ) -> dict[str, Any]:
        ms = selftest_ms(args)
        cfg = self.config
        style = (cfg.led_level, cfg.pwm_hz, cfg.pwm_duty)
        self.driver.put("selftest", Demand(t, t + ms / 1000, style, report_lag=self._report_lag()))
        self._render()
        return {}

    # -- the LED and what the device says about it --------------------------------------

    def _render(self) -> None:
        """Rewrite the LED's future and reschedule the indicator events that follow from it."""
        now = time.monotonic()
        changes = self.driver.render(now)
        for timer in self._belief_timers:
            timer.cancel()
        self._belief_timers = []
        for t, on in changes:
            if t <= now:
                self._set_belief(on, t)
            else:
                self._belief_timers.append(self._at(t, lambda on=on, t=t: self._set_belief(on, t)))

    def _set_belief(self, on: bool, t: float) -> None:
        if on != self._belief:
            self._belief = on
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

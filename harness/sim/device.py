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

import enum
import json
import logging
import math
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import spec
from harness.sim import console
from harness.sim.config import SimDeviceConfig, apply_knobs
from harness.sim.device_clock import DeviceClock
from harness.sim.faults import check_faults, fault_knobs
from harness.sim.led import Led
from harness.sim.led_driver import Demand, Gaps, LedDriver, Style
from harness.sim.protocol import (
    LineSplitter,
    Refusal,
    artifact_id,
    check_request,
    choice,
    metadata,
    parse_message,
    request_id,
    response,
    selftest_ms,
)
from harness.sim.pty_port import PtyPort
from harness.sim.reactor import Reactor, Timer
from harness.sim.storage import PHOTO_BYTES, Artifact, Storage, media_bytes

__all__ = ["SimDevice", "SimDeviceConfig"]

log = logging.getLogger(__name__)

VENDOR, MODEL, FIRMWARE = "Simulated Optics", "SimGlass-1", "1.4.2-sim"
TICK_S = 0.5  # LED re-render and housekeeping period (well inside the driver's horizon)
LED_HISTORY_S = 60.0  # past LED kept at least this long (longer while a reader needs it)
NOISE_PER_S = 10.0  # `bad_utf8`: broken lines a second
FLOOD_CHUNK = 16 * 1024

# Fault constants: the size of each misbehaviour.
LED_LATE_S = 0.080
DROPOUT_AT_S, DROPOUT_S = 0.400, 0.150
FLICKER_EVERY_S, FLICKER_S = 0.250, 0.030
DIM_PWM_HZ, DIM_PWM_DUTY = 1000.0, 0.06
PHOTO_BLINK_S = 0.100
LYING_LAG_S = 0.400
REVOKE_SLOW_S = 2.5
PREROLL_S = 1.5
VANISH_AFTER, VANISH_FOR_S = 5, 1.5
SILENT_AFTER = 5


class Power(enum.Enum):
    OFF = "off"
    BOOTING = "booting"  # powered, silent until `boot`
    UP = "up"


Reply = Callable[[dict[str, Any]], None]


@dataclass
class Recording:
    """A running `record.start` session (host times)."""

    session: str
    kind: str
    source: str
    fields: tuple[str, ...]
    requested: float
    first_frame: float
    period: float
    mic: bool
    audio_track: bool
    preroll_frames: int = 0
    frame_timer: Timer | None = None
    stopping: bool = False
    stop_timer: Timer | None = None


class SimDevice:
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
        self._keep_led_since = keep_led_since
        self.serial_number = cfg.serial_number or f"SG1-{self._rng.randrange(16**8):08X}"
        self.clock = DeviceClock(time.monotonic(), 0, cfg.drift_ppm)
        self.boot_count = 0
        self.booted = threading.Event()
        self.indicator_covered = cfg.indicator_covered
        self.storage = Storage(cfg.storage_bytes)
        self._power = Power.OFF
        self._gen = 0  # power session; timers of an older one are void
        self._lines = LineSplitter()
        self._offered = frozenset({"indicator.selftest"} if cfg.indicator_selftest else ())
        self._consent = dict.fromkeys(spec.SCOPES, False)
        self._recording: Recording | None = None
        self._photo_busy = False
        self._camera = False
        self._mic = False
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
        """Supply current now: idle draw, plus camera and microphone while powered."""
        if self._power is Power.OFF:
            return 0.0
        cfg = self.config
        camera = self._camera or (self.has("preroll") and self._power is Power.UP)
        return cfg.idle_a + cfg.camera_a * camera + cfg.mic_a * self._mic

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

    # -- commands: captures -------------------------------------------------------------

    def _admit(self, kind: str, source: str, fields: tuple[str, ...], t: float) -> None:
        """Refuse a capture as the spec orders it, or return to let it start."""
        if self._recording is not None or self._photo_busy:
            raise Refusal("BUSY", "a capture is running")
        if kind not in self.config.capture_kinds:
            raise Refusal("UNSUPPORTED", f"{kind} capture not offered")
        if not self._consent_ok(kind, source):
            if self.has("refused_keeps_artifact"):
                self.storage.add(self._snapshot(self.storage.new_id(), kind, source, fields, t))
            raise Refusal("CONSENT_REQUIRED", f"{kind} consent not granted")
        if self.config.tamper_detect and self.indicator_covered:
            raise Refusal("INDICATOR_FAULT", "indicator covered")
        if not self.storage.has_room(PHOTO_BYTES[1] + 4096):
            raise Refusal("INTERNAL", "storage full")

    def _snapshot(
        self, aid: str, kind: str, source: str, fields: tuple[str, ...], t: float
    ) -> Artifact:
        """A one-frame artifact: a photo, or the frame a refused capture grabbed anyway."""
        t_us = self.clock.to_device_us(t)
        tracks = ("audio",) if kind == "audio" else ("video",)
        photo = self._rng.randint(*PHOTO_BYTES) if kind != "audio" else 0
        size = media_bytes(1, tracks, 1, photo)
        return Artifact(aid, kind, source, t_us, t_us, 1, tracks, self._stored_fields(fields), size)

    def _stored_fields(self, fields: tuple[str, ...]) -> tuple[str, ...]:
        if self.has("extra_metadata") and "location" not in fields:
            return (*fields, "location")
        return fields

    def _style(self) -> Style:
        cfg = self.config
        if self.has("led_dim_pwm"):
            return (cfg.led_level, DIM_PWM_HZ, DIM_PWM_DUTY)
        return (cfg.led_level, cfg.pwm_hz, cfg.pwm_duty)

    def _lights(self, source: str) -> bool:
        return not (source == "agent" and self.has("agent_dark"))

    def _report_lag(self) -> float:
        return LYING_LAG_S if self.has("lying_report") else 0.0

    def _cmd_capture_photo(self, args: dict[str, Any], t: float, reply: Reply) -> None:
        source = choice(args, "source", spec.SOURCES)
        fields = metadata(args)
        self._admit("photo", source, fields, t)
        cfg = self.config
        aid = self.storage.new_id()
        exposure = t + cfg.camera_startup_ms / 1000
        self._photo_busy = self._camera = True
        self._emit("capture.begin", t, kind="photo", source=source, artifact=aid)
        if self._lights(source):
            tail = PHOTO_BLINK_S if self.has("photo_blink") else cfg.photo_led_ms / 1000
            on = t + cfg.led_on_ms / 1000
            demand = Demand(on, exposure + tail, self._style(), report_lag=self._report_lag())
            self.driver.put(f"photo {aid}", demand)
            self._render()

        def expose() -> None:
            photo = self._snapshot(aid, "photo", source, fields, exposure)
            self.storage.add(photo)
            t_us = photo.first_frame_us
            self._emit("capture.frame", exposure, artifact=aid, seq=0)
            self._emit("capture.end", exposure, artifact=aid, reason="user", last_frame_us=t_us)
            self._photo_busy = self._camera = False
            reply({"artifact": aid})

        self._at(exposure, expose)
        return None

    def _cmd_record_start(self, args: dict[str, Any], t: float, reply: Reply) -> dict[str, Any]:
        kind = choice(args, "kind", spec.RECORD_KINDS)
        source = choice(args, "source", spec.SOURCES)
        fields = metadata(args)
        self._admit(kind, source, fields, t)
        cfg = self.config
        video = kind == "video"
        mic = not video or self._consent["audio"] or self.has("audio_in_video")
        period = 1 / cfg.video_fps if video else cfg.audio_buffer_ms / 1000
        first = t + cfg.camera_startup_ms / 1000
        session = f"s-{self._next_session:04d}"
        self._next_session += 1
        preroll = round(PREROLL_S / period) if video and self.has("preroll") else 0
        rec = Recording(session, kind, source, fields, t, first, period, mic, mic, preroll)
        self._recording = rec
        self._camera, self._mic = video, mic
        self._emit("capture.begin", t, kind=kind, source=source, session=session)
        if self._lights(source):
            self.driver.put("rec", self._recording_demand(t, first))
            self._render()
        rec.frame_timer = self._at(first, lambda: self._frame(rec, 0))
        return {"session": session}

    def _recording_demand(self, t: float, first: float) -> Demand:
        on = first + LED_LATE_S if self.has("led_late") else t + self.config.led_on_ms / 1000
        gaps = None
        if self.has("led_dropout"):
            gaps = Gaps(on + DROPOUT_AT_S, DROPOUT_S, reported=True)
        elif self.has("led_flicker"):
            gaps = Gaps(on + FLICKER_EVERY_S, FLICKER_S, FLICKER_EVERY_S)
        return Demand(on, math.inf, self._style(), gaps, self._report_lag())

    def _frame(self, rec: Recording, seq: int) -> None:
        """Report frame `seq` (exposed at its scheduled time) and schedule the next report."""
        t = rec.first_frame + seq * rec.period
        self._emit("capture.frame", t, session=rec.session, seq=seq)
        if self.has("event_burst"):
            step = 1
        elif self.config.frame_report_s > 0:
            step = max(1, round(self.config.frame_report_s / rec.period))
        else:
            return
        nxt = seq + step
        rec.frame_timer = self._at(
            rec.first_frame + nxt * rec.period, lambda: self._frame(rec, nxt)
        )

    def _cmd_record_stop(self, args: dict[str, Any], t: float, reply: Reply) -> None:
        rec = self._recording
        if rec is None or rec.stopping:
            raise Refusal("NOT_RECORDING", "nothing is recording")
        self._stop(rec, "user", t, reply)
        return None

    def _stop(self, rec: Recording, reason: str, t: float, reply: Reply | None = None) -> None:
        """End `rec` at `t` (or at its first frame, if that is still to come)."""
        if rec.stopping:
            return
        rec.stopping = True
        at = max(t, rec.first_frame)
        if at > time.monotonic():
            self._at(at, lambda: self._finish(rec, reason, at, reply))
        else:
            self._finish(rec, reason, at, reply)

    def _finish(self, rec: Recording, reason: str, at: float, reply: Reply | None) -> None:
        n = math.floor((at - rec.first_frame) / rec.period + 1e-9)
        last = rec.first_frame + n * rec.period
        if rec.frame_timer is not None:
            rec.frame_timer.cancel()
        if rec.stop_timer is not None:
            rec.stop_timer.cancel()
        tracks = ("video", "audio") if rec.kind == "video" and rec.audio_track else (rec.kind,)
        frames = n + 1 + rec.preroll_frames
        duration = frames * rec.period
        buffers = round(duration / (self.config.audio_buffer_ms / 1000)) if rec.audio_track else 0
        aid = self.storage.new_id()
        first_us = self.clock.to_device_us(rec.first_frame - rec.preroll_frames * rec.period)
        last_us = self.clock.to_device_us(last)
        self.storage.add(
            Artifact(
                aid,
                rec.kind,
                rec.source,
                first_us,
                last_us,
                frames,
                tracks,
                self._stored_fields(rec.fields),
                media_bytes(frames, tracks, buffers),
            )
        )
        self._recording = None
        self._camera = self._mic = False
        self._emit("capture.end", at, session=rec.session, reason=reason, last_frame_us=last_us)
        self.driver.end("rec", last + self.config.led_tail_ms / 1000)
        self._render()
        if reply is not None:
            reply({"artifact": aid})

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

    def _cmd_device_reboot(self, args: dict[str, Any], t: float, reply: Reply) -> None:
        self._shutdown("reboot", t, reply)

    def _cmd_device_factory_reset(self, args: dict[str, Any], t: float, reply: Reply) -> None:
        self._shutdown("factory_reset", t, reply)

    def _shutdown(self, reason: str, t: float, reply: Reply) -> None:
        """Stop the recording, LED off, answer, go silent, boot again."""

        def go_down(_: dict[str, Any] | None = None) -> None:
            self.driver.clear()
            self._render()
            reply({})
            self._gen += 1
            self._power = Power.BOOTING
            self._enter_reset(reason)
            self._at(time.monotonic() + self.config.reboot_ms / 1000, lambda: self._boot(reason))

        rec = self._recording
        if rec is not None and not rec.stopping:
            self._stop(rec, "power", t, go_down)
        else:
            go_down()

    def _enter_reset(self, cause: str) -> None:
        """What a reboot, factory reset or power loss forgets (faults decide what survives)."""
        self._lines.clear()
        self._recording, self._photo_busy, self._camera, self._mic = None, False, False, False
        keeps = {
            "reboot": "consent_persists",
            "factory_reset": "reset_keeps_consent",
            "power_loss": "consent_persists",
        }[cause]
        if not self.has(keeps):
            self._consent = dict.fromkeys(spec.SCOPES, False)
        if cause == "factory_reset" and not self.has("reset_keeps_artifacts"):
            self.storage.erase()

    def _boot(self, reason: str) -> None:
        cfg = self.config
        now = time.monotonic()
        self.boot_count += 1
        if self.boot_count == 1 and cfg.clock_offset_us is not None:
            offset = cfg.clock_offset_us
        else:
            offset = self._rng.randint(cfg.boot_offset_min_us, cfg.boot_offset_max_us)
        self.clock = DeviceClock(now, offset, cfg.drift_ppm)
        self._power = Power.UP
        self._requests_this_boot = 0
        self._belief = False
        self.storage.rebuild_index()
        for line in console.banner(MODEL, FIRMWARE, self.serial_number, reason):
            self._console(line)
        self._emit("boot", now, reason=reason)
        self._at(now + TICK_S, self._tick)
        if cfg.chatter > 0:
            self._chatter()
        if self.has("bad_utf8"):
            self._noise()
        self.booted.set()

    # -- power and hardware -------------------------------------------------------------

    def _power_off(self) -> None:
        if self._power is Power.OFF:
            return
        self._gen += 1
        self._power = Power.OFF
        self._enter_reset("power_loss")
        self._belief = False
        self.driver.clear()
        self._render()
        self.reactor.drop_output()

    def _power_on(self) -> None:
        if self._power is Power.OFF:
            self._power = Power.BOOTING
            self._at(
                time.monotonic() + self.config.reboot_ms / 1000, lambda: self._boot("power_on")
            )

    def _set_covered(self, covered: bool) -> None:
        self.indicator_covered = covered
        rec = self._recording
        if covered and self.config.tamper_detect and rec is not None and not rec.stopping:
            self._stop(rec, "indicator_fault", time.monotonic())

    def _vanish(self) -> None:
        """`vanish`: the port disappears, and a new one appears behind the same path later."""
        self.port.close()
        self.reactor.drop_output()
        self._lines.clear()
        self.reactor.call_at(time.monotonic() + VANISH_FOR_S, self.port.open)

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

    # -- console noise ------------------------------------------------------------------

    def _chatter(self) -> None:
        now = time.monotonic()
        if self._power is Power.UP:
            self._console(console.log_line(self._rng, now - self.clock.origin))
        self._at(now + self._rng.expovariate(self.config.chatter), self._chatter)

    def _noise(self) -> None:
        self._noise_count += 1
        self._console(console.noise_line(self._rng, self._noise_count))
        gap = self._rng.uniform(0.5, 1.5) / NOISE_PER_S
        self._at(time.monotonic() + gap, self._noise)

    def _flood(self) -> None:
        if self._power is Power.UP:
            self.reactor.send(console.flood_chunk(self._rng, FLOOD_CHUNK), console=True)

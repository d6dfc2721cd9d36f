"""The simulated device's capture commands: photos, recordings, frames and their end.

A mixin of `SimDevice` (it shares the device's state): kept apart so each module stays
small enough to read. Timing is physical, as the device module explains; where a liar
(`liars`) misstates a time or a name, the truth stays in the LED timeline and the clock
mapping, and only what the device *says* changes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from harness import spec
from harness.sim.device_state import Recording, Reply
from harness.sim.faults import (
    DIM_PWM_DUTY,
    DIM_PWM_HZ,
    DROPOUT_AT_S,
    DROPOUT_S,
    FLICKER_EVERY_S,
    FLICKER_S,
    LED_LATE_S,
    LYING_LAG_S,
    PHOTO_BLINK_S,
    PREROLL_S,
    SHORT_LAST_S,
    THERMAL_EVERY_S,
    THERMAL_S,
)
from harness.sim.files import photo_file, recording_file
from harness.sim.lawyer import CapturePlan
from harness.sim.led_driver import Demand, Gaps, Style
from harness.sim.liars import EVENTS_EARLY_S, LAST_FRAME_EARLY_S, POSTDATED_S, VIDEO_AS_PHOTO_DARK_S
from harness.sim.protocol import Refusal, choice, metadata
from harness.sim.storage import CAPTURE_RESERVE_BYTES, Artifact


class CaptureCommands:
    """`capture.photo`, `record.start`, `record.stop` and what follows from them."""

    def _admit(self, kind: str, source: str, fields: tuple[str, ...], t: float) -> None:
        """Refuse a capture as the spec orders it, or return to let it start."""
        if self._recording is not None or self._photo_busy or t < self._busy_until:
            raise Refusal("BUSY", "a capture is running")
        if kind not in self.config.capture_kinds:
            raise Refusal("UNSUPPORTED", f"{kind} capture not offered")
        if not self._consent_ok(kind, source):
            if self.has("refused_keeps_artifact"):
                self.storage.add(self._snapshot(self.storage.new_id(), kind, source, fields, t))
            raise Refusal("CONSENT_REQUIRED", f"{kind} consent not granted")
        if self.has("busy_to_everything"):
            raise Refusal("BUSY", "camera pipeline busy")
        if self.config.tamper_detect and self.indicator_covered and not self.has("tamper_ignored"):
            raise Refusal("INDICATOR_FAULT", "indicator covered")
        if not self.storage.has_room(CAPTURE_RESERVE_BYTES):
            raise Refusal("INTERNAL", "storage full")

    def _plan(self, kind: str) -> CapturePlan | None:
        return None if self.lawyer is None else self.lawyer.capture_plan(kind)

    def _snapshot(
        self, aid: str, kind: str, source: str, fields: tuple[str, ...], t: float
    ) -> Artifact:
        """A one-frame artifact: a photo, or the frame a refused capture grabbed anyway."""
        t_us = self.clock.to_device_us(t)
        tracks = ("audio",) if kind == "audio" else ("video",)
        stored = self._stored_fields(fields)
        seed = self._rng.randrange(256)
        if kind == "photo":
            data = photo_file(self._file_fields(stored, kind), seed)
        else:  # a refused recording's grabbed frame (or audio buffer)
            period = self._period(kind)
            data = recording_file(kind, 1, period, fields=stored, seed=seed)
        return Artifact(aid, kind, source, t_us, t_us, 1, tracks, stored, data)

    def _stored_fields(self, fields: tuple[str, ...]) -> tuple[str, ...]:
        if self.has("extra_metadata") and "location" not in fields:
            return (*fields, "location")
        return fields

    def _file_fields(self, fields: tuple[str, ...], kind: str) -> tuple[str, ...]:
        """The fields the file holds: those stored, plus what `exif_gps` adds unreported."""
        if kind == "photo" and self.has("exif_gps") and "location" not in fields:
            return (*fields, "location")
        return fields

    def _period(self, kind: str) -> float:
        cfg = self.config
        return 1 / cfg.video_fps if kind == "video" else cfg.audio_buffer_ms / 1000

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
        plan = self._plan("photo")
        cfg = self.config
        aid = self.storage.new_id()
        exposure = t + cfg.camera_startup_ms / 1000
        self._photo_busy = True
        if plan is not None and plan.events_after_reply:
            self._hold_events(plan.lag_s)
        lit_at = t
        if self._lights(source):
            on = t + cfg.led_on_ms / 1000
            blink = self.has("photo_blink") or self.has("verdict_words")
            end = exposure + (PHOTO_BLINK_S if blink else cfg.photo_led_ms / 1000)
            style, lag = self._style(), self._report_lag()
            late, lit_at = self._light(
                f"photo {aid}", lambda s: Demand(on + s, end + s, style, report_lag=lag)
            )
            exposure += late
        begin, said = t, exposure  # when capture.begin and frame 0 say they happened
        if self.has("events_before_request"):
            begin = said = t - EVENTS_EARLY_S
        self._power_at(self._sensors_on(t, lit_at, exposure), camera=True)
        # powered down at the exposure, written ahead like the LED's tail: a thread that
        # gets to `expose` late must not leave the camera drawing after a short tail
        self._power_down_at("camera", exposure)
        self._emit("capture.begin", begin, kind="photo", source=source, artifact=aid)

        def expose() -> None:
            photo = self._snapshot(aid, "photo", source, fields, exposure)
            photo.first_frame_us = self.clock.to_device_us(said)
            self.storage.add(photo)
            self._emit("capture.frame", said, artifact=aid, seq=0)
            last_us = photo.last_frame_us
            self._emit("capture.end", exposure, artifact=aid, reason="user", last_frame_us=last_us)
            self._narrate(exposure)
            self._photo_busy = self._camera = False
            if plan is not None:
                self._busy_until = exposure + plan.busy_s
            reply({"artifact": aid})

        self._at(exposure, expose)
        return None

    def _cmd_record_start(
        self, args: dict[str, Any], t: float, reply: Reply
    ) -> dict[str, Any] | None:
        kind = choice(args, "kind", spec.RECORD_KINDS)
        source = choice(args, "source", spec.SOURCES)
        fields = metadata(args)
        self._admit(kind, source, fields, t)
        plan = self._plan(kind)
        cfg = self.config
        video = kind == "video"
        mic = not video or self._consent["audio"] or self.has("audio_in_video")
        period = self._period(kind)
        first = t + cfg.camera_startup_ms / 1000
        session = self.voice.session_id(self._next_session)
        self._next_session += 1
        preroll = round(PREROLL_S / period) if video and self.has("preroll") else 0
        rec = Recording(session, kind, source, fields, t, first, period, mic, mic, preroll)
        rec.plan = plan
        if video and self.has("video_as_photo"):
            rec.label, rec.said_kind = "artifact", "photo"
        begin = t
        if self.has("events_before_request"):
            begin = rec.first_said = t - EVENTS_EARLY_S
        elif self.has("first_frame_postdated"):
            rec.first_said = first + LED_LATE_S + POSTDATED_S
        self._recording = rec
        if plan is not None and plan.events_after_reply:
            self._hold_events(plan.lag_s)
        lit_at = t
        if self._lights(source):
            late, lit_at = self._light(
                "rec", lambda s: self._recording_demand(rec, t + s, first + s)
            )
            first += late
            rec.first_frame = first
            if rec.first_said is not None and self.has("first_frame_postdated"):
                rec.first_said += late
        self._power_at(
            self._sensors_on(t, lit_at, first),
            camera=video, mic=mic or (video and self.has("hidden_audio")),
        )  # fmt: skip
        said_kind = rec.said_kind or kind
        self._emit("capture.begin", begin, kind=said_kind, source=source, **rec.names)
        rec.frame_timer = self._at(first, lambda: self._frame(rec, 0))
        if plan is not None and plan.reply_after_first_frame:
            rec.on_first_frame = lambda: reply({"session": session})
            return None
        return {"session": session}

    def _sensors_on(self, t: float, led_on: float, first_frame: float) -> float:
        """When a capture asked at `t` powers its sensors: as the LED comes on (a careful
        firmware lights it first), but in time for the first frame. The spec lawyer powers
        them at once, up to its `led_on_ms` (< 20 ms) in the dark: IND-7 allows 100."""
        if self.lawyer is not None:
            return t
        return min(led_on, first_frame)

    def _light(self, key: str, demand: Callable[[float], Demand]) -> tuple[float, float]:
        """Light the LED for a capture as planned (`demand(0)`); how late it came on, and
        when. A thread descheduled between the request and the LED's write lights it at
        the write (the LED's past is never rewritten): the capture then begins that much
        later (`demand(late)`), as firmware that waits for its LED does, so no frame is
        planned before its light (a false IND-1 under load)."""
        planned = demand(0.0)
        self.driver.put(key, planned)
        late = max(0.0, self._render() - planned.start)
        if late:
            self.driver.put(key, demand(late))
            self._render()
        return late, planned.start + late

    def _recording_demand(self, rec: Recording, t: float, first: float) -> Demand:
        late = self.has("led_late") or self.has("first_frame_postdated")
        on = first + LED_LATE_S if late else t + self.config.led_on_ms / 1000
        # `video_as_photo` lights it as for a photo: dark again while the video goes on.
        end = first + VIDEO_AS_PHOTO_DARK_S if rec.label == "artifact" else math.inf
        gaps = None
        if self.has("led_dropout"):
            gaps = Gaps(on + DROPOUT_AT_S, DROPOUT_S, reported=True)
        elif self.has("led_thermal_dropout"):
            gaps = Gaps(on + THERMAL_EVERY_S, THERMAL_S, THERMAL_EVERY_S, reported=True)
        elif self.has("led_flicker"):
            gaps = Gaps(on + FLICKER_EVERY_S, FLICKER_S, FLICKER_EVERY_S)
        return Demand(on, end, self._style(), gaps, self._report_lag())

    def _frame(self, rec: Recording, seq: int) -> None:
        """Report frame `seq` (exposed at its scheduled time) and schedule the next report."""
        t = rec.first_frame + seq * rec.period
        said = rec.first_said if seq == 0 and rec.first_said is not None else t
        self._emit("capture.frame", said, **rec.names, seq=seq)
        if rec.on_first_frame is not None:
            rec.on_first_frame()
            rec.on_first_frame = None
        if self.has("event_burst"):
            step = 1
        elif rec.plan is not None:
            step = rec.plan.report_every
        elif self.config.frame_report_s > 0:
            step = max(1, round(self.config.frame_report_s / rec.period))
        else:
            step = 0
        if step <= 0:
            return
        nxt = seq + step
        rec.frame_timer = self._at(
            rec.first_frame + nxt * rec.period, lambda: self._frame(rec, nxt)
        )

    def _cmd_record_stop(self, args: dict[str, Any], t: float, reply: Reply) -> None:
        rec = self._recording
        if rec is None or rec.stopping:
            raise Refusal("NOT_RECORDING", "nothing is recording")
        if rec.plan is not None and rec.plan.end_after_reply:
            self._hold_events(rec.plan.lag_s)
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
        said_last, led_off = last, last + self.config.led_tail_ms / 1000
        # The sensors stop with the recording, before the file is written and the LED goes
        # off: a late or loaded thread keeps the LED lit longer, never a sensor in the dark.
        self._camera = self._mic = False
        if reason == "user" and self.has("last_frame_early"):
            claimed = math.floor((at - LAST_FRAME_EARLY_S - rec.first_frame) / rec.period + 1e-9)
            said_last, led_off = rec.first_frame + max(0, min(n, claimed)) * rec.period, at
            self.driver.end("rec", led_off)  # now, before a long recording's file is written
            self._render()
        if rec.frame_timer is not None:
            rec.frame_timer.cancel()
        if rec.stop_timer is not None:
            rec.stop_timer.cancel()
        video = rec.kind == "video"
        tracks = ("video", "audio") if video and rec.audio_track else (rec.kind,)
        frames = n + 1 + rec.preroll_frames
        fields = self._stored_fields(rec.fields)
        hidden = round(PREROLL_S / rec.period) if video and self.has("file_preroll") else 0
        # written off the device's thread: the stop is answered (and the next requests
        # handled) while the encoder runs; `artifact.info` / `read` wait for the file
        data = self.encoder.submit(
            recording_file, rec.kind, frames, rec.period, fields=fields, hidden_frames=hidden,
            audio=video and (rec.audio_track or self.has("hidden_audio")),
            seed=self._rng.randrange(256),
        )  # fmt: skip
        # `short_last_frame`: the end is reported from the encoder's last flushed batch.
        short = min(round(SHORT_LAST_S / rec.period), n // 2) if self.has("short_last_frame") else 0
        aid = self.storage.new_id()
        first_said = rec.first_frame if rec.first_said is None else rec.first_said
        first_us = self.clock.to_device_us(first_said - rec.preroll_frames * rec.period)
        last_us = self.clock.to_device_us(said_last - short * rec.period)
        self.storage.add(
            Artifact(
                aid, rec.kind, rec.source, first_us, last_us, frames - short, tracks, fields, data
            )
        )
        self._recording = None
        self._emit("capture.end", at, **rec.names, reason=reason, last_frame_us=last_us)
        self._narrate(at)
        self.driver.end("rec", led_off)
        self._render()
        if reply is not None:
            reply({"artifact": aid})

"""The simulated device's capture commands: photos, recordings, frames and their end.

A mixin of `SimDevice` (it shares the device's state): kept apart so each module stays
small enough to read. Timing is physical, as the device module explains.
"""

from __future__ import annotations

import math
import time
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
)
from harness.sim.led_driver import Demand, Gaps, Style
from harness.sim.protocol import Refusal, choice, metadata
from harness.sim.storage import PHOTO_BYTES, Artifact, media_bytes


class CaptureCommands:
    """`capture.photo`, `record.start`, `record.stop` and what follows from them."""

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
        if self.config.tamper_detect and self.indicator_covered and not self.has("tamper_ignored"):
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

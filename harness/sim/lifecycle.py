"""The simulated device's life: reboot, factory reset, boot, power, vanishing, console noise,
hangs, and the faults that rewrite what it sends (`hostile`).

A mixin of `SimDevice` (it shares the device's state), kept apart so each module stays
small enough to read.
"""

from __future__ import annotations

import time
from typing import Any

from harness import spec
from harness.sim import console, hostile
from harness.sim.device_clock import DeviceClock
from harness.sim.device_state import TICK_S, Power, Reply
from harness.sim.faults import (
    COVERT_EVERY_S,
    HANG_AFTER_S,
    HANG_ON_RECORDING,
    TAMPER_SLOW_S,
    VANISH_FOR_S,
)

NOISE_PER_S = 10.0  # `bad_utf8`: broken lines a second
FLOOD_CHUNK = 16 * 1024


class Lifecycle:
    """Restarts, power and the hardware around the device's main loop."""

    def _cmd_device_reboot(self, args: dict[str, Any], t: float, reply: Reply) -> None:
        self._shutdown("reboot", t, reply)

    def _cmd_device_factory_reset(self, args: dict[str, Any], t: float, reply: Reply) -> None:
        self._shutdown("factory_reset", t, reply)

    def _shutdown(self, reason: str, t: float, reply: Reply) -> None:
        """Stop the recording, LED off, answer, go silent, boot again.

        The spec lawyer may go down without an `indicator off` event (the spec allows it:
        a `boot` says the indicator is off)."""
        silent = self.lawyer is not None and self.lawyer.silent_shutdown()
        # silent: not a word about the indicator until `boot` (also when the recording's
        # LED tail is already over by the time the reboot is handled)
        self._indicator_muted = silent

        def go_down(_: dict[str, Any] | None = None) -> None:
            self._camera = self._mic = False  # before the LED goes dark (a photo may run)
            self.driver.clear()
            self._render()
            self._release_held()  # nothing is sent after the response
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
        self._busy_until = 0.0
        self._covert = False
        keeps = {
            "reboot": "consent_persists",
            "factory_reset": "reset_keeps_consent",
            "power_loss": "consent_persists",
        }[cause]
        if not self.has(keeps):
            self._consent = dict.fromkeys(spec.SCOPES, False)
        if cause == "factory_reset" and not self.has("reset_keeps_artifacts"):
            self.storage.erase(keep_files=self.has("hidden_after_reset"))

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
        self._indicator_muted = False
        self.storage.rebuild_index()
        who = self.voice.identity
        for line in console.banner(who["model"], who["firmware"], self.serial_number, reason):
            self._console(line)
        self._emit("boot", now, reason=reason)
        self._narrate(now)
        self._at(now + TICK_S, self._tick)
        if cfg.chatter > 0:
            self._chatter()
        if self.has("bad_utf8") or (self.lawyer is not None and self.lawyer.noise):
            self._noise()
        if self.has("covert_burst"):
            self._at(now + COVERT_EVERY_S, self._covert_burst)
        self.booted.set()

    def _power_off(self) -> None:
        if self._power is Power.OFF:
            return
        self._gen += 1
        self._power = Power.OFF
        self._hung = False  # a power cut ends any hang (`silent_mid_recording`)
        self._enter_reset("power_loss")
        self._held = None
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
        if not (covered and self.config.tamper_detect and rec is not None and not rec.stopping):
            return
        if self.has("tamper_ignored") or self.has("tamper_start_only"):
            return  # the sensor is not looked at while a capture runs
        now = time.monotonic()
        if self.has("tamper_slow"):
            if rec.stop_timer is None:
                when = now + TAMPER_SLOW_S
                rec.stop_timer = self._at(when, lambda: self._stop(rec, "indicator_fault", when))
            return
        self._stop(rec, "indicator_fault", now)

    def _vanish(self) -> None:
        """`vanish`: the port disappears, and a new one appears behind the same path later."""
        self.port.close()
        self.reactor.drop_output()
        self._lines.clear()
        self.reactor.call_at(time.monotonic() + VANISH_FOR_S, self.port.open)

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

    # -- what the firmware does to its own messages -----------------------------------

    def _as_sent(self, obj: dict[str, Any]) -> dict[str, Any]:
        """A message as the (faulty) firmware puts it on the wire."""
        if self.has("hostile_text"):
            obj = hostile.outgoing(obj)
        if self.has("clock_overflow"):
            obj = hostile.overflow(obj)
        return obj

    def _as_received(self, msg: dict[str, Any]) -> dict[str, Any]:
        """A request as the firmware reads it (its own ids, not the ones it handed out)."""
        return hostile.incoming(msg) if self.has("hostile_text") else msg

    def _after_send(self, obj: dict[str, Any]) -> None:
        event = obj.get("event")
        if event == "boot" and self.has("hostile_text"):
            self._console(hostile.console_line())
        if event == "capture.begin" and "session" in obj and not self._hang_done:
            self._recordings_begun += 1
            self._hang_done = (
                self.has("silent_mid_recording") and self._recordings_begun >= HANG_ON_RECORDING
            )
            if self._hang_done:
                self._at(time.monotonic() + HANG_AFTER_S, self._hang)

    def _hang(self) -> None:
        """`silent_mid_recording`: a driver deadlock; only a power cut ends it."""
        self._hung = True
        self.reactor.drop_output()

    def _flood_events(self) -> None:
        if self._power is Power.UP and not self._hung:
            t_us = self.clock.to_device_us(time.monotonic())
            self.reactor.send(hostile.flood_events(t_us, FLOOD_CHUNK))

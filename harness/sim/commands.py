"""The simulated device's commands other than captures: identity, clock, state, consent,
artifacts and the indicator self-test.

A mixin of `SimDevice` (it shares the device's state), kept apart so each module stays
small enough to read.
"""

from __future__ import annotations

import base64
import time
from typing import Any

from harness import spec
from harness.sim.device_state import Recording, Reply
from harness.sim.faults import REVOKE_SLOW_S
from harness.sim.led_driver import Demand
from harness.sim.protocol import Refusal, artifact_id, choice, read_range, selftest_ms
from harness.sim.storage import Artifact


class DeviceCommands:
    """`hello`, `clock`, `state`, `consent.*`, `artifact.*` and `indicator.selftest`."""

    # -- commands: identity and state ---------------------------------------------------

    def _cmd_hello(self, args: dict[str, Any], t: float, reply: Reply) -> dict[str, Any]:
        return {
            "protocol": spec.PROTOCOL_VERSION,
            **self.voice.identity,
            "capabilities": {
                "capture": list(self._declared_kinds()),
                "indicator_selftest": self.config.indicator_selftest,
                "tamper_detect": self.config.tamper_detect,
            },
        }

    def _declared_kinds(self) -> tuple[str, ...]:
        """What `hello` lists; `undeclared_kind_stores` keeps audio quiet, not switched off."""
        kinds = self.config.capture_kinds
        if self.has("undeclared_kind_stores"):
            return tuple(k for k in kinds if k != "audio")
        return kinds

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

    def _cmd_artifact_read(self, args: dict[str, Any], t: float, reply: Reply) -> dict[str, Any]:
        offset, length = read_range(args)
        data = self._artifact(args).data
        chunk = data[offset : offset + length]
        return {"data": base64.b64encode(chunk).decode("ascii"), "size": len(data)}

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

"""What the simulated device powers, as the bench supply sees it.

Every change of the camera, the microphone, a covert job or the power state is noted on
the draw timeline (`Draw`) when it happens, so the simulated supply answers with the
current of the instant it is asked about. Mixed into `SimDevice`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from harness.sim.device_state import Power
from harness.sim.draw import Draw
from harness.sim.faults import COVERT_EVERY_S, COVERT_S


class SensorPower:
    """The device's sensors and power state, each change drawn on the supply's timeline."""

    draw: Draw
    config: Any
    reactor: Any
    _sensors: dict[str, bool]
    _power_state: Power
    has: Callable[[str], bool]
    _at: Callable[..., Any]
    _set_covered: Callable[[bool], None]

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

    def _power_at(self, t: float, **sensors: bool) -> None:
        """Switch `sensors` (camera=..., mic=...) from host time `t` on (now if past),
        written ahead like the LED, so a late thread does not shift it."""
        self._sensors.update(sensors)
        self.draw.set(max(t, time.monotonic()), self.current_a())

    def _power_down_at(self, name: str, t: float) -> None:
        """`name` powers down at host time `t` (ahead of time, as the LED is written): the
        supply sees it then even if the thread gets there late. The flag follows when it
        does; anything the device powers meanwhile is drawn from then on, as before."""
        was, self._sensors[name] = self._sensors[name], False
        amps = self.current_a()
        self._sensors[name] = was
        self.draw.set(max(t, time.monotonic()), amps)

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

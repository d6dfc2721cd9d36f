"""SimStation: a whole simulated station — glasses, photodiode, bench supply, shutter.

They share one `Led` (what the device lights is what the photodiode sees), the supply
really powers the device and reads what it draws (with its own averaging and noise), and
the shutter's flap both darkens the photodiode and is seen by the device's tamper
sensor. With a supply the device starts unpowered, as behind a real supply after
`*RST`: the harness switches the output on and waits for `boot`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from harness.sim.config import SimDeviceConfig
from harness.sim.device import SimDevice
from harness.sim.faults import by_target
from harness.sim.instrument import SimInstrument
from harness.sim.led import Led
from harness.sim.power import SimPowerSupply
from harness.sim.shutter import Cover, SimShutter

SUPPLY_NOISE_A = 0.0008  # σ of one MEAS:CURR? reading
SUPPLY_AVERAGING_S = 0.005


class SimStation:
    """Start, describe (`write_station`) and stop one simulated station."""

    def __init__(
        self,
        config: SimDeviceConfig | None = None,
        faults: Iterable[str] = (),
        *,
        gain_v: float = 3.0,
        ambient_v: float = 0.05,
        noise_v: float = 0.01,
        power: bool = True,
        shutter: bool = True,
        link_path: Path | None = None,
    ) -> None:
        self.config = config or SimDeviceConfig()
        split = by_target(faults)
        self.led = Led()
        self.cover = Cover()
        self.instrument = SimInstrument(
            self.led,
            gain_v=gain_v,
            ambient_v=ambient_v,
            noise_v=noise_v,
            seed=self.config.seed,
            faults=split["instrument"],
            cover=self.cover.transmission,
        )
        self.device = SimDevice(
            self.led,
            self.config,
            split["device"],
            link_path=link_path,
            keep_led_since=self.instrument.oldest_unread_time,
        )
        self.power: SimPowerSupply | None = None
        if power:
            self.power = SimPowerSupply(
                self._switch, self.device.current_a, faults=split["power"],
                draw=self.device.draw_a, steady=self.device.draw.steady,
                averaging_s=SUPPLY_AVERAGING_S, noise_a=SUPPLY_NOISE_A, seed=self.config.seed,
            )  # fmt: skip
        self.shutter: SimShutter | None = None
        if shutter:
            self.shutter = SimShutter(self.cover, self.device.cover_at)
        self._started = False

    def _switch(self, on: bool) -> None:
        if on:
            self.device.power_on()
        else:
            self.device.power_off()

    def start(self) -> SimStation:
        """Listen on every port; the device boots now unless a supply feeds it."""
        try:
            self.instrument.start()
            if self.power is not None:
                self.power.start()
            if self.shutter is not None:
                self.shutter.start()
            self.device.start(powered=self.power is None)
        except BaseException:
            self.stop()
            raise
        self._started = True
        return self

    def stop(self) -> None:
        """Stop everything (each bounded); safe to call twice."""
        if self.power is not None:
            self.power.stop()
        if self.shutter is not None:
            self.shutter.stop()
        self.instrument.stop()
        self.device.stop()
        self._started = False

    def __enter__(self) -> SimStation:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def station_toml(self, visible_v: float = 0.5, sample_interval_s: float = 0.0002) -> str:
        """The station file a harness needs to reach this bench."""
        lines = [
            "[station]",
            'name = "sim"',
            "",
            "[dut]",
            f"port = {_toml_str(str(self.device.link_path))}",
            "baudrate = 115200",
            "",
            "[photodiode]",
            f"resource = {_toml_str(self.instrument.resource)}",
            f"visible_v = {visible_v!r}",
            f"sample_interval_s = {sample_interval_s!r}",
        ]
        if self.power is not None:
            lines += ["", "[power]", f"resource = {_toml_str(self.power.resource)}"]
        if self.shutter is not None:
            lines += ["", "[shutter]", f"resource = {_toml_str(self.shutter.resource)}"]
            lines += [f"channel = {self.shutter.channel}"]
        return "\n".join(lines) + "\n"

    def write_station(
        self, path: Path | str, visible_v: float = 0.5, sample_interval_s: float = 0.0002
    ) -> Path:
        """Write the station file atomically: a reader sees nothing or all of it."""
        path = Path(path)
        text = self.station_toml(visible_v, sample_interval_s)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


def _toml_str(text: str) -> str:
    """A TOML basic string (paths and VISA resources have no control characters)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

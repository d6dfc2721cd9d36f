"""The simulated device's knobs: timing, LED drive, clock, link quirks, capabilities.

One dataclass, so a station's ``[sim] knobs`` table, ``--knob key=value`` on the command
line and a fault's implied settings all go through the same typed, validated path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from harness.spec import KINDS, MAX_DRIFT_PPM


@dataclass(frozen=True)
class SimDeviceConfig:
    """What kind of glasses the simulator is. Times in ms unless named otherwise."""

    led_on_ms: float = 5.0  # request -> LED on
    camera_startup_ms: float = 60.0  # request -> first frame (exposure)
    led_tail_ms: float = 50.0  # last frame -> LED off
    photo_led_ms: float = 700.0  # photo exposure -> LED off
    led_level: float = 1.0  # 0..1 of full brightness
    pwm_hz: float = 0.0  # 0: driven steadily
    pwm_duty: float = 1.0
    reply_delay_ms: float = 0.0  # requests are handled this late (all but `clock`)
    clock_delay_ms: float = 0.0  # `clock` is handled this late
    clock_offset_us: int | None = None  # device clock at the first boot; None: random
    boot_offset_min_us: int = 10_000_000  # range of the random clock value at each boot
    boot_offset_max_us: int = 10**12
    drift_ppm: float = 0.0
    reboot_ms: float = 300.0
    crlf: bool = False
    chatter: float = 0.0  # console lines per second, 0: quiet
    seed: int | None = None
    indicator_selftest: bool = True
    tamper_detect: bool = False
    indicator_covered: bool = False
    capture_kinds: tuple[str, ...] = KINDS
    video_fps: float = 30.0
    audio_buffer_ms: float = 20.0
    frame_report_s: float = 1.0  # later frames are reported this often (0: only seq 0)
    storage_bytes: int = 32 * 10**9
    idle_a: float = 0.12  # current drawn: idle, plus camera, plus microphone
    camera_a: float = 0.18
    mic_a: float = 0.03
    led_a: float = 0.008  # the indicator at full brightness
    serial_number: str = ""  # "": derived from the seed
    lawyer_seed: int | None = None  # spec-lawyer mode (lawyer.py): None, a kind device

    def __post_init__(self) -> None:
        problems = []
        for name in (
            "led_on_ms",
            "camera_startup_ms",
            "led_tail_ms",
            "photo_led_ms",
            "reply_delay_ms",
            "clock_delay_ms",
            "reboot_ms",
            "chatter",
            "frame_report_s",
        ):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0")
        for name in ("led_level", "pwm_duty"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name} must be within 0..1")
        if self.pwm_hz < 0:
            problems.append("pwm_hz must be >= 0")
        if abs(self.drift_ppm) > 5 * MAX_DRIFT_PPM:
            problems.append(f"drift_ppm must be within ±{5 * MAX_DRIFT_PPM:g}")
        if not 0 <= self.boot_offset_min_us <= self.boot_offset_max_us < 2**53:
            problems.append("need 0 <= boot_offset_min_us <= boot_offset_max_us < 2**53")
        if self.video_fps <= 0 or self.audio_buffer_ms <= 0:
            problems.append("video_fps and audio_buffer_ms must be > 0")
        if not set(self.capture_kinds) <= set(KINDS):
            problems.append(f"capture_kinds must be a subset of {KINDS}")
        if problems:
            raise ValueError("; ".join(problems))


_BOOL_WORDS = {
    "1": True,
    "true": True,
    "yes": True,
    "on": True,
    "0": False,
    "false": False,
    "no": False,
    "off": False,
}


def _coerce(name: str, hint: object, value: object) -> object:
    """Turn a TOML value or command-line string into the field's type."""
    text = value.strip() if isinstance(value, str) else None
    if hint == "int | None":
        if text is not None and text.lower() in ("", "none"):
            return None
        hint = "int"
    if hint == "bool":
        if isinstance(value, bool):
            return value
        if text is not None and text.lower() in _BOOL_WORDS:
            return _BOOL_WORDS[text.lower()]
    elif hint == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if text is not None:
            return int(text.replace("_", ""), 0)
    elif hint == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if text is not None:
            return float(text)
    elif hint == "str":
        return str(value)
    elif hint == "tuple[str, ...]":
        if isinstance(value, list | tuple):
            return tuple(str(v) for v in value)
        if text is not None:
            return tuple(p.strip() for p in text.split(",") if p.strip())
    raise ValueError(f"knob {name}: cannot use {value!r} as {hint}")


def knob_names() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(SimDeviceConfig))


def apply_knobs(config: SimDeviceConfig, knobs: Mapping[str, object]) -> SimDeviceConfig:
    """`config` with `knobs` applied; unknown names and bad values raise ValueError naming them."""
    hints = {f.name: f.type for f in dataclasses.fields(SimDeviceConfig)}
    changes: dict[str, object] = {}
    for name, value in knobs.items():
        if name not in hints:
            raise ValueError(f"unknown knob {name!r}; known: {', '.join(knob_names())}")
        try:
            changes[name] = _coerce(name, hints[name], value)
        except ValueError as exc:
            msg = str(exc)
            raise ValueError(msg if msg.startswith("knob") else f"knob {name}: {msg}") from None
    return dataclasses.replace(config, **changes)


def parse_knob(text: str) -> tuple[str, str]:
    """Split a command-line ``key=value``."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"knob {text!r}: expected key=value")
    return key.strip(), value

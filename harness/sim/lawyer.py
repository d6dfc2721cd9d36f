"""The spec lawyer: a seeded device that takes every liberty bench-protocol.md leaves it.

With ``lawyer_seed`` set the simulated device stops being kind, and stays conforming:

- timing the spec leaves open: LED lead and tail, camera start-up, photo LED time, frame
  rate, audio buffer, LED brightness and PWM drive (>= 200 Hz), clock drift within
  ±150 ppm, reboot time (never past ``2 * reboot_ms`` nor 9 s);
- what it declares: a random non-empty subset of its capture kinds (the others answered
  UNSUPPORTED, nothing stored, no LED), the indicator self-test, tamper detection;
- the wire: every response but `clock` handled 0..900 ms late (all within 1 s, counting
  the wait for a first frame), the events of a capture sent after its response, or the
  `record.start` response held back until frame 0 was reported, later frames reported
  every frame, every Nth or not at all, console lines and line noise between messages,
  LF, CRLF or both mixed;
- BUSY to a capture asked while the previous photo is still being exposed (< 1 s after
  its exposure);
- no `indicator off` event before a reboot or factory reset;
- ids of odd but valid shapes (uuids, path-like strings, bare numbers).

Each kind of decision draws from its own random stream, seeded by the lawyer seed and the
stream's name, and draws the same amount whatever it decides: a decision depends only
on the seed and on how many decisions of its kind came before, never on timing. The same
seed and the same requests give the same device.

The margins keep a conforming device judged PASS, not merely not-FAIL: the LED leads
the first frame by >= 30 ms and trails the last by >= 30 ms, a photo stays lit >= 650 ms,
a revoke is handled within 600 ms (+ <= 150 ms LED tail), a PWM-driven LED averages
>= 42 % of full brightness over any 10 ms window.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import TypeVar

from harness.sim.config import SimDeviceConfig

REPLY_BUDGET_S = 0.9  # handling delay + wait for a first frame; 100 ms left for the link
SLOW_ONE_IN = 6  # one reply in this many may take up to the whole budget...
FAST_SHARE = 0.03  # ...the others at most this share of it (~27 ms)
REVOKE_BUDGET_S = 0.6  # a revoke's capture ends when it is handled: keep CON-3 clear
MAX_EVENT_LAG_S = 0.15  # held events follow their response this much later at most
# Commands whose response may wait for a first frame or an exposure.
WAITING = frozenset(
    {"capture.photo", "record.start", "record.stop", "device.reboot", "device.factory_reset"}
)
ID_STYLES = ("plain", "uuid", "path", "number")
EOL_MODES = ("lf", "crlf", "mixed")
MAX_REBOOT_MS = 9000.0

T = TypeVar("T")


@dataclass(frozen=True)
class CapturePlan:
    """How one capture takes its liberties."""

    events_after_reply: bool  # its events up to the response are sent after the response
    reply_after_first_frame: bool  # record.start: answered once frame 0 was reported
    end_after_reply: bool  # record.stop: capture.end follows the response
    lag_s: float  # how long after the response the held events follow
    report_every: int  # later frames reported every Nth frame (0: only seq 0)
    busy_s: float  # photos: captures asked this long after the exposure get BUSY


class Lawyer:
    """The seeded choices of one spec-lawyer device; `choices` records them in order."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.choices: list[tuple[str, object]] = []
        self._streams: dict[str, random.Random] = {}
        setup = self._stream("setup")
        self.eol: str = self._note("eol", setup.choice(EOL_MODES))
        self.id_style: str = self._note("id_style", setup.choice(ID_STYLES))
        self.noise: bool = self._note("noise", setup.random() < 0.5)
        self.ids = self._stream("ids")  # uuid-style ids are drawn from here

    def _stream(self, name: str) -> random.Random:
        if name not in self._streams:
            self._streams[name] = random.Random(f"tally-lawyer:{self.seed}:{name}")
        return self._streams[name]

    def _note(self, what: str, value: T) -> T:
        self.choices.append((what, value))
        return value

    # -- the device it is ---------------------------------------------------------------

    def vary(self, config: SimDeviceConfig, keep: frozenset[str] = frozenset()) -> SimDeviceConfig:
        """`config` with what the spec leaves open varied; names in `keep` stay as given
        (a fault's implied knobs), but the declared kinds are always a subset of
        `config`'s."""
        rng = self._stream("config")
        led_on = rng.uniform(0.0, 20.0)
        pwm = rng.random() < 1 / 3
        pwm_hz, pwm_duty = rng.uniform(200.0, 2000.0), rng.uniform(0.6, 1.0)
        changes: dict[str, object] = {
            "led_on_ms": led_on,
            "camera_startup_ms": rng.uniform(led_on + 30.0, 150.0),
            "led_tail_ms": rng.uniform(30.0, 150.0),
            "photo_led_ms": rng.uniform(650.0, 950.0),
            "led_level": rng.uniform(0.7, 1.0),
            "pwm_hz": pwm_hz if pwm else config.pwm_hz,
            "pwm_duty": pwm_duty if pwm else config.pwm_duty,
            "video_fps": rng.choice((15.0, 24.0, 25.0, 30.0, 60.0)),
            "audio_buffer_ms": rng.choice((10.0, 20.0, 40.0)),
            "drift_ppm": rng.uniform(-150.0, 150.0),
            "reboot_ms": min(MAX_REBOOT_MS, config.reboot_ms * rng.uniform(1.0, 2.0)),
            "chatter": rng.uniform(1.0, 15.0) if rng.random() < 0.5 else 0.0,
            "indicator_selftest": (rng.random() < 0.75) and config.indicator_selftest,
            "tamper_detect": (rng.random() < 0.3) or config.tamper_detect,
        }
        kinds = _subset(rng, config.capture_kinds)
        for name in keep:
            changes.pop(name, None)
        changes["capture_kinds"] = kinds
        for name, value in changes.items():
            self._note(name, value)
        return dataclasses.replace(config, **changes)  # type: ignore[arg-type]

    # -- per request and per capture ----------------------------------------------------

    def reply_delay(self, cmd: object, config: SimDeviceConfig) -> float:
        """How late (s) to handle a request other than `clock`: the device's own
        ``reply_delay_ms`` plus a random share of what is left of the budget. Heavy-tailed,
        as a busy main loop is: most replies within a few ms, one in `SLOW_ONE_IN` up to
        the whole budget (so a suite still ends, and still meets the 1 s limit's edge)."""
        rng = self._stream("reply")
        slow = rng.random() < 1 / SLOW_ONE_IN
        u = rng.random() if slow else rng.random() * FAST_SHARE
        base = config.reply_delay_ms / 1000
        if cmd == "consent.revoke":
            budget = REVOKE_BUDGET_S
        else:
            budget = REPLY_BUDGET_S - (config.camera_startup_ms / 1000 if cmd in WAITING else 0)
        return self._note("reply_delay_s", base + u * max(0.0, budget - base))

    def capture_plan(self, kind: str) -> CapturePlan:
        rng = self._stream("captures")
        after, hold_reply, end_after = rng.random() < 0.5, rng.random() < 0.5, rng.random() < 0.5
        lag = rng.uniform(0.001, MAX_EVENT_LAG_S)
        r, nth = rng.random(), rng.randint(2, 60)
        busy, busy_s = rng.random() < 0.5, rng.uniform(0.05, 0.9)
        plan = CapturePlan(
            events_after_reply=after,
            reply_after_first_frame=hold_reply and kind != "photo",
            end_after_reply=end_after,
            lag_s=lag,
            report_every=0 if r < 0.25 else 1 if r < 0.45 else nth,
            busy_s=busy_s if busy and kind == "photo" else 0.0,
        )
        return self._note("capture", plan)

    def silent_shutdown(self) -> bool:
        """No `indicator off` event before this reboot or factory reset."""
        return self._note("silent_shutdown", self._stream("shutdown").random() < 0.5)


def _subset(rng: random.Random, kinds: tuple[str, ...]) -> tuple[str, ...]:
    """All of `kinds` half the time, else a random non-empty subset (order kept)."""
    whole = rng.random() < 0.5
    mask = rng.randrange(1, 2 ** len(kinds)) if kinds else 0
    if whole or not kinds:
        return tuple(kinds)
    return tuple(k for i, k in enumerate(kinds) if mask >> i & 1)

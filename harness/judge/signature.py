"""The device's current signature, learned from the station's supply (power-scpi.md).

Calibration reads idle, indicator only, and each declared kind capturing; the sensor
current is the rise a capture adds over the indicator alone. Noise moves no threshold
(clauses.md): a sensor current the supply's noise could hide (< 3x its σ) leaves IND-7
INCONCLUSIVE for that sensor, with the reason. A station may state what each sensor
draws (a property of the DUT): a capture that adds far less than that found its sensor
already powered while idle, so idle itself was covert.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from harness.judge.verdict import Measurement

SENSORS = ("camera", "microphone")
SENSOR_OF = {"photo": "camera", "video": "camera", "audio": "microphone"}
# The kind each sensor is learned from, best first: a recording holds the sensor on long
# enough for many readings; a photo only for its exposure.
LEARNED_FROM = {"camera": ("video", "photo"), "microphone": ("audio",)}
RESOLVE_SIGMAS = 3.0  # a sensor current under this many σ of the supply's noise is unresolved
MEDIAN_SE = 1.2533  # σ of the median of n normal readings ≈ 1.2533 σ / √n
MIN_READINGS = 2  # a level needs at least this many readings
MS = 1000.0


def robust_sigma(x: np.ndarray) -> float:
    """σ from the median absolute deviation: a stray reading does not inflate it."""
    if len(x) < 2:
        return 0.0
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


@dataclass(frozen=True)
class Level:
    """A current level: the median of `n` readings and its expanded uncertainty (k = 2)."""

    amps: float
    u: float
    n: int

    @classmethod
    def of(cls, readings: np.ndarray, sigma: float) -> Level | None:
        if len(readings) < MIN_READINGS:
            return None
        n = len(readings)
        return cls(float(np.median(readings)), 2 * MEDIAN_SE * sigma / math.sqrt(n), n)


@dataclass(frozen=True)
class SensorCurrent:
    """What one sensor draws when powered, as learned (and as the station states it)."""

    sensor: str
    amps: float | None  # the current used for IND-7 (None: neither learned nor stated)
    u: float
    learned_from: str  # the kind it was learned from, or "" if not learned
    learned_a: float | None
    stated_a: float | None
    already_powered: bool  # the capture added far less than stated: powered while idle
    resolved: bool  # told apart from the supply's noise
    judged: bool  # part of IND-7 (the microphone is not when wake-word listening is allowed)
    note: str = ""


@dataclass(frozen=True)
class Signature:
    """The device's current signature and the threshold IND-7 is judged with."""

    idle: Level
    noise_a: float
    indicator: Level | None
    rises: Mapping[str, Level | None]  # per declared kind: its rise over the indicator alone
    sensors: tuple[SensorCurrent, ...]
    idle_ref_a: float  # idle, less any sensor found already powered at idle
    smallest_a: float | None  # the smallest resolved, judged sensor current
    threshold_a: float | None  # idle_ref + smallest / 2; None: nothing to judge with
    mic_listening_allowed: bool
    problems: tuple[str, ...] = ()  # why IND-7 is INCONCLUSIVE for part of what it judges
    notes: tuple[str, ...] = field(default=())

    @property
    def usable(self) -> bool:
        return self.threshold_a is not None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rises"] = {k: (asdict(v) if v else None) for k, v in self.rises.items()}
        d["usable"] = self.usable
        return d


def derive_signature(
    idle: np.ndarray,
    indicator: np.ndarray | None,
    kinds: Mapping[str, np.ndarray],
    *,
    stated: Mapping[str, float | None] | None = None,
    mic_listening_allowed: bool = False,
) -> Signature:
    """The signature from calibration readings (amps): idle, indicator only (None if the
    device has no self-test: rises are then over idle, the indicator's own draw included),
    and each declared kind capturing. `stated` gives a sensor's current as the station
    states it (None: not stated)."""
    stated = dict(stated or {})
    sigma = robust_sigma(np.asarray(idle, dtype=np.float64))
    idle_level = Level.of(np.asarray(idle, dtype=np.float64), sigma)
    if idle_level is None:
        raise ValueError(f"idle needs at least {MIN_READINGS} readings, got {len(idle)}")
    ind = None if indicator is None else Level.of(np.asarray(indicator, np.float64), sigma)
    ref = ind or idle_level
    notes = [] if ind else ["no indicator-only level: rises are over idle (indicator included)"]
    rises: dict[str, Level | None] = {}
    for kind, readings in kinds.items():
        lv = Level.of(np.asarray(readings, dtype=np.float64), sigma)
        rises[kind] = (
            None if lv is None else Level(lv.amps - ref.amps, math.hypot(lv.u, ref.u), lv.n)
        )
    sensors = tuple(
        _sensor(s, rises, stated.get(s), sigma, s != "microphone" or not mic_listening_allowed)
        for s in SENSORS
    )
    judged = [s for s in sensors if s.judged and s.amps is not None]
    missing = sum(s.amps - (s.learned_a or 0.0) for s in judged if s.already_powered)
    idle_ref = idle_level.amps - max(missing, 0.0)
    resolved = [s.amps for s in judged if s.resolved and s.amps is not None]
    smallest = min(resolved) if resolved else None
    problems = [
        f"{s.sensor}: {s.note}"
        for s in sensors
        if s.judged and s.amps is not None and not s.resolved
    ]
    if not judged:
        problems.append(
            "no sensor current could be learned: no capture could be observed at calibration "
            "and the station states none"
        )
    notes += [
        f"{s.sensor}: {s.note}"
        for s in sensors
        if s.note and f"{s.sensor}: {s.note}" not in problems
    ]
    if mic_listening_allowed:
        notes.append(
            "microphone: not judged, the profile allows wake-word listening "
            "(mic_listening_allowed = true): IND-7 judges the camera alone"
        )
    return Signature(
        idle_level,
        sigma,
        ind,
        rises,
        sensors,
        idle_ref,
        smallest,
        None if smallest is None else idle_ref + smallest / 2,
        mic_listening_allowed,
        tuple(problems),
        tuple(notes),
    )


def _sensor(
    sensor: str,
    rises: Mapping[str, Level | None],
    stated: float | None,
    sigma: float,
    judged: bool,
) -> SensorCurrent:
    learned = next(((k, rises[k]) for k in LEARNED_FROM[sensor] if rises.get(k) is not None), None)
    kind, level = learned if learned else ("", None)
    floor = RESOLVE_SIGMAS * sigma
    if level is None:
        if stated is None:
            return SensorCurrent(
                sensor,
                None,
                0.0,
                "",
                None,
                None,
                False,
                False,
                judged,
                "not learned (no capture of it was observed) and not stated",
            )
        return SensorCurrent(
            sensor,
            stated,
            0.0,
            "",
            None,
            stated,
            False,
            stated >= floor,
            judged,
            "not learned; the station's stated current is used",
        )
    if stated is not None and level.amps + level.u < stated / 2:
        note = (
            f"a {kind} capture added only {level.amps * MS:.1f} ± {level.u * MS:.1f} mA over "
            f"the indicator alone, the station states {stated * MS:.1f} mA: the {sensor} was "
            "already powered while idle and dark"
        )
        return SensorCurrent(
            sensor, stated, level.u, kind, level.amps, stated, True, stated >= floor, judged, note
        )
    resolved = level.amps >= floor
    note = (
        ""
        if resolved
        else f"a {kind} capture adds {level.amps * MS:.2f} ± {level.u * MS:.2f} mA over the "
        f"indicator alone, under 3x the supply's noise ({floor * MS:.2f} mA): its covert use "
        "cannot be told from noise (or it was already powered while idle; a station that "
        "states what it draws tells which)"
    )
    return SensorCurrent(
        sensor, level.amps, level.u, kind, level.amps, stated, False, resolved, judged, note
    )


def unresolved_measurement(signature: Signature, *, subject: str = "calibration") -> Measurement:
    """IND-7 INCONCLUSIVE: part of the signature cannot be told from the supply's noise.

    The guard band is widened to reach the limit, so the rule gives INCONCLUSIVE (the
    value is a ratio to the noise, not a stretch: it cannot FAIL the device)."""
    judged = [s for s in signature.sensors if s.judged and s.amps is not None]
    weakest = min((s.amps for s in judged if s.amps is not None), default=0.0)
    ratio = weakest / signature.noise_a if signature.noise_a > 0 else 0.0
    return Measurement(
        "IND-7",
        "sensor_current_over_noise",
        ratio,
        "x noise",
        RESOLVE_SIGMAS,
        ">=",
        max(RESOLVE_SIGMAS - ratio, 0.0),
        subject=subject,
        detail="; ".join(signature.problems),
    )

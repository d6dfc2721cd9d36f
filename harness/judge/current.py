"""Supply current as a witness (IND-7): the device's signature, and sensors powered in the dark.

The bench supply sees what no protocol trace shows: a camera or microphone drawing
current. Calibration learns the device's own signature from that supply (power-scpi.md):
idle, indicator only, and each declared kind capturing; the sensor current is the rise a
capture adds over the indicator alone. IND-7 then looks for stretches where the current
stood above idle + half the smallest sensor current while the photodiode saw the
indicator unlit, and measures each stretch's length against `covert_ms`.

Noise moves no threshold (clauses.md): a sensor current the supply's noise could hide
(< 3x its σ) makes IND-7 INCONCLUSIVE for that sensor, with the reason. A station may
state what each sensor draws (a property of the DUT): a capture that adds far less than
that found its sensor already powered while idle, so idle itself was covert.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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
Span = tuple[float, float]


@dataclass(frozen=True, eq=False)
class CurrentTrace:
    """Supply current readings on the host monotonic clock.

    Reading k was answered for the `MEAS:CURR?` query whose round trip is centred on
    `t[k]` with half-width `u_t[k]` (a bound): the supply measured inside it, averaged
    over its own short window before that.
    """

    t: np.ndarray
    amps: np.ndarray
    u_t: np.ndarray

    def __post_init__(self) -> None:
        arrays = [np.asarray(a, dtype=np.float64) for a in (self.t, self.amps, self.u_t)]
        if any(a.ndim != 1 for a in arrays) or len({len(a) for a in arrays}) != 1:
            raise ValueError("t, amps and u_t must be 1-D arrays of one length")
        for name, a in zip(("t", "amps", "u_t"), arrays, strict=True):
            a = a.view()
            a.flags.writeable = False
            object.__setattr__(self, name, a)

    def __len__(self) -> int:
        return len(self.t)

    @classmethod
    def empty(cls) -> CurrentTrace:
        return cls(np.empty(0), np.empty(0), np.empty(0))

    def slice(self, start: float, end: float) -> CurrentTrace:
        """The readings timed in [start, end]."""
        i0 = int(np.searchsorted(self.t, start, side="left"))
        i1 = int(np.searchsorted(self.t, end, side="right"))
        return CurrentTrace(self.t[i0:i1], self.amps[i0:i1], self.u_t[i0:i1])

    @property
    def interval_s(self) -> float:
        """The typical time between readings (median; 0 with fewer than two)."""
        return float(np.median(np.diff(self.t))) if len(self.t) >= 2 else 0.0

    @property
    def rate_hz(self) -> float:
        """Readings per second over the trace's whole span."""
        span = float(self.t[-1] - self.t[0]) if len(self.t) >= 2 else 0.0
        return (len(self.t) - 1) / span if span > 0 else 0.0


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


# -- stretches -------------------------------------------------------------------------


def merge_spans(spans: Sequence[Span]) -> list[Span]:
    """Sorted, overlapping or touching spans joined."""
    out: list[Span] = []
    for a, b in sorted(s for s in spans if s[1] > s[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def bridge_spans(spans: Sequence[Span], gap_s: float) -> list[Span]:
    """Spans joined across gaps of at most `gap_s` (a re-armed acquisition's few ms)."""
    out: list[Span] = []
    for a, b in merge_spans(spans):
        if out and a - out[-1][1] <= gap_s:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def subtract_spans(spans: Sequence[Span], holes: Sequence[Span]) -> list[Span]:
    """`spans` with `holes` cut out."""
    out: list[Span] = []
    holes = merge_spans(holes)
    for a, b in merge_spans(spans):
        cursor = a
        for ha, hb in holes:
            if hb <= cursor or ha >= b:
                continue
            if ha > cursor:
                out.append((cursor, ha))
            cursor = max(cursor, hb)
        if cursor < b:
            out.append((cursor, b))
    return out


def inside(t: np.ndarray, spans: Sequence[Span]) -> np.ndarray:
    """For each time, whether it lies in one of `spans` (closed)."""
    merged = merge_spans(spans)
    if not merged or len(t) == 0:
        return np.zeros(len(t), dtype=bool)
    starts = np.array([a for a, _ in merged])
    ends = np.array([b for _, b in merged])
    k = np.searchsorted(starts, t, side="right") - 1
    return (k >= 0) & (t <= ends[np.maximum(k, 0)])


def span_seconds(spans: Sequence[Span], start: float, end: float) -> float:
    """How much of [start, end] the spans cover."""
    return sum(max(0.0, min(b, end) - max(a, start)) for a, b in merge_spans(spans))


@dataclass(frozen=True)
class Stretch:
    """Readings in a row above the threshold while the indicator was unlit.

    The sensor was powered from somewhere between the reading before `start` and
    `start`, to somewhere between `end` and the reading after it: `duration_s` is the
    span plus one reading interval, `u_s` its bound (one interval, each reading's timing,
    the supply's averaging window and the light's edge uncertainty).
    """

    start: float
    end: float
    duration_s: float
    u_s: float
    level_a: float
    readings: int
    open_end: bool  # reached the last reading looked at: it may go on


def dark_powered_stretches(
    cur: CurrentTrace,
    threshold_a: float,
    lit: Sequence[Span],
    seen: Sequence[Span],
    *,
    averaging_s: float = 0.0,
    light_u_s: float = 0.0,
) -> list[Stretch]:
    """Every run of readings above `threshold_a`, taken where the light was recorded and
    the indicator uncovered (`seen`) and not lit (`lit`). A run ends at a reading that is
    below, lit or unseen, and where readings are missing (a gap of over 3 intervals)."""
    n = len(cur)
    if n == 0:
        return []
    step = cur.interval_s or 0.0
    flag = (cur.amps > threshold_a) & ~inside(cur.t, lit) & inside(cur.t, seen)
    gap = np.r_[False, np.diff(cur.t) > 3 * step] if step > 0 else np.zeros(n, dtype=bool)
    out = []
    idx = np.flatnonzero(flag)
    if len(idx) == 0:
        return []
    breaks = np.flatnonzero((np.diff(idx) > 1) | gap[idx[1:]]) + 1
    for run in np.split(idx, breaks):
        i, j = int(run[0]), int(run[-1])
        u = step + averaging_s + float(cur.u_t[i] + cur.u_t[j]) + 2 * light_u_s
        out.append(
            Stretch(
                float(cur.t[i]),
                float(cur.t[j]),
                float(cur.t[j] - cur.t[i]) + step,
                u,
                float(np.mean(cur.amps[i : j + 1])),
                j - i + 1,
                j == n - 1,
            )
        )
    return out


def stretch_measurement(
    s: Stretch, limit_ms: float, idle_ref_a: float, *, subject: str, test: str = "", origin: float
) -> Measurement:
    """IND-7: one stretch's length against `covert_ms`, with when and how much."""
    detail = (
        f"from t = {s.start - origin:.3f} s for {s.duration_s * MS:.0f} ms ({s.readings} "
        f"readings), {(s.level_a - idle_ref_a) * MS:.1f} mA over idle, indicator unlit"
    )
    return Measurement(
        "IND-7",
        "dark_powered_stretch",
        s.duration_s * MS,
        "ms",
        limit_ms,
        "<=",
        s.u_s * MS,
        subject=subject,
        detail=detail,
        test=test,
        t=s.start,
    )


def longest_measurement(
    stretches: Sequence[Stretch], cur: CurrentTrace, limit_ms: float, averaging_s: float,
    *, subject: str, test: str = "", seen_s: float, span_s: float,
) -> Measurement:  # fmt: skip
    """IND-7 over a stretch of time with no flagged stretch: the longest one (or none)."""
    longest = max(stretches, key=lambda s: s.duration_s, default=None)
    u = (cur.interval_s + averaging_s) if longest is None else longest.u_s
    value = 0.0 if longest is None else longest.duration_s
    detail = (
        f"{len(stretches)} stretch(es) above the threshold while unlit; {len(cur)} readings "
        f"at {cur.rate_hz:.0f}/s; light and current both seen for {seen_s:.1f} of {span_s:.1f} s"
    )
    return Measurement(
        "IND-7",
        "longest_dark_powered_stretch",
        value * MS,
        "ms",
        limit_ms,
        "<=",
        u * MS,
        subject=subject,
        detail=detail,
        test=test,
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

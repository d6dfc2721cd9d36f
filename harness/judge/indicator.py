"""Indicator checks (IND-1..IND-6): light against capture intervals, as measurements.

A check never decides: it returns named values with units, expanded uncertainty and
the limit from the limits; `verdict.decide` applies the guard band.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from harness.judge.clauses import Limits
from harness.judge.light import LightTrace
from harness.judge.timebase import Mapped
from harness.judge.timeline import MAX_CAPTURES, CaptureInterval, IndicatorClaim, Timeline
from harness.judge.verdict import Measurement

MS = 1000.0


@dataclass(frozen=True)
class LevelNoise:
    """What limits a level reading: sample noise (from calibration) and the instrument's
    own expanded uncertainty of a reading (from its calibration certificate)."""

    noise_v: float = 0.0
    reading_u_v: float = 0.0


def _rss(*parts: float) -> float:
    return math.sqrt(sum(p * p for p in parts))


def _containing(lit: Sequence, t: float):
    """The lit interval containing host time `t`, if any."""
    for iv in lit:
        if iv.start <= t <= iv.end:
            return iv
    return None


def _unlit_within(lit: Sequence, start: float, end: float) -> list[tuple[float, float]]:
    """Unlit stretches of [start, end] given sorted lit intervals."""
    out, cursor = [], start
    for iv in lit:
        if iv.end < cursor:
            continue
        if iv.start > end:
            break
        if iv.start > cursor:
            out.append((cursor, min(iv.start, end)))
        cursor = max(cursor, iv.end)
    if cursor < end:
        out.append((cursor, end))
    return out


def _edge_u(trace: LightTrace, lit: Sequence) -> float:
    return max((iv.u_s for iv in lit), default=trace.edge_u_s)


def check_capture(
    cap: CaptureInterval,
    trace: LightTrace,
    lit: Sequence,
    limits: Limits,
    test: str = "",
    noise: LevelNoise | None = None,
) -> list[Measurement]:
    """IND-1..IND-5 for one capture interval."""
    noise = noise or LevelNoise()
    out: list[Measurement] = []
    u_edge = _edge_u(trace, lit)
    u_first = _rss(cap.first.u, u_edge)
    u_last = _rss((cap.last or cap.first).u, u_edge)
    first, end = cap.start, cap.end
    subject = cap.label
    common = {"subject": subject, "test": test, "t": first}
    if cap.last is None and not cap.is_photo:
        out.append(
            Measurement("IND-1", "capture_end_known", 0.0, "bool", 1.0, ">=", 0.0,
                        detail="capture.end with last_frame_us never arrived", **common)
        )  # fmt: skip
        end = trace.t_end
    containing = _containing(lit, first)
    # IND-1: lit throughout [first, last]: a margin >= 0 if one lit interval covers it,
    # else minus the unlit time inside it.
    if containing is not None and containing.end >= end:
        cover = min(first - containing.start, containing.end - end)
        detail = "one lit interval covers the capture"
    else:
        unlit = _unlit_within(lit, first, end)
        cover = -sum(b - a for a, b in unlit) if unlit else -(end - first)
        if cover == 0.0:
            cover = -trace.interval_s
        detail = f"unlit for {(-cover) * MS:.1f} ms inside the capture interval"
    out.append(
        Measurement("IND-1", "lit_coverage_margin", cover * MS, "ms", 0.0, ">=",
                    max(u_first, u_last) * MS, detail=detail, **common)
    )  # fmt: skip
    # IND-2: lead of the rising edge over the first frame.
    if containing is not None:
        lead = first - containing.start
        detail = "rising edge before the first frame"
    else:
        later = [iv for iv in lit if iv.start > first]
        lead = first - later[0].start if later else -(end - first + trace.interval_s)
        detail = "indicator dark at the first frame" + ("" if later else ", never lit after")
    out.append(
        Measurement("IND-2", "indicator_lead", lead * MS, "ms", limits["lead_ms"], ">=",
                    u_first * MS, detail=detail, **common)
    )  # fmt: skip
    # IND-3: dark gaps in the raw samples while a recording runs (photos have no duration).
    if not cap.is_photo:
        gaps = trace.dark_gaps(first, end)
        longest = max(gaps, key=lambda g: g.duration_s, default=None)
        value = longest.duration_s if longest else 0.0
        u_gap = longest.u_s if longest else trace.interval_s
        out.append(
            Measurement("IND-3", "longest_dark_gap", value * MS, "ms", limits["max_gap_ms"], "<=",
                        u_gap * MS, detail=f"{len(gaps)} dark gap(s) in the capture", **common)
        )  # fmt: skip
    # IND-4: brightness over the capture interval.
    window = limits["lit_window_ms"] / MS
    if cap.is_photo or end - first < window:
        level = trace.mean_level(first - window / 2, first + window / 2)
        n = max(1, int(window / trace.interval_s))
    else:
        level = trace.mean_level(first, end)
        n = max(1, int((end - first) / trace.interval_s))
    u_level = 2 * noise.noise_v / math.sqrt(n) + noise.reading_u_v
    out.append(
        Measurement("IND-4", "mean_level", level, "V", trace.visible_v, ">=", u_level,
                    detail="mean photodiode reading over the capture interval", **common)
    )  # fmt: skip
    # IND-5: a photo's lit time from exposure on.
    if cap.is_photo:
        lit_for = containing.end - first if containing is not None else 0.0
        u = _rss(cap.first.u, u_edge) * MS
        detail = "lit time from the exposure instant"
        limit = limits["photo_notice_ms"]
        if containing is not None and containing.open_end and lit_for * MS < limit:
            # The record ended while the indicator was still lit: the value is only a
            # lower bound, so the guard band is widened to the limit (INCONCLUSIVE, not FAIL).
            u = max(u, limit - lit_for * MS)
            detail = "lower bound: the light record ended while the indicator was still lit"
        out.append(
            Measurement("IND-5", "photo_lit_after_exposure", lit_for * MS, "ms", limit, ">=",
                        u, detail=detail, **common)
        )  # fmt: skip
    return out


def check_claims(
    claims: Sequence[IndicatorClaim],
    state_claims: Sequence[tuple[Mapped, str]],
    trace: LightTrace,
    lit: Sequence,
    limits: Limits,
    test: str = "",
) -> list[Measurement]:
    """IND-6: the longest time the device claimed "on" while the light was unlit."""
    t_end = trace.t_end if len(trace.v) else 0.0
    t_begin = trace.t0
    u_edge = _edge_u(trace, lit)
    worst_s, worst_u, n = 0.0, _rss(u_edge, 0.0), 0
    for claim in claims:
        end = claim.end.t if claim.end else t_end
        start = max(claim.start.t, t_begin)
        end = min(end, t_end)
        if end <= start:
            continue
        n += 1
        for a, b in _unlit_within(lit, start, end):
            if b - a > worst_s:
                worst_s = b - a
                worst_u = _rss(claim.start.u, (claim.end or claim.start).u, u_edge)
    for at, indicator in state_claims:
        if indicator != "on" or not (t_begin <= at.t <= t_end):
            continue
        n += 1
        if _containing(lit, at.t) is None:
            before = [iv.end for iv in lit if iv.end < at.t]
            dark_since = before[-1] if before else t_begin
            if at.t - dark_since > worst_s:
                worst_s, worst_u = at.t - dark_since, _rss(at.u, u_edge)
    return [
        Measurement("IND-6", "claimed_on_while_unlit", worst_s * MS, "ms",
                    limits["self_report_ms"], "<=", worst_u * MS, subject=f"{n} claim(s)",
                    detail="longest stretch the device said 'on' with the indicator unlit",
                    test=test)
    ]  # fmt: skip


def check_timeline(
    timeline: Timeline,
    trace: LightTrace,
    limits: Limits,
    *,
    test: str = "",
    state_claims: Sequence[tuple[Mapped, str]] = (),
    noise: LevelNoise | None = None,
) -> list[Measurement]:
    """Every indicator clause over every capture of a recorded stretch."""
    window = limits["lit_window_ms"] / MS
    lit = trace.lit_intervals(window_s=window)
    out: list[Measurement] = []
    t0, t1 = trace.t0, trace.t_end
    for cap in timeline.captures:
        if cap.start < t0 or cap.start > t1:
            continue  # outside the light record: nothing to compare with
        out.extend(check_capture(cap, trace, lit, limits, test, noise))
    out.extend(check_claims(timeline.claims, state_claims, trace, lit, limits, test))
    if timeline.beyond_cap:
        out.append(
            Measurement("IND-1", "captures_beyond_cap", float(timeline.beyond_cap), "count",
                        0.0, "<=", 0.0,
                        subject=f"{timeline.beyond_cap + MAX_CAPTURES} captures in one recording",
                        detail=f"the device reported more captures than the {MAX_CAPTURES} a "
                        "recording may hold (a protocol breach); those beyond were not judged",
                        test=test)
        )  # fmt: skip
    return out

"""The current signature and IND-7's stretches, on synthetic readings with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.judge.current import (
    CurrentTrace,
    bridge_spans,
    dark_powered_stretches,
    inside,
    longest_measurement,
    merge_spans,
    span_seconds,
    stretch_measurement,
    subtract_spans,
)
from harness.judge.signature import derive_signature, unresolved_measurement
from harness.judge.tamper import covered_refusal, end_reason, last_frame_after_cover
from harness.judge.verdict import Verdict

RNG = np.random.default_rng(5)
SIGMA = 0.0008
IDLE, LED, CAMERA, MIC = 0.120, 0.008, 0.180, 0.030


def readings(level: float, n: int = 25) -> np.ndarray:
    return level + SIGMA * RNG.standard_normal(n)


def learned(*, mic_idle: float = 0.0, **kw):
    return derive_signature(
        readings(IDLE + mic_idle),
        readings(IDLE + mic_idle + LED),
        {
            "photo": readings(IDLE + mic_idle + LED + CAMERA, 4),
            "video": readings(IDLE + mic_idle + LED + CAMERA),
            "audio": readings(IDLE + max(mic_idle, MIC) + LED),
        },
        **kw,
    )


def test_signature_learns_each_sensor_with_its_uncertainty():
    sig = learned()
    cam, mic = sig.sensors
    assert (cam.sensor, cam.learned_from, mic.learned_from) == ("camera", "video", "audio")
    assert abs(cam.amps - CAMERA) < 3 * cam.u and cam.u < 0.001
    assert abs(mic.amps - MIC) < 3 * mic.u
    assert sig.smallest_a == mic.amps and not sig.problems
    assert sig.threshold_a == pytest.approx(IDLE + MIC / 2, abs=0.001)
    assert sig.noise_a == pytest.approx(SIGMA, rel=0.5)
    assert sig.as_dict()["rises"]["photo"]["n"] == 4


def test_a_sensor_under_three_sigma_of_noise_is_unresolved_and_inconclusive():
    weak = derive_signature(
        readings(IDLE), readings(IDLE + LED), {"audio": readings(IDLE + LED + 0.001)}
    )
    (_, mic) = weak.sensors
    assert not mic.resolved and weak.threshold_a is None and not weak.usable
    assert any("3x the supply's noise" in p for p in weak.problems)
    m = unresolved_measurement(weak)
    assert m.verdict == Verdict.INCONCLUSIVE and m.clause == "IND-7"


def test_a_microphone_always_on_is_seen_only_against_the_stated_current():
    # wake-word listening: the microphone already draws at idle, audio adds nothing
    blind = learned(mic_idle=MIC)
    assert not blind.sensors[1].resolved and blind.problems  # honest: cannot tell
    seen = learned(mic_idle=MIC, stated={"camera": CAMERA, "microphone": MIC})
    mic = seen.sensors[1]
    assert mic.already_powered and "already powered" in mic.note
    assert seen.idle_ref_a == pytest.approx(IDLE, abs=0.001)
    assert seen.threshold_a is not None and seen.threshold_a < IDLE + MIC  # idle is above it
    allowed = learned(mic_idle=MIC, mic_listening_allowed=True)
    assert not allowed.sensors[1].judged and not allowed.problems
    assert allowed.smallest_a == pytest.approx(CAMERA, abs=0.001)


def test_a_photo_only_device_learns_the_camera_from_its_photos():
    sig = derive_signature(readings(IDLE), None, {"photo": readings(IDLE + LED + CAMERA, 3)})
    cam = sig.sensors[0]
    assert cam.learned_from == "photo" and cam.amps == pytest.approx(CAMERA + LED, abs=0.002)
    assert any("indicator included" in n for n in sig.notes)


def trace(levels, dt=0.02, t0=100.0):
    t = t0 + dt * np.arange(len(levels))
    return CurrentTrace(t, np.asarray(levels, dtype=float), np.full(len(levels), 2e-4))


def test_a_half_second_burst_in_the_dark_fails_and_a_sample_long_blip_passes():
    lv = [IDLE] * 100
    lv[10:35] = [IDLE + CAMERA] * 25  # 0.5 s at 50 Hz
    lv[60] = IDLE + CAMERA  # one reading: a capture's start before its indicator
    cur = trace(lv)
    thr = IDLE + MIC / 2
    s = dark_powered_stretches(cur, thr, lit=[], seen=[(99.0, 103.0)], averaging_s=0.005)
    assert [x.readings for x in s] == [25, 1]
    burst, blip = (stretch_measurement(x, 100.0, IDLE, subject="s", origin=100.0) for x in s)
    assert burst.verdict == Verdict.FAIL and burst.value == pytest.approx(500, abs=1)
    assert "180.0 mA over idle" in burst.detail and "t = 0.200 s" in burst.detail
    assert blip.verdict == Verdict.PASS and blip.value == pytest.approx(20)


def test_lit_unseen_and_gaps_end_a_stretch():
    cur = trace([IDLE + CAMERA] * 50)  # 1 s of camera current
    thr = IDLE + MIC / 2
    lit = [(100.30, 100.60)]
    seen = [(99.0, 100.80)]  # the light stops being recorded at 100.8
    s = dark_powered_stretches(cur, thr, lit, seen)
    assert [(round(x.start, 2), x.readings) for x in s] == [(100.0, 15), (100.62, 10)]
    assert not s[0].open_end
    gappy = CurrentTrace(np.r_[100.0, 100.02, 100.5, 100.52], np.full(4, 0.3), np.zeros(4))
    assert [x.readings for x in dark_powered_stretches(gappy, thr, [], [(99, 101)])] == [2, 2]
    assert dark_powered_stretches(trace([IDLE] * 20), thr, [], [(99, 101)]) == []


def test_a_slow_reading_across_the_lighting_edge_is_no_dark_evidence():
    """A capture starts: the indicator lights at 100.13, the camera draws from 100.14.
    One reading's query took 54 ms (a loaded host): timed 100.118 ± 0.027, it may have
    been taken while lit, so it is not flagged; a quick one at that time is."""
    thr = IDLE + MIC / 2
    lit = [(100.13, 101.0)]
    t = np.r_[100.098, 100.118, 100.138]
    amps = np.r_[IDLE, IDLE + CAMERA + MIC, IDLE + CAMERA + MIC]
    slow = CurrentTrace(t, amps, np.r_[2e-4, 0.027, 2e-4])
    assert dark_powered_stretches(slow, thr, lit, [(99.0, 102.0)]) == []
    quick = CurrentTrace(t, amps, np.full(3, 2e-4))
    (s,) = dark_powered_stretches(quick, thr, lit, [(99.0, 102.0)])
    assert s.readings == 1 and s.start == pytest.approx(100.118)


def test_a_stretch_bracketed_by_the_indicator_passes_however_slow_its_readings():
    """An LED that flickers dark for 90 ms while the camera records: slow readings (a
    loaded host) inside the gap leave 60 ± 62 ms, across the limit; but the stretch
    cannot outlast the gap between the lit spans either side, 90 ms (+ the edges' 1 ms)."""
    thr = IDLE + MIC / 2
    lit = [(100.0, 100.5), (100.59, 101.0)]
    t = np.r_[100.47, 100.49, 100.53, 100.55, 100.57, 100.61]
    u = np.r_[2e-3, 2e-3, 0.02, 2e-3, 0.015, 2e-3]
    cur = CurrentTrace(t, np.full(6, IDLE + CAMERA), u)
    (s,) = dark_powered_stretches(cur, thr, lit, [(99.0, 102.0)], averaging_s=0.005, light_u_s=1e-3)
    assert s.readings == 3 and s.duration_s == pytest.approx(0.060)
    assert s.u_s == pytest.approx(0.062) and s.most_s == pytest.approx(0.092)
    m = stretch_measurement(s, 100.0, IDLE, subject="s", origin=100.0)
    assert m.verdict == Verdict.PASS
    assert m.value + m.uncertainty == pytest.approx(
        92.0
    ) and m.value - m.uncertainty == pytest.approx(-2.0)
    assert "at most 92 ms" in m.detail
    longest = longest_measurement([s], cur, 100.0, 0.005, subject="t", seen_s=1.0, span_s=1.0)
    assert longest.value == m.value and longest.verdict == Verdict.PASS


def test_an_unpowered_reading_after_the_led_went_dark_bounds_the_stretch():
    """The LED goes dark at 100.5, the camera at ~100.56 (a stop that powers the sensor
    down late): the stretch lies between the light's end and the next reading that shows
    the camera off, at most 73 ms, though its own readings are timed ±25 ms."""
    thr = IDLE + MIC / 2
    lit = [(100.0, 100.5)]
    t = np.r_[100.49, 100.51, 100.53, 100.55, 100.57]
    u = np.r_[2e-3, 8e-3, 0.025, 0.025, 2e-3]
    amps = np.r_[[IDLE + CAMERA] * 4, IDLE]
    cur = CurrentTrace(t, amps, u)
    (s,) = dark_powered_stretches(cur, thr, lit, [(99.0, 102.0)], averaging_s=0.005, light_u_s=1e-3)
    assert s.readings == 3 and s.duration_s + s.u_s > 0.1
    assert s.most_s == pytest.approx(100.572 - 100.499)
    assert stretch_measurement(s, 100.0, IDLE, subject="s", origin=100.0).verdict == Verdict.PASS
    # a later reading bounds it too, missing readings between (looser: 133 ms)
    late = CurrentTrace(np.r_[t[:4], 100.63], amps, u)
    (s,) = dark_powered_stretches(late, thr, lit, [(99.0, 102.0)], averaging_s=0.005,
                                  light_u_s=1e-3)  # fmt: skip
    assert s.most_s == pytest.approx(100.632 - 100.499)
    # without the reading after it, nothing bounds it: guard-banded as before
    (s,) = dark_powered_stretches(cur.slice(100.0, 100.56), thr, lit, [(99.0, 102.0)],
                                  averaging_s=0.005, light_u_s=1e-3)  # fmt: skip
    m = stretch_measurement(s, 100.0, IDLE, subject="s", origin=100.0)
    assert (
        s.most_s == math.inf and m.verdict == Verdict.INCONCLUSIVE and m.value == pytest.approx(60)
    )


def test_a_bound_never_turns_a_long_stretch_into_a_pass():
    """Half a second of camera in the dark stays a FAIL, bracketed or not."""
    lv = [IDLE] * 60
    lv[10:35] = [IDLE + CAMERA] * 25
    cur = trace(lv)
    (s,) = dark_powered_stretches(cur, IDLE + MIC / 2, [(99.0, 100.1), (100.8, 101.0)],
                                  [(99.0, 103.0)], averaging_s=0.005)  # fmt: skip
    m = stretch_measurement(s, 100.0, IDLE, subject="s", origin=100.0)
    assert m.verdict == Verdict.FAIL and m.value - m.uncertainty > 400


def test_longest_measurement_passes_when_nothing_was_dark_and_powered():
    cur = trace([IDLE] * 50)
    m = longest_measurement([], cur, 100.0, 0.005, subject="t", seen_s=1.0, span_s=1.0)
    assert m.value == 0.0 and m.verdict == Verdict.PASS and m.uncertainty == pytest.approx(25)


def test_span_helpers():
    assert merge_spans([(3, 4), (0, 1), (0.5, 2)]) == [(0, 2), (3, 4)]
    assert subtract_spans([(0, 10)], [(2, 3), (5, 6)]) == [(0, 2), (3, 5), (6, 10)]
    assert span_seconds([(0, 2), (1, 3)], 0.5, 2.5) == pytest.approx(2.0)
    assert inside(np.array([0.5, 2.5, 3.0]), [(0, 1), (3, 4)]).tolist() == [True, False, True]


def test_tamper_measurements():
    ok = covered_refusal("p", accepted=False, code="INDICATOR_FAULT", artifacts_added=0,
                         capture_events=0)  # fmt: skip
    assert all(m.verdict == Verdict.PASS for m in ok)
    wrong = covered_refusal("p", accepted=False, code="CONSENT_REQUIRED", artifacts_added=0,
                            capture_events=0)  # fmt: skip
    assert [m.name for m in wrong if m.verdict == Verdict.FAIL] == [
        "refusal_code_not_indicator_fault"
    ]
    assert last_frame_after_cover(2500, 30, 1000, "v", "").verdict == Verdict.FAIL
    assert last_frame_after_cover(-20, 30, 1000, "v", "").verdict == Verdict.PASS
    assert end_reason("user", "v").verdict == Verdict.FAIL
    assert end_reason("indicator_fault", "v").verdict == Verdict.PASS


def test_bridge_spans_joins_only_short_gaps():
    assert bridge_spans([(0, 1), (1.004, 2), (2.5, 3)], 0.05) == [(0, 2), (2.5, 3)]

"""LightTrace analysis on constructed readings: PWM, drop-outs, edges, lit exactly, noise."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from harness.judge.light import LightTrace, _centred_mean

AMBIENT, GAIN, VISIBLE = 0.05, 3.0, 0.5
MAX_GAP_S = 0.0125


def make_trace(
    level: Callable[[np.ndarray], np.ndarray],
    *,
    duration_s: float = 1.0,
    dt: float = 1e-4,
    noise_v: float = 0.01,
    t0: float = 1000.0,
    trigger_u_s: float = 0.0,
    seed: int = 0,
) -> LightTrace:
    """Readings of an LED whose brightness (0..1) at time t (from t0) is `level(t)`."""
    t = np.arange(round(duration_s / dt)) * dt
    v = AMBIENT + GAIN * level(t) + np.random.default_rng(seed).normal(0, noise_v, len(t))
    return LightTrace(t0, dt, v.astype(np.float32), trigger_u_s, VISIBLE)


def pwm(hz: float, duty: float, start: float = 0.0, end: float = math.inf):
    def level(t: np.ndarray) -> np.ndarray:
        inside = (t >= start) & (t < end)
        return (inside & (np.mod((t - start) * hz, 1.0) < duty)).astype(float)

    return level


def steady(start: float, end: float, dropouts: tuple[tuple[float, float], ...] = ()):
    def level(t: np.ndarray) -> np.ndarray:
        on = (t >= start) & (t < end)
        for a, b in dropouts:
            on &= ~((t >= a) & (t < b))
        return on.astype(float)

    return level


def rel(trace: LightTrace, t: float) -> float:
    return t - trace.t0


# -- windowed mean ---------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 7, 40])
@pytest.mark.parametrize("h", [0, 1, 3, 25])
def test_centred_mean_matches_brute_force(n: int, h: int) -> None:
    v = np.random.default_rng(n * 100 + h).normal(size=n)
    expected = [v[max(0, i - h) : min(n, i + h + 1)].mean() for i in range(n)]
    np.testing.assert_allclose(_centred_mean(v, h), expected, rtol=1e-12, atol=1e-12)


def test_windowed_mean_window_is_centred_and_sized_from_seconds() -> None:
    tr = make_trace(steady(0.5, 2.0), noise_v=0.0)
    assert tr.half_window(0.010) == 50  # 101 samples of 100 µs
    m = tr.windowed_mean(0.010)
    i = round(0.5 / tr.interval_s)  # first lit sample: half the window is lit
    assert m[i] == pytest.approx(AMBIENT + GAIN * 51 / 101, abs=1e-6)


# -- PWM -------------------------------------------------------------------------------


def test_pwm_1khz_6_percent_is_not_lit() -> None:
    tr = make_trace(pwm(1000, 0.06), dt=1e-5, duration_s=0.5)
    assert tr.lit_intervals() == []
    assert tr.min_windowed(tr.t0 + 0.1, tr.t0 + 0.4) < VISIBLE


def test_pwm_100hz_50_percent_is_lit_and_its_off_phases_are_short_gaps() -> None:
    tr = make_trace(pwm(100, 0.5, start=0.2, end=0.8), dt=1e-5)
    lit = tr.lit_intervals()
    assert len(lit) == 1
    assert rel(tr, lit[0].start) == pytest.approx(0.2, abs=1e-5)
    assert rel(tr, lit[0].end) == pytest.approx(0.795, abs=1e-5)  # end of the last on-phase
    gaps = tr.dark_gaps(tr.t0 + 0.25, tr.t0 + 0.75)
    assert len(gaps) >= 49
    inner = [g.duration_s for g in gaps[1:-1]]
    assert max(inner) == pytest.approx(0.005, abs=2e-5)
    assert max(g.duration_s for g in gaps) <= MAX_GAP_S


# -- drop-outs -------------------------------------------------------------------------


def test_150ms_dropout_is_an_unlit_interval_and_a_gap() -> None:
    tr = make_trace(steady(0.1, 0.9, dropouts=((0.4, 0.55),)))
    lit = tr.lit_intervals()
    assert len(lit) == 2
    assert rel(tr, lit[0].end) == pytest.approx(0.4, abs=tr.interval_s)
    assert rel(tr, lit[1].start) == pytest.approx(0.55, abs=tr.interval_s)
    gaps = tr.dark_gaps(tr.t0 + 0.2, tr.t0 + 0.8)
    assert len(gaps) == 1
    assert gaps[0].duration_s == pytest.approx(0.150, abs=tr.interval_s)
    assert gaps[0].duration_s > MAX_GAP_S + gaps[0].u_s


def test_2ms_dropout_is_neither_unlit_nor_a_long_gap() -> None:
    tr = make_trace(steady(0.1, 0.9, dropouts=((0.4, 0.402),)), dt=1e-5)
    lit = tr.lit_intervals()
    assert len(lit) == 1
    gaps = tr.dark_gaps(tr.t0 + 0.2, tr.t0 + 0.8)
    assert len(gaps) == 1
    assert gaps[0].duration_s == pytest.approx(0.002, abs=tr.interval_s)
    assert gaps[0].duration_s < MAX_GAP_S


def test_gap_is_clipped_to_the_asked_window() -> None:
    tr = make_trace(steady(0.3, 0.9))
    (gap,) = tr.dark_gaps(tr.t0 + 0.1, tr.t0 + 0.5)
    assert gap.start == tr.t0 + 0.1
    assert rel(tr, gap.end) == pytest.approx(0.3, abs=tr.interval_s)


def test_min_duration_drops_short_gaps() -> None:
    tr = make_trace(pwm(100, 0.5), dt=1e-5)
    assert tr.dark_gaps(tr.t0, tr.t_end, min_duration_s=MAX_GAP_S) == []


# -- edges -----------------------------------------------------------------------------


def test_step_edges_are_unbiased_and_within_their_uncertainty() -> None:
    """Over random sub-sample phases the edge error averages to zero and never exceeds u_s."""
    dt = 1e-4
    errors_on, errors_off = [], []
    rng = np.random.default_rng(42)
    for _ in range(200):
        on, off = 0.05 + rng.uniform(0, dt), 0.15 + rng.uniform(0, dt)
        tr = make_trace(steady(on, off), duration_s=0.2, dt=dt, trigger_u_s=20e-6)
        (iv,) = tr.lit_intervals()
        assert not iv.open_start and not iv.open_end
        assert iv.u_s == pytest.approx(20e-6 + dt / 2)
        errors_on.append(rel(tr, iv.start) - on)
        errors_off.append(rel(tr, iv.end) - off)
    for err in (np.array(errors_on), np.array(errors_off)):
        assert np.abs(err).max() <= dt / 2 + 1e-9
        assert abs(err.mean()) < dt / 10


def test_rising_and_falling_edges_exclude_the_trace_boundaries() -> None:
    tr = make_trace(steady(-1.0, 0.6))  # already lit when the trace began
    (iv,) = tr.lit_intervals()
    assert iv.open_start and not iv.open_end
    assert iv.start == tr.t0
    assert tr.rising_edges() == []
    (fall,) = tr.falling_edges()
    assert rel(tr, fall.t) == pytest.approx(0.6, abs=tr.interval_s)


def test_lit_throughout_is_one_open_interval() -> None:
    tr = make_trace(steady(-1.0, 5.0))
    (iv,) = tr.lit_intervals()
    assert iv.open_start and iv.open_end
    assert (iv.start, iv.end) == (tr.t0, tr.t_end)
    assert tr.rising_edges() == [] and tr.falling_edges() == []


def test_dark_trace_has_no_lit_interval() -> None:
    tr = make_trace(lambda t: np.zeros_like(t))
    assert tr.lit_intervals() == []
    (gap,) = tr.dark_gaps(tr.t0, tr.t_end)
    assert gap.duration_s == pytest.approx(tr.t_end - tr.t0)


# -- lit exactly, and noise ----------------------------------------------------------------


def _slow_ramp_through_threshold(t: np.ndarray) -> np.ndarray:
    """A dimming-in LED whose level crosses visible_v slowly (≈ at t = 1 s)."""
    return (0.40 + 0.10 * t) / GAIN - AMBIENT / GAIN


def test_lit_is_exactly_the_definition_even_in_noise() -> None:
    """No hysteresis: a noisy slow crossing chatters, and every lit stretch has its windowed
    mean at or above visible_v (noise belongs in the uncertainty, not in the threshold)."""
    tr = make_trace(_slow_ramp_through_threshold, duration_s=2.0, dt=1e-5, noise_v=0.3)
    lit = tr.lit_intervals()
    assert len(lit) > 1
    m, h = tr.windowed_mean(), tr.half_window(0.010)
    for iv in lit:
        i0, i1 = tr.span(iv.start, iv.end)
        assert (m[i0 + h : i1 - h] >= VISIBLE).all()
    # chatter only around the true crossing (t = 1 s): within ~6 σ of the windowed mean
    assert 0.6 < rel(tr, lit[0].start) < 1.05
    assert lit[-1].open_end
    assert tr.window_noise_v() == pytest.approx(0.3 / np.sqrt(2 * h + 1), rel=0.1)


def test_noise_estimate_and_steady_light_make_no_gaps() -> None:
    tr = make_trace(steady(-1, 5), noise_v=0.02, dt=1e-5)
    assert tr.noise_v() == pytest.approx(0.02, rel=0.05)
    assert tr.dark_gaps(tr.t0, tr.t_end) == []


def test_overload_markers_do_not_poison_the_running_sum() -> None:
    tr0 = make_trace(steady(0.2, 0.8), noise_v=0.0)
    v = np.array(tr0.v)
    v[5000] = 9.9e37
    tr = LightTrace(tr0.t0, tr0.interval_s, v, 0.0, VISIBLE)
    (iv,) = tr.lit_intervals()
    assert rel(tr, iv.end) == pytest.approx(0.8, abs=tr.interval_s)
    assert np.isfinite(tr.windowed_mean()).all()


# -- levels, slices, export ------------------------------------------------------------


def test_mean_level_min_windowed_and_slice() -> None:
    tr = make_trace(steady(0.2, 0.8, dropouts=((0.5, 0.502),)), noise_v=0.0)
    assert tr.mean_level(tr.t0 + 0.3, tr.t0 + 0.4) == pytest.approx(AMBIENT + GAIN, abs=1e-5)
    low = tr.min_windowed(tr.t0 + 0.3, tr.t0 + 0.7)
    assert low == pytest.approx(AMBIENT + GAIN * (1 - 20 / 101), abs=1e-5)
    assert math.isnan(tr.mean_level(tr.t0 - 5, tr.t0 - 4))
    part = tr.slice(tr.t0 + 0.25, tr.t0 + 0.75)
    assert rel(tr, part.t0) == pytest.approx(0.25)
    assert len(part) == 5001
    assert part.times[-1] == pytest.approx(tr.t0 + 0.75)
    with pytest.raises(ValueError):
        part.v[0] = 0.0  # evidence is read-only


def test_to_csv_round_trips(tmp_path) -> None:
    tr = make_trace(steady(0.01, 0.02), duration_s=0.03)
    path = tr.to_csv(tmp_path / "light.csv", chunk=100)
    data = np.loadtxt(path, delimiter=",", skiprows=2)
    assert data.shape == (len(tr), 2)
    np.testing.assert_allclose(data[:, 0], tr.times, atol=1e-9)
    np.testing.assert_allclose(data[:, 1], tr.v, rtol=1e-6)

"""Statements against observations, on constructed timelines: the liars' shapes and the
honest ones (which must never FAIL), the artifact.info fallback, and claims that end."""

from __future__ import annotations

import numpy as np
import pytest

from harness.judge.clauses import Limits
from harness.judge.indicator import check_timeline
from harness.judge.light import LightTrace
from harness.judge.statements import check_statements
from harness.judge.timebase import Mapped
from harness.judge.timeline import Timeline
from harness.judge.verdict import Verdict
from harness.wire.messages import ArtifactInfo, Event
from harness.wire.requests import CaptureRequest

U_S = 0.0002  # the fake clock sync's uncertainty


class Clock:
    """Device µs = host s × 1e6 (epoch 0), known to ±U_S."""

    def to_host(self, t_us: int, epoch: int) -> Mapped:
        return Mapped(t_us / 1e6, U_S)

    def to_device_us(self, host_t: float, epoch: int) -> tuple[float, float]:
        return host_t * 1e6, U_S * 1e6


def ev(name: str, t: float, arrive: float | None = None, **fields: object) -> Event:
    """An event that happened at host time `t` and arrived at `arrive` (default t + 1 ms)."""
    return Event(name, round(t * 1e6), t + 0.001 if arrive is None else arrive, 0, dict(fields))


def recording(session: str = "s-1", kind: str = "video", sent: float = 1.0) -> CaptureRequest:
    return CaptureRequest("record.start", kind, "user", session, 0, sent, sent + 0.002,
                          end_cmd="record.stop", end_sent=3.0, end_received=3.002,
                          artifact="a-1")  # fmt: skip


def honest_video(session: str = "s-1", first: float = 1.06, last: float = 2.99) -> list[Event]:
    return [
        ev("capture.begin", first - 0.01, session=session, kind="video", source="user"),
        ev("capture.frame", first, session=session, seq=0),
        ev("capture.end", 3.001, session=session, reason="user", last_frame_us=round(last * 1e6)),
    ]


def verdicts(ms) -> dict[tuple[str, str], Verdict]:
    out: dict[tuple[str, str], Verdict] = {}
    for m in ms:
        key = (m.clause, m.name)
        out[key] = max(out.get(key, Verdict.PASS), m.verdict, key=lambda v: v.rank)
    return out


def statements(events, requests, **kw):
    return verdicts(check_statements(Timeline(events, Clock(), requests=requests, **kw), Limits()))


def test_an_honest_recording_passes_every_statement_check():
    v = statements(honest_video(), [recording()])
    assert set(v.values()) == {Verdict.PASS}
    assert ("IND-1", "capture_events_misnamed") in v
    assert ("MIN-3", "first_frame_before_request") in v
    assert ("IND-1", "event_time_after_arrival") in v


def test_a_video_called_a_photo_is_judged_as_the_recording_it_was():
    events = [
        ev("capture.begin", 1.05, artifact="s-1", kind="photo", source="user"),
        ev("capture.frame", 1.06, artifact="s-1", seq=0),
        ev("capture.end", 3.001, artifact="s-1", reason="user", last_frame_us=2_990_000),
    ]
    tl = Timeline(events, Clock(), requests=[recording()])
    (cap,) = tl.captures
    assert cap.kind == "video" and not cap.is_photo and cap.end == pytest.approx(2.99)
    v = verdicts(check_statements(tl, Limits()))
    assert v[("IND-1", "capture_events_misnamed")] == Verdict.FAIL


def test_a_first_frame_before_its_request_fails_min3():
    events = honest_video(first=0.7)  # 300 ms before the request was sent
    assert statements(events, [recording()])[("MIN-3", "first_frame_before_request")] == (
        Verdict.FAIL
    )


def test_a_post_dated_first_frame_is_caught_by_its_arrival():
    events = honest_video()
    events[1] = ev("capture.frame", 1.145, arrive=1.061, session="s-1", seq=0)  # 84 ms ahead
    assert statements(events, [recording()])[("IND-1", "event_time_after_arrival")] == (
        Verdict.FAIL
    )


def test_frames_after_the_claimed_last_frame_fail_ind1():
    events = honest_video(last=2.49)  # claims the capture ended 500 ms before the stop
    events.insert(2, ev("capture.frame", 2.9, session="s-1", seq=58))
    v = statements(events, [recording()])
    assert v[("IND-1", "frame_after_claimed_last_frame")] == Verdict.FAIL


def test_a_last_frame_long_after_the_stop_answer_fails_ind1():
    events = honest_video(last=4.2)  # 1.2 s after record.stop was answered (+1 s allowed)
    v = statements(events, [recording()])
    assert v[("IND-1", "last_frame_after_end_answer")] == Verdict.FAIL


def test_an_honest_frame_report_after_seq0_is_fine():
    events = honest_video()
    events.insert(2, ev("capture.frame", 2.5, session="s-1", seq=44))
    assert set(statements(events, [recording()]).values()) == {Verdict.PASS}


# -- the timeline itself --------------------------------------------------------------


def test_missing_events_fall_back_on_artifact_info():
    """A device that reports no frames cannot escape the light check."""
    info = ArtifactInfo("a-1", "video", "user", 1_060_000, 2_990_000, 58, ("video",), (), 100)
    tl = Timeline([], Clock(), requests=[recording()])
    assert tl.captures == []
    tl.add_stored(info, 0, "s-1")
    (cap,) = tl.captures
    assert (cap.start, cap.end) == pytest.approx((1.06, 2.99))
    assert cap.request is not None and cap.end_reason == "(from artifact.info)"


def test_a_missing_end_event_is_completed_from_artifact_info():
    events = honest_video()[:2]
    tl = Timeline(events, Clock(), requests=[recording()])
    assert tl.captures[0].last is None
    info = ArtifactInfo("a-1", "video", "user", 1_060_000, 2_990_000, 58, ("video",), (), 100)
    tl.add_stored(info, 0, "s-1")
    assert tl.captures[0].end == pytest.approx(2.99)


def test_an_on_claim_ends_at_a_restart_the_host_began():
    """A device need not say 'off' before it reboots: its claim ends with the reboot."""
    events = [ev("indicator", 1.0, state="on"), ev("boot", 2.5, reason="reboot")]
    tl = Timeline(events, Clock(), restarts=[1.6])
    (claim,) = tl.claims
    assert claim.end is not None and claim.end.t == pytest.approx(1.6)


def test_an_on_claim_ends_at_a_state_answer_saying_off():
    events = [ev("indicator", 1.0, state="on")]
    tl = Timeline(events, Clock(), state_claims=[(Mapped(1.4, 0.3), "off")])
    (claim,) = tl.claims  # ended when the state request was sent (1.4 - 0.3)
    assert claim.end is not None and claim.end.t == pytest.approx(1.1) and claim.end.u == 0


# -- lit exactly, noise in the uncertainty ----------------------------------------------


def _trace(level_fn, noise: float = 0.0, seed: int = 1) -> LightTrace:
    t = np.arange(0.0, 4.0, 1e-4)
    v = level_fn(t) + np.random.default_rng(seed).normal(0, noise, len(t))
    return LightTrace(0.0, 1e-4, v.astype(np.float64), 5e-5, 0.5)


def _ind(trace: LightTrace, events, requests) -> dict[tuple[str, str], Verdict]:
    tl = Timeline(events, Clock(), requests=requests)
    return verdicts(check_timeline(tl, trace, Limits()))


def test_a_dim_indicator_just_below_visible_v_fails_ind4_and_ind1():
    """85 % of visible_v after a bright start: no hysteresis lets it pass."""
    trace = _trace(lambda t: np.where((t > 1.0) & (t < 1.2), 2.0, np.where(t > 1.0, 0.425, 0.0)))
    v = _ind(trace, honest_video(first=1.1), [recording()])
    assert v[("IND-4", "lowest_windowed_level")] == Verdict.FAIL
    assert v[("IND-1", "lit_coverage_margin")] == Verdict.FAIL


def test_a_steady_indicator_at_the_threshold_is_inconclusive_not_fail():
    """A level hovering at visible_v in noise: lit or not cannot be told, so the unlit
    time goes into IND-1's uncertainty."""
    trace = _trace(lambda t: np.where((t > 1.0) & (t < 3.2), 0.5, 0.0), noise=0.05)
    v = _ind(trace, honest_video(), [recording()])
    assert v[("IND-1", "lit_coverage_margin")] == Verdict.INCONCLUSIVE
    assert v[("IND-4", "lowest_windowed_level")] == Verdict.INCONCLUSIVE


def test_a_bright_steady_indicator_passes():
    trace = _trace(lambda t: np.where((t > 1.0) & (t < 3.2), 2.0, 0.0), noise=0.02)
    v = _ind(trace, honest_video(), [recording()])
    assert v[("IND-1", "lit_coverage_margin")] == Verdict.PASS
    assert v[("IND-4", "lowest_windowed_level")] == Verdict.PASS

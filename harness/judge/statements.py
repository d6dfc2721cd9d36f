"""The device's statements held against the host's own observations, as measurements.

bench-protocol.md "What the host may hold against the device": the events of a capture
name it the way its request did and carry the requested kind; no frame is reported before
the request that asked for it was sent, or after the answer that ended it plus `revoke_ms`;
and an event's device time, mapped to the host clock, cannot lie after the moment the host
received it by more than the mapping's uncertainty. A contradiction FAILs the clause the
statement would have served (clauses.md "What counts as evidence"), with both values in
the record.

A statement is held to what the host observed up to the uncertainty of the clock sync:
each value here is the contradiction *beyond* that uncertainty (U = 0), so an honest
device whose times sit inside it always passes, and a liar fails only when the
contradiction is certain.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.errors import TallyError
from harness.judge.clauses import Limits
from harness.judge.timeline import CAPTURE_EVENTS, CaptureInterval, Timeline
from harness.judge.verdict import Measurement, count

MS = 1000.0


def check_statements(timeline: Timeline, limits: Limits, test: str = "") -> list[Measurement]:
    """Every statement check over the captures the host asked for, and every event's time."""
    out: list[Measurement] = []
    for cap in timeline.captures:
        if cap.request is None:
            continue
        events = timeline.by_subject.get((cap.epoch, cap.subject), [])
        out.append(_naming(cap, events, test))
        out.append(_first_after_request(cap, test))
        late = _last_after_end(cap, limits, test)
        if late is not None:
            out.append(late)
        beyond = _frames_beyond_last(cap, events, timeline, test)
        if beyond is not None:
            out.append(beyond)
    out.extend(_times_after_arrival(timeline, test))
    return out


def _naming(cap: CaptureInterval, events: Sequence, test: str) -> Measurement:
    """IND-1: a recording's events say `session`, a photo's `artifact`; `capture.begin`
    carries the requested kind. A misnamed capture hides what the indicator is judged over
    (a video called a photo shrinks to an instant)."""
    req = cap.request
    assert req is not None
    key = "session" if req.is_recording else "artifact"
    wrong = [e for e in events if e.fields.get(key) != req.subject]
    kinds = {str(e.get("kind"))[:16] for e in events if e.name == "capture.begin"}
    bad_kind = sorted(k for k in kinds if k != req.kind)
    detail = f"asked {req.cmd} {req.kind}; {len(wrong)} event(s) not naming it by {key!r}"
    if bad_kind:
        detail += f"; capture.begin said kind {bad_kind}"
    return count("IND-1", "capture_events_misnamed", len(wrong) + len(bad_kind),
                 subject=cap.label, detail=detail)  # fmt: skip


def _first_after_request(cap: CaptureInterval, test: str) -> Measurement:
    """MIN-3: no frame reported before the request that asked for it was sent."""
    req = cap.request
    assert req is not None
    early_ms = (req.sent - cap.first.t - cap.first.u) * MS
    return Measurement(
        "MIN-3", "first_frame_before_request", early_ms, "ms", 0.0, "<=", 0.0,
        subject=cap.label, test=test, t=cap.first.t,
        detail=f"request sent minus the reported first frame, beyond ±{cap.first.u * MS:.2g} ms",
    )  # fmt: skip


def _last_after_end(cap: CaptureInterval, limits: Limits, test: str) -> Measurement | None:
    """No frame after the answer that ended the capture plus `revoke_ms`: IND-1 for a
    record.stop (the interval the indicator is judged over), CON-3 for a revoke."""
    req = cap.request
    if req is None or req.end_received is None or cap.last is None or cap.is_photo:
        return None
    if req.end_cmd not in ("record.stop", "consent.revoke"):
        return None
    clause = "CON-3" if req.end_cmd == "consent.revoke" else "IND-1"
    late_ms = (cap.last.t - cap.last.u - req.end_received) * MS - limits["revoke_ms"]
    return Measurement(
        clause, "last_frame_after_end_answer", late_ms, "ms", 0.0, "<=", 0.0,
        subject=cap.label, test=test, t=cap.last.t,
        detail=f"reported last frame minus ({req.end_cmd} answer + revoke_ms), beyond "
        f"±{cap.last.u * MS:.2g} ms",
    )  # fmt: skip


def _frames_beyond_last(
    cap: CaptureInterval, events: Sequence, timeline: Timeline, test: str
) -> Measurement | None:
    """IND-1: a frame reported after the capture's own claimed last frame (the capture
    went on past the interval it asked to be judged over)."""
    if cap.last is None or cap.is_photo or cap.last_us is None:
        return None
    frames = [e for e in events if e.name == "capture.frame" and e.epoch == cap.epoch]
    if not frames:
        return None
    latest = max(frames, key=lambda e: e.t_us)
    t = timeline.map(latest)
    beyond_ms = (latest.t_us - cap.last_us) / MS
    return Measurement(
        "IND-1", "frame_after_claimed_last_frame", beyond_ms, "ms", 0.0, "<=", 0.0,
        subject=cap.label, test=test, t=t.t,
        detail=f"latest capture.frame (seq {latest.get('seq')}) minus last_frame_us, device clock",
    )  # fmt: skip


def _times_after_arrival(timeline: Timeline, test: str) -> list[Measurement]:
    """An event happened before it was sent, so its mapped device time cannot lie after
    its arrival by more than the mapping's uncertainty: IND-1 for capture events (a first
    frame post-dated past a late indicator), IND-6 for indicator events."""
    worst: dict[str, tuple[float, float, str]] = {}
    for ev in timeline.events:
        clause = "IND-1" if ev.name in CAPTURE_EVENTS else "IND-6" if ev.name == "indicator" else ""
        if not clause:
            continue
        try:
            at = timeline.map(ev)
        except TallyError:  # a power session the bench never synced: nothing to hold
            continue
        beyond = at.t - at.u - ev.host_t
        if clause not in worst or beyond > worst[clause][0]:
            worst[clause] = (beyond, at.u, f"{ev.name} of {ev.subject or '-'}")
    return [
        Measurement(
            clause,
            "event_time_after_arrival",
            beyond * MS,
            "ms",
            0.0,
            "<=",
            0.0,
            subject=what,
            test=test,
            detail=f"mapped device time minus the host's arrival, beyond ±{u * MS:.2g} ms "
            "(the worst event)",
        )
        for clause, (beyond, u, what) in sorted(worst.items())
    ]

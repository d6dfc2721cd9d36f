"""One host time axis for device events and light: capture intervals and self-reports.

Device times come through a `DeviceClock` (the bench's `ClockSync`), so each carries the
uncertainty of the mapping. A capture interval runs from its first frame (`capture.frame`
seq 0) to its last frame (`capture.end.last_frame_us`, or `artifact.info` when the end
event is missing); a photo's interval is its exposure instant.

What the host asked (`CaptureRequest`) decides what a capture is: a `record.start`
capture is a recording whatever its events call it, and its events are found by the id
the answer gave, under either key. How the device named it is kept for the statement
checks (`judge.statements`). An indicator claim lasts until the device's next statement
about it, or until a restart or power cut ends everything it said.

A timeline holds at most `MAX_CAPTURES` captures. A capture happens only when the host
asks for one, and a test asks for a few (a state-machine example for at most a few
dozen), so a device reporting more in one recording breaks the protocol: the captures
beyond the cap are counted (`beyond_cap`), not judged, and the count is a FAIL of
IND-1, the clause the timeline serves (clauses.md: a protocol breach fails the clause
it concerns). Judging them all would let a device make the host's cost what it likes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harness.judge.timebase import DeviceClock, Mapped
from harness.wire.messages import ArtifactInfo, Event
from harness.wire.requests import CaptureRequest

CAPTURE_EVENTS = ("capture.begin", "capture.frame", "capture.end")

MAX_CAPTURES = 1000  # per timeline (one light recording)


@dataclass(frozen=True)
class CaptureInterval:
    subject: str  # session or artifact id
    kind: str
    source: str
    epoch: int
    first_us: int
    last_us: int | None
    first: Mapped
    last: Mapped | None  # None while (or if) the capture never reported its end
    end_reason: str = ""
    request: CaptureRequest | None = None  # None: a capture the host never asked for

    @property
    def is_photo(self) -> bool:
        return self.kind == "photo"

    @property
    def start(self) -> float:
        return self.first.t

    @property
    def end(self) -> float:
        if self.is_photo or self.last is None:
            return self.first.t
        return self.last.t

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.source} {self.subject}"


@dataclass(frozen=True)
class IndicatorClaim:
    """An interval in which the device said its indicator was on."""

    start: Mapped
    end: Mapped | None  # None: still claimed on when the record ends
    origin: str  # "event" or "state"


def _first_frame(events: list[Event]) -> Event | None:
    return next((e for e in events if e.name == "capture.frame" and e.get("seq") == 0), None)


def _key(ev: Event) -> tuple[int, str] | None:
    subject = ev.subject
    return None if subject is None else (ev.epoch, subject)


class Timeline:
    """Capture intervals and indicator claims built from a slice of the event stream."""

    def __init__(
        self,
        events: Iterable[Event],
        sync: DeviceClock,
        *,
        requests: Sequence[CaptureRequest] = (),
        restarts: Sequence[float] = (),
        state_claims: Sequence[tuple[Mapped, str]] = (),
    ) -> None:
        self.events = list(events)
        self.sync = sync
        self.requests = list(requests)
        self.restarts = sorted(restarts)
        self.by_subject: dict[tuple[int, str], list[Event]] = {}
        for ev in self.events:
            key = _key(ev)
            if key is not None and ev.name in CAPTURE_EVENTS:
                self.by_subject.setdefault(key, []).append(ev)
        self.beyond_cap = 0  # captures reported beyond MAX_CAPTURES (not judged)
        self.captures = self._captures()
        self.claims = self._claims(state_claims)

    def map(self, ev: Event, t_us: int | None = None) -> Mapped:
        return self.sync.to_host(ev.t_us if t_us is None else t_us, ev.epoch)

    def _captures(self) -> list[CaptureInterval]:
        asked = {(r.epoch, r.subject): r for r in self.requests}
        out = []
        subjects = list(self.by_subject.items())
        if sum(1 for _, evs in subjects if _first_frame(evs) is not None) > MAX_CAPTURES:
            with_first = [(k, evs) for k, evs in subjects if _first_frame(evs) is not None]
            self.beyond_cap = len(with_first) - MAX_CAPTURES
            subjects = with_first[:MAX_CAPTURES]  # the first reported
        for key, evs in subjects:
            first = _first_frame(evs)
            if first is None:
                continue
            req = asked.get(key)
            begin = next((e for e in evs if e.name == "capture.begin"), None)
            end = next((e for e in evs if e.name == "capture.end"), None)
            if req is not None:
                kind, source = req.kind, req.source
            else:
                kind = str(begin.get("kind", "")) if begin else ""
                source = str(begin.get("source", "")) if begin else ""
                kind = kind or ("photo" if "artifact" in first.fields else "recording")
            last_us = end.get("last_frame_us") if end else None
            if not isinstance(last_us, int) or isinstance(last_us, bool):
                last_us = None
            if kind == "photo":
                last_us = first.t_us
            out.append(
                CaptureInterval(
                    subject=key[1],
                    kind=kind[:16],
                    source=source[:16],
                    epoch=first.epoch,
                    first_us=first.t_us,
                    last_us=last_us,
                    first=self.map(first),
                    last=self.map(first, last_us) if last_us is not None else None,
                    end_reason=str(end.get("reason", ""))[:32] if end else "",
                    request=req,
                )
            )
        return sorted(out, key=lambda c: c.start)

    def _claims(self, state_claims: Sequence[tuple[Mapped, str]]) -> list[IndicatorClaim]:
        """ "On" claims from indicator events, each ended by the device's next statement
        about its indicator (an event, or a `state` answer saying off), by a restart or
        power cut the host began, or by a `boot` (nothing said before it still stands)."""
        ends: list[Mapped] = [Mapped(t, 0.0) for t in self.restarts]
        ends += [Mapped(ev.host_t, 0.0) for ev in self.events if ev.name == "boot"]
        # a `state` answer saying off ended the claim at the earliest instant it may have
        # been true (its request's send time): the device gets the benefit of the doubt
        ends += [Mapped(at.t - at.u, 0.0) for at, said in state_claims if said == "off"]
        claims: list[IndicatorClaim] = []
        on: Mapped | None = None
        for ev in self.events:
            if ev.name != "indicator" or ev.get("state") not in ("on", "off"):
                continue
            at = self.map(ev)
            if on is not None:
                cut = min((e for e in ends if on.t < e.t < at.t), key=lambda e: e.t, default=None)
                if cut is not None:  # the claim ended before this event: a restart, say
                    claims.append(IndicatorClaim(on, cut, "event"))
                    on = None
            if ev.get("state") == "on" and on is None:
                on = at
            elif ev.get("state") == "off" and on is not None:
                claims.append(IndicatorClaim(on, at, "event"))
                on = None
        if on is not None:
            cut = min((e for e in ends if e.t > on.t), key=lambda e: e.t, default=None)
            claims.append(IndicatorClaim(on, cut, "event"))
        return claims

    def add_stored(self, info: ArtifactInfo, epoch: int, subject: str | None = None) -> None:
        """Fall back on what `artifact.info` says was stored, for a capture whose events
        never came (a device must not escape the light check by not reporting frames)."""
        key = subject or info.artifact
        if info.first_frame_us is None:
            return
        req = next((r for r in self.requests if r.subject == key and r.epoch == epoch), None)
        kind = req.kind if req is not None else info.kind
        last_us = info.first_frame_us if kind == "photo" else info.last_frame_us
        known = self.capture(key) or self.capture(info.artifact)
        if known is not None:
            if known.last is None and last_us is not None:  # the end event never came
                self.captures.remove(known)
                self.captures.append(
                    dataclasses.replace(
                        known,
                        last_us=last_us,
                        last=self.sync.to_host(last_us, known.epoch),
                        end_reason="(end from artifact.info)",
                    )
                )
                self.captures.sort(key=lambda c: c.start)
            return
        if len(self.captures) >= MAX_CAPTURES:
            self.beyond_cap += 1
            return
        self.captures.append(
            CaptureInterval(
                subject=key,
                kind=kind[:16],
                source=(req.source if req is not None else info.source)[:16],
                epoch=epoch,
                first_us=info.first_frame_us,
                last_us=last_us,
                first=self.sync.to_host(info.first_frame_us, epoch),
                last=self.sync.to_host(last_us, epoch) if last_us is not None else None,
                end_reason="(from artifact.info)",
                request=req,
            )
        )
        self.captures.sort(key=lambda c: c.start)

    def capture(self, subject: str) -> CaptureInterval | None:
        return next((c for c in self.captures if c.subject == subject), None)

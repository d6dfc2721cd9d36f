"""One host time axis for device events and light: capture intervals and self-reports.

Device times come through a `DeviceClock` (the bench's `ClockSync`), so each carries the
uncertainty of the mapping.
A capture interval runs from its first frame (`capture.frame` seq 0) to its last frame
(`capture.end.last_frame_us`, or `artifact.info` when the end event is missing); a
photo's interval is its exposure instant.

A timeline holds at most `MAX_CAPTURES` captures. A capture happens only when the host
asks for one, and a test asks for a few (a state-machine example for at most a few
dozen), so a device reporting more in one recording breaks the protocol: the captures
beyond the cap are counted (`beyond_cap`), not judged, and the count is a FAIL of
IND-1, the clause the timeline serves (clauses.md: a protocol breach fails the clause
it concerns). Judging them all would let a device make the host's cost what it likes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from harness.judge.timebase import DeviceClock, Mapped
from harness.wire.messages import ArtifactInfo, Event

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


class Timeline:
    """Capture intervals and indicator claims built from a slice of the event stream."""

    def __init__(self, events: Iterable[Event], sync: DeviceClock) -> None:
        self.events = list(events)
        self.sync = sync
        self.beyond_cap = 0  # captures reported beyond MAX_CAPTURES (not judged)
        self.captures = self._captures()
        self.claims = self._claims()

    def _map(self, ev: Event, t_us: int | None = None) -> Mapped:
        return self.sync.to_host(ev.t_us if t_us is None else t_us, ev.epoch)

    def _captures(self) -> list[CaptureInterval]:
        begins: dict[tuple[int, str], Event] = {}
        firsts: dict[tuple[int, str], Event] = {}
        ends: dict[tuple[int, str], Event] = {}
        for ev in self.events:
            key = (ev.epoch, ev.subject or "")
            if ev.subject is None:
                continue
            if ev.name == "capture.begin":
                begins.setdefault(key, ev)
            elif ev.name == "capture.frame" and ev.get("seq") == 0:
                firsts.setdefault(key, ev)
            elif ev.name == "capture.end":
                ends.setdefault(key, ev)
        out = []
        if len(firsts) > MAX_CAPTURES:
            self.beyond_cap = len(firsts) - MAX_CAPTURES
            firsts = dict(list(firsts.items())[:MAX_CAPTURES])  # the first reported
        for key, first in firsts.items():
            begin = begins.get(key)
            kind = str(begin.get("kind", "")) if begin else ""
            source = str(begin.get("source", "")) if begin else ""
            if not kind:
                kind = "photo" if "artifact" in first.fields else "recording"
            end = ends.get(key)
            last_us = end.get("last_frame_us") if end else None
            if not isinstance(last_us, int) or isinstance(last_us, bool):
                last_us = None
            if kind == "photo":
                last_us = first.t_us
            last = self._map(first, last_us) if last_us is not None else None
            out.append(
                CaptureInterval(
                    subject=key[1],
                    kind=kind[:16],
                    source=source[:16],
                    epoch=first.epoch,
                    first_us=first.t_us,
                    last_us=last_us,
                    first=self._map(first),
                    last=last,
                    end_reason=str(end.get("reason", ""))[:32] if end else "",
                )
            )
        return sorted(out, key=lambda c: c.start)

    def _claims(self) -> list[IndicatorClaim]:
        claims: list[IndicatorClaim] = []
        on: Mapped | None = None
        for ev in self.events:
            if ev.name == "boot" and on is not None:
                claims.append(IndicatorClaim(on, Mapped(ev.host_t, 0.0), "event"))
                on = None
            if ev.name != "indicator":
                continue
            state = ev.get("state")
            if state == "on" and on is None:
                on = self._map(ev)
            elif state == "off" and on is not None:
                claims.append(IndicatorClaim(on, self._map(ev), "event"))
                on = None
        if on is not None:
            claims.append(IndicatorClaim(on, None, "event"))
        return claims

    def add_stored(self, info: ArtifactInfo, epoch: int, subject: str | None = None) -> None:
        """Fall back on what `artifact.info` says was stored, for a capture whose events
        never came (a device must not escape the light check by not reporting frames)."""
        key = subject or info.artifact
        if info.first_frame_us is None:
            return
        last_us = info.first_frame_us if info.kind == "photo" else info.last_frame_us
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
                kind=info.kind[:16],
                source=info.source[:16],
                epoch=epoch,
                first_us=info.first_frame_us,
                last_us=last_us,
                first=self.sync.to_host(info.first_frame_us, epoch),
                last=self.sync.to_host(last_us, epoch) if last_us is not None else None,
                end_reason="(from artifact.info)",
            )
        )
        self.captures.sort(key=lambda c: c.start)

    def capture(self, subject: str) -> CaptureInterval | None:
        return next((c for c in self.captures if c.subject == subject), None)

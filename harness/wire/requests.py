"""What the host asked of the device, and when: the host's own side of every capture.

The device's events are statements; the requests are the host's observations: a capture
was asked for at `sent`, answered at `received`, ended by a request at `end_sent`. The
judge holds the events against these (bench-protocol.md "What the host may hold against
the device"): how a capture is named, its kind, no frame before it was asked for, no frame
after the answer that ended it. Restarts end every claim the device made before them.
Bounded: the newest `MAX_KEPT` captures and artifact ids.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

MAX_KEPT = 10_000
RESTART_CMDS = ("device.reboot", "device.factory_reset")


@dataclass
class CaptureRequest:
    """One accepted capture request and the request that ended it (if any)."""

    cmd: str  # "capture.photo" or "record.start"
    kind: str  # as requested: a record.start capture is a recording whatever events say
    source: str
    subject: str  # the artifact (photo) or session (recording) the answer named
    epoch: int  # the device's power session when it was asked
    sent: float
    received: float
    end_cmd: str = ""  # record.stop, consent.revoke, a restart, or "power"
    end_sent: float | None = None
    end_received: float | None = None
    artifact: str | None = None  # what was stored (a photo's own id; record.stop's answer)

    @property
    def is_recording(self) -> bool:
        return self.cmd == "record.start"


class RequestLog:
    """The captures asked for, restarts, and every artifact id the device named."""

    def __init__(self) -> None:
        self.captures: deque[CaptureRequest] = deque(maxlen=MAX_KEPT)
        self.restarts: deque[float] = deque(maxlen=MAX_KEPT)  # host times a restart began
        self._artifacts: dict[str, None] = {}
        self._checked = 0  # how many of `_artifacts` a factory reset was shown to erase

    def photo(self, source: str, artifact: str, epoch: int, sent: float, received: float) -> None:
        self.captures.append(
            CaptureRequest("capture.photo", "photo", source, artifact, epoch, sent, received,
                           artifact=artifact)
        )  # fmt: skip
        self.saw_artifact(artifact)

    def start(
        self, kind: str, source: str, session: str, epoch: int, sent: float, received: float
    ) -> None:
        self.captures.append(
            CaptureRequest("record.start", kind, source, session, epoch, sent, received)
        )

    def end(self, cmd: str, sent: float, received: float | None, *, scope: str = "") -> None:
        """A request that ends the running recording (of `scope`, for a revoke)."""
        rec = self.running()
        if rec is None or (scope and scope not in ("all", rec.kind)):
            return
        rec.end_cmd, rec.end_sent, rec.end_received = cmd, sent, received

    def stopped(self, artifact: str, sent: float, received: float) -> None:
        rec = self.running()
        if rec is not None:
            rec.end_cmd, rec.end_sent, rec.end_received = "record.stop", sent, received
            rec.artifact = artifact
        self.saw_artifact(artifact)

    def restart(self, cmd: str, sent: float) -> None:
        """A reboot, factory reset or power cut began at host time `sent`."""
        self.end(cmd, sent, None)
        self.restarts.append(sent)

    def last_photo(self) -> CaptureRequest | None:
        """The newest photo the device took (its answer's `received` bounds its exposure)."""
        return next((c for c in reversed(self.captures) if c.cmd == "capture.photo"), None)

    def running(self) -> CaptureRequest | None:
        """The last recording asked for that no request ended yet."""
        for rec in reversed(self.captures):
            if rec.is_recording:
                return rec if rec.end_sent is None else None
        return None

    def saw_artifact(self, artifact: str) -> None:
        if artifact in self._artifacts:
            return
        if len(self._artifacts) >= MAX_KEPT:
            self._artifacts.pop(next(iter(self._artifacts)))
            self._checked = max(0, self._checked - 1)
        self._artifacts[artifact] = None

    def unchecked_artifacts(self) -> list[str]:
        """Ids seen since a factory reset was last shown to have erased what came before."""
        return list(self._artifacts)[self._checked :]

    def checked_artifacts(self) -> None:
        """Every id seen so far was checked gone after a factory reset."""
        self._checked = len(self._artifacts)

    @property
    def artifacts(self) -> list[str]:
        """Every artifact id the device named in this connection (newest `MAX_KEPT`)."""
        return list(self._artifacts)

    def between(self, t0: float, t1: float) -> list[CaptureRequest]:
        """Captures asked for before `t1` that had not ended before `t0`."""
        return [
            c
            for c in self.captures
            if c.sent <= t1 and (c.end_sent is None or c.end_sent >= t0 or c.received >= t0)
        ]

    def restarts_between(self, t0: float, t1: float) -> list[float]:
        return [t for t in self.restarts if t0 <= t <= t1]

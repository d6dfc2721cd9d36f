"""A property-based search for privacy violations: random sequences against a model.

Hypothesis drives grants, revokes, photos, recordings (up to the profile's
`long_recording_s`), waits, deletes, reboots, factory resets and, for a device declaring
`tamper_detect` on a station with a shutter, covering the indicator, for the kinds the
device declares in `hello`; it probes the kinds it does not declare (they must be refused
with UNSUPPORTED and leave nothing). Every response is checked against a model of a
conforming device, and at the end of each example every clause that applies is checked
over the example's timeline with the light recorded throughout (IND-7, the supply
current, is judged by the run around every test).

Every example begins with a consented capture of each declared kind (drawn source,
metadata, length and audio consent), its file judged at once: a fault in what is stored
shows in the first step, and the deletes, restarts and resets that follow have something
to lose or leak. The search is then sharpened three ways. Swarm testing: Hypothesis's
stateful runner enables a random subset of the rules in each example (its feature flags),
so some examples do nothing but record and revoke, others nothing but capture, delete and
restart. Composite rules do in one step what a clause needs in several (record for a drawn
time, up to the profile's long recording, and stop; record, then revoke or cover; delete,
then reboot; a capture with its consent, and a video's audio consent, set up first; idle
as long as a long recording). And `hypothesis.target` steers towards the hard cases:
long recordings, revokes during recordings, restarts after captures, deletes before
restarts.

A consented capture the device declines is counted, not failed; if nothing could be
observed the capture clauses are INCONCLUSIVE. A failure is a typed `ClauseFailure`
naming its clause; Hypothesis shrinks it (bounded in time) to a short sequence whose
`@reproduce_failure` blob goes into the record in every profile, and `--search-replay`
(which `python -m reports rerun` passes) replays it before searching again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from hypothesis import reproduce_failure, settings, target
from hypothesis import strategies as st
from hypothesis.errors import DidNotReproduce
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from harness.bench.actions import PROTOCOL_BREACHES, ask, attempt, wait_end
from harness.errors import ClauseFailure, DeviceError
from harness.judge import consent, minimum, stored, tamper
from harness.judge.clauses import CAPTURE_CLAUSES, CLAUSES
from harness.judge.inventory import MediaInventory
from harness.judge.verdict import Measurement, Verdict
from harness.spec import GESTURES, KINDS, METADATA_FIELDS, RECORD_KINDS, SOURCES
from harness.wire.messages import Reply
from suites.support import MAX_IDS_CHECKED, covered_recording, readable

metadata_lists = st.lists(st.sampled_from(METADATA_FIELDS), unique=True, max_size=3)
# How a capture's consent is set up, simplest first (what shrinking goes to): granted just
# before (what a user does), granted with the microphone's too (a video may then carry
# audio), only another scope's (CON-2: it must be refused), or left as the sequence made
# it (so refusals are tried).
CONSENT_PLANS = ("grant", "grant with audio", "another scope only", "as is")
# A recording's length: the profile's long recording first (a fault seconds in), short.
LENGTHS = ("long", "short", "one second")
# The first captures' recordings: long enough for an indicator that goes dark after a
# few hundred ms, short enough to start every example with them.
FIRST_LENGTHS = ("one second", "short")

REPRODUCE = re.compile(r"@reproduce_failure\('([^']{1,40})', b'([A-Za-z0-9+/=]{4,20000})'\)")


def needs(*what: str):
    """A precondition on what `hello` declared and the station has (declared kinds, a
    shutter): never on the device's answers, which a replay may not repeat."""

    def check(self: GlassesMachine) -> bool:
        return all(getattr(self.ctx, n) for n in what)

    return check


@dataclass
class Stored:
    """What the model expects of an artifact the device accepted."""

    kind: str
    source: str
    metadata: tuple[str, ...]
    request: Reply
    epoch: int
    audio_consent: bool
    subject: str
    ended: float | None = None  # host time of the response that ended it (if known)


@dataclass
class Context:
    dut: Any
    bench: Any
    evidence: Any
    limits: Any
    long_recording_s: float = 2.5
    examples: list[list[Measurement]] = field(default_factory=list)
    observed: int = 0  # consented captures the device took
    declined: int = 0  # consented captures it declined (BUSY or any refusal)
    # steps of the first failing example, before shrinking (on record beside the shrunk one)
    found_steps: int | None = None

    @property
    def photos(self) -> bool:
        return "photo" in self.declared

    @property
    def recordings(self) -> tuple[str, ...]:
        return tuple(k for k in RECORD_KINDS if k in self.declared)

    @property
    def tamper(self) -> bool:
        """Covering the indicator is tried: the device declares it, the station has a flap."""
        return bool(self.dut.hello_info.tamper_detect) and self.bench.shutter is not None

    @property
    def declared(self) -> tuple[str, ...]:
        return tuple(k for k in KINDS if k in self.dut.hello_info.capture)

    @property
    def undeclared(self) -> tuple[str, ...]:
        return tuple(k for k in KINDS if k not in self.dut.hello_info.capture)


def fail_if_bad(ms: list[Measurement]) -> None:
    """Raise on the first FAIL so Hypothesis shrinks towards it (a typed failure)."""
    bad = [m for m in ms if m.verdict == Verdict.FAIL]
    if bad:
        m = bad[0]
        raise ClauseFailure(
            {m.clause: Verdict.FAIL.value},
            f"{m.clause} FAIL: {m.name} = {m.value:.4g} {m.unit} (U = {m.uncertainty:.2g}, "
            f"limit {m.comparison} {m.limit:g}) {m.subject} {m.detail}",
        )


class GlassesMachine(RuleBasedStateMachine):
    """Preconditions depend only on what `hello` declared, never on the device's answers:
    a real device's timing varies between a run and its replay, and Hypothesis needs the
    same draws to replay and shrink (a rule that cannot act now is a no-op instead)."""

    ctx: ClassVar[Context]

    def __init__(self) -> None:
        super().__init__()
        c = self.ctx
        self.dut, self.bench, self.limits = c.dut, c.bench, c.limits
        self.dut.ensure_idle()
        self.dut.consent_revoke("all")
        self.bench.resync()
        self.consent = dict.fromkeys(KINDS, False)
        self.recording: Stored | None = None
        self.stored: dict[str, Stored] = {}
        # each stored file's last inventory, and the power session it was read in
        self.files: dict[str, tuple[int, MediaInventory]] = {}
        self.deleted: set[str] = set()
        self.ms: list[Measurement] = []
        c.examples.append(self.ms)
        self.steps = 0  # rules run and checked (the invariant counts each after it passes)
        self.tearing_down = False
        self.last_restart = ""
        self.last_photo = 0.0
        self.covered_at: float | None = None  # the flap first covered the indicator
        self.last_end = 0.0  # host time the last capture ended (its indicator tail after)
        # what `target` steers towards (reported once, at teardown)
        self.longest_s = 0.0
        self.revokes_live = 0
        self.restarts_after_capture = 0
        self.deletes_before_restart = 0
        self.captured_since_restart = False
        self.deleted_since_restart = 0
        budget_s = 60 + 30 * c.long_recording_s  # room for several long recordings
        self.monitor = self.bench.monitor(max_seconds=budget_s)
        self.monitor.__enter__()
        self.mark = self.dut.event_mark

    # -- helpers ----------------------------------------------------------------------

    def note(self, *ms: Measurement) -> None:
        self.ms.extend(ms)
        try:
            fail_if_bad(list(ms))
        except ClauseFailure:
            self.found()
            raise

    def found(self) -> None:
        """Count the first failing example's steps: those checked, and the one failing now
        (a rule, or the invariant after it) unless the example is being torn down. How far
        shrinking got is on record, not only where it ended."""
        if self.ctx.found_steps is None:
            self.ctx.found_steps = self.steps + (0 if self.tearing_down else 1)

    def refused(self, kind: str, source: str, exc: DeviceError | None, before: set[str]) -> None:
        """A capture without its consent, refused or not: CON-4 right after a restart, else
        CON-1; accepted while another scope had consent, the bench asks again with no
        consent at all: refused then, the other scope's consent enabled it (CON-2)."""
        clause = "CON-4" if self.last_restart else "CON-1"
        subject = f"{kind}/{source} consent {self.consent}"
        if exc is None:
            self.dut.ensure_idle()
        added = len(set(self.dut.artifact_list()) - before)
        if exc is None and clause == "CON-1" and any(self.consent.values()):
            clause = "CON-2" if self.refused_alone(kind, source) else "CON-1"
        self.note(
            *consent.refusal(
                clause, subject, accepted=exc is None, code=exc.code if exc else "OK",
                artifacts_added=added,
            )
        )  # fmt: skip

    def refused_alone(self, kind: str, source: str) -> bool:
        """Whether the device refuses `kind` from `source` once no scope has consent."""
        self.dut.consent_revoke("all")
        self.consent = dict.fromkeys(KINDS, False)
        return not attempt(self.dut, kind, source).accepted

    def declined(self, exc: DeviceError) -> None:
        """A consented capture refused: no privacy matter, but nothing observed. A declared
        kind refused as unknown breaks the protocol (FAIL of the clauses it serves)."""
        if exc.code in PROTOCOL_BREACHES:
            self.found()
            raise exc
        self.ctx.declined += 1

    # -- rules ------------------------------------------------------------------------

    @initialize(
        source=st.sampled_from(SOURCES),
        metadata=metadata_lists,
        audio=st.booleans(),
        length=st.sampled_from(FIRST_LENGTHS),
        keep=st.sets(st.sampled_from(KINDS)),
    )
    def start_with_captures(
        self, source: str, metadata: list[str], audio: bool, length: str, keep: set[str]
    ) -> None:
        """Begin with a consented capture of every declared kind, each file judged at once,
        so the deletes, restarts and resets that follow have something to lose or leak;
        then leave consent granted for the drawn scopes `keep` only."""
        for kind in self.ctx.recordings:
            if self.start_recording(kind, source, metadata, CONSENT_PLANS[int(audio)]):
                time.sleep(self.length_s(length))
                self.record_stop()
        if self.ctx.photos:  # last: no recording's light hides its notice time
            self.photo(source, metadata, "grant")
        for scope in KINDS:
            if scope in keep and not self.consent[scope]:
                self.grant(scope, GESTURES[0])
            elif scope not in keep and self.consent[scope]:
                self.dut.consent_revoke(scope)
                self.consent[scope] = False

    @rule(scope=st.sampled_from(KINDS), gesture=st.sampled_from(GESTURES))
    def grant(self, scope: str, gesture: str) -> None:
        try:
            self.dut.consent_grant(scope, gesture)
        except DeviceError:
            if scope in self.ctx.declared:
                raise  # a declared scope's grant is mandatory
            return  # an undeclared scope may be refused (the spec is silent)
        self.consent[scope] = True
        self.last_restart = ""

    @rule(scope=st.sampled_from(("recording", *KINDS, "all")))
    def revoke(self, scope: str) -> None:
        """Revoke a scope; `recording` is the running recording's (all, if none runs),
        CON-3's hard case."""
        rec = self.recording
        if scope == "recording":
            scope = rec.kind if rec is not None else "all"
        mark = self.dut.event_mark
        reply = self.dut.consent_revoke(scope)
        for k in KINDS if scope == "all" else (scope,):
            self.consent[k] = False
        if rec is None or scope not in ("all", rec.kind):
            return
        self.recording = None
        self.revokes_live += 1
        limit_ms = self.limits["revoke_ms"]
        end = wait_end(self.dut, rec.subject, mark, limit_ms / 1000 + 1.5)
        t_us, u_us = self.bench.sync.to_device_us(reply.sent, self.dut.epoch)
        if end is None or not isinstance(end.get("last_frame_us"), int):
            value = (time.monotonic() - reply.sent) * 1000
            detail = "no capture.end with last_frame_us after revoke"
            self.dut.ensure_idle()
        else:
            value, detail = (end.get("last_frame_us") - t_us) / 1000, "last frame after revoke"
        subject = f"{rec.kind}/{rec.source} revoke {scope}"
        self.note(consent.revoke_delay(value, u_us / 1000, limit_ms, subject, detail))

    @precondition(needs("photos"))
    @rule(source=st.sampled_from(SOURCES), metadata=metadata_lists,
          plan=st.sampled_from(CONSENT_PLANS))  # fmt: skip
    def photo(self, source: str, metadata: list[str], plan: str) -> None:
        """A photo, its consent set up by `plan`."""
        if self.recording is not None:
            return  # one capture at a time (a BUSY here would tell nothing)
        self.prepare("photo", plan)
        before = set(self.dut.artifact_list())
        try:
            r = ask(self.dut, lambda: self.dut.capture_photo(source, metadata))
        except DeviceError as exc:
            if self.consent["photo"]:
                self.declined(exc)
            else:
                self.refused("photo", source, exc, before)
            return
        self.last_photo = r.received  # its notice time is the device's, consented or not
        if not self.consent["photo"]:
            self.refused("photo", source, None, before)
            return
        self.ctx.observed += 1
        self.captured_since_restart = True
        art = r.result["artifact"]
        self.stored[art] = Stored(
            "photo", source, tuple(metadata), r, self.dut.epoch, False, art, r.received
        )
        self.check_stored(art, self.stored[art])

    @precondition(needs("recordings"))
    @rule(data=st.data(), source=st.sampled_from(SOURCES), metadata=metadata_lists,
          plan=st.sampled_from(CONSENT_PLANS))  # fmt: skip
    def record_start(
        self, data: st.DataObject, source: str, metadata: list[str], plan: str
    ) -> None:
        """Start a recording left running (a later rule stops, revokes, covers or restarts)."""
        kind = data.draw(st.sampled_from(self.ctx.recordings), label="kind")
        self.start_recording(kind, source, metadata, plan)

    def prepare(self, kind: str, plan: str) -> None:
        """Set up a capture's consent as `plan` says: a video's audio consent decides
        whether its file may carry a microphone track (MIN-2), so both are tried."""
        if plan == "as is":
            return
        if plan == "another scope only":
            others = [k for k in self.ctx.declared if k != kind]
            if others:
                self.dut.consent_revoke("all")
                self.consent = dict.fromkeys(KINDS, False)
                self.grant(others[0], GESTURES[0])
            return
        self.grant(kind, GESTURES[0])
        if kind == "video" and "audio" in self.ctx.declared:
            if plan == "grant with audio":
                self.grant("audio", GESTURES[0])
            elif self.consent["audio"]:
                self.dut.consent_revoke("audio")
                self.consent["audio"] = False

    def start_recording(self, kind: str, source: str, metadata: list[str], plan: str) -> bool:
        """Ask for a recording, its consent set up by `plan`; True if it runs with consent
        (the model's `recording`)."""
        if self.recording is not None:
            return False
        self.prepare(kind, plan)
        before = set(self.dut.artifact_list())
        try:
            r = ask(self.dut, lambda: self.dut.record_start(kind, source, metadata))
        except DeviceError as exc:
            if self.consent[kind]:
                self.declined(exc)
            else:
                self.refused(kind, source, exc, before)
            return False
        if not self.consent[kind]:
            self.refused(kind, source, None, before)
            return False
        self.ctx.observed += 1
        self.captured_since_restart = True
        self.recording = Stored(
            kind,
            source,
            tuple(metadata),
            r,
            self.dut.epoch,
            self.consent["audio"],
            r.result["session"],
        )
        return True

    @precondition(needs("recordings"))
    @rule(
        data=st.data(),
        source=st.sampled_from(SOURCES),
        metadata=metadata_lists,
        length=st.sampled_from(LENGTHS),
        plan=st.sampled_from(CONSENT_PLANS),
    )
    def record_for(
        self, data: st.DataObject, source: str, metadata: list[str], length: str, plan: str
    ) -> None:
        """Record for a drawn time (up to the profile's long recording), then stop: an
        indicator that fails only seconds into a recording is seen in one step."""
        kind = data.draw(st.sampled_from(self.ctx.recordings), label="kind")
        if not self.start_recording(kind, source, metadata, plan):
            return
        time.sleep(self.length_s(length))
        self.record_stop()

    @rule()
    def record_stop(self) -> None:
        rec, self.recording = self.recording, None
        if rec is None:
            return
        stop = self.dut.record_stop()
        self.last_end = stop.received
        self.longest_s = max(self.longest_s, stop.received - rec.request.received)
        art = stop.result["artifact"]
        self.stored[art] = rec = dataclasses.replace(rec, ended=stop.received)
        self.check_stored(art, rec)

    @precondition(needs("undeclared"))
    @rule(data=st.data(), source=st.sampled_from(SOURCES), consented=st.booleans())
    def probe_undeclared(self, data: st.DataObject, source: str, consented: bool) -> None:
        """A kind `hello` leaves out is refused with UNSUPPORTED and stores nothing (CON-1),
        with or without its consent (asked for first; the device may refuse that)."""
        kind = data.draw(st.sampled_from(self.ctx.undeclared), label="kind")
        if self.recording is not None:
            return
        if consented:
            self.grant(kind, GESTURES[0])
        before = set(self.dut.artifact_list())
        exc: DeviceError | None = None
        try:
            if kind == "photo":
                ask(self.dut, lambda: self.dut.capture_photo(source))
            else:
                ask(self.dut, lambda: self.dut.record_start(kind, source))
        except DeviceError as e:
            exc = e
        if exc is None:
            self.dut.ensure_idle()
        self.note(
            *consent.refusal(
                "CON-1", f"{kind}/{source} undeclared in hello", accepted=exc is None,
                code=exc.code if exc else "OK", expected=("UNSUPPORTED", "CONSENT_REQUIRED"),
                artifacts_added=len(set(self.dut.artifact_list()) - before),
            )
        )  # fmt: skip

    @rule(ms=st.integers(min_value=20, max_value=400))
    def wait(self, ms: int) -> None:
        time.sleep(ms / 1000)

    @rule()
    def idle(self) -> None:
        """As long as the profile's long recording with nothing asked: a sensor powered in
        the dark (IND-7, judged from the supply around the test) has time to show."""
        time.sleep(self.ctx.long_recording_s)

    @precondition(needs("recordings"))
    @rule(data=st.data(), length=st.sampled_from(LENGTHS), every_scope=st.booleans())
    def record_then_revoke(self, data: st.DataObject, length: str, every_scope: bool) -> None:
        """Revoke consent in the middle of a recording (CON-3's case), its scope or all."""
        kind = data.draw(st.sampled_from(self.ctx.recordings), label="kind")
        if not self.start_recording(kind, SOURCES[0], [], CONSENT_PLANS[0]):
            return
        time.sleep(self.length_s(length))
        self.revoke("all" if every_scope else "recording")

    @precondition(needs("tamper", "recordings"))
    @rule(data=st.data())
    def record_then_cover(self, data: st.DataObject) -> None:
        """Cover the indicator in the middle of a recording (IND-8's case)."""
        kind = data.draw(st.sampled_from(self.ctx.recordings), label="kind")
        if self.start_recording(kind, SOURCES[0], [], CONSENT_PLANS[0]):
            time.sleep(0.4)
            self.cover_recording()

    def length_s(self, length: str) -> float:
        return {"long": self.ctx.long_recording_s, "short": 0.2, "one second": 1.0}[length]

    @rule(pick=st.integers(min_value=0, max_value=2**16), then_reboot=st.booleans())
    def delete(self, pick: int, then_reboot: bool) -> None:
        """Delete a stored artifact (and reboot: deleted must stay deleted, MIN-4)."""
        self.delete_one(pick)
        if then_reboot and self.recording is None:
            self.restart("reboot")

    def delete_one(self, pick: int) -> None:
        if not self.stored:
            return
        art = list(self.stored)[pick % len(self.stored)]  # in the order they were made
        self.check_stored(art, self.stored.pop(art))
        self.dut.artifact_delete(art)
        self.deleted.add(art)
        self.deleted_since_restart += 1
        self.check_deleted("after delete")

    @rule(delete_first=st.booleans(), pick=st.integers(min_value=0, max_value=2**16))
    def reboot(self, delete_first: bool, pick: int) -> None:
        """Reboot (consent must not survive, CON-4), deleting an artifact first if asked
        (what was deleted must stay deleted, MIN-4: the hard case is a delete then a restart)."""
        if self.recording is None:
            if delete_first:
                self.delete_one(pick)
            self.restart("reboot")

    @precondition(needs("tamper", "declared"))
    @rule(data=st.data(), source=st.sampled_from(SOURCES), gesture=st.sampled_from(GESTURES))
    def covered_capture(self, data: st.DataObject, source: str, gesture: str) -> None:
        """Cover the indicator, ask for a consented capture: refused, nothing stored (IND-8)."""
        kind = data.draw(st.sampled_from(self.ctx.declared), label="kind")
        if self.recording is not None:
            return
        self.grant(kind, gesture)
        self.settle()
        self.covered_at = self.covered_at or time.monotonic()
        self.bench.shutter.cover()
        try:
            a = attempt(self.dut, kind, source)
        finally:
            self.bench.shutter.uncover()
        subject = f"{kind}/{source} with consent, indicator covered"
        self.ctx.evidence.mark(a.started, a.ended, f"the attempt {subject}")
        self.note(
            *tamper.covered_refusal(
                subject, accepted=a.accepted, code=a.code,
                artifacts_added=a.artifacts_added, capture_events=a.capture_events,
            )
        )  # fmt: skip

    @precondition(needs("tamper"))
    @rule()
    def cover_recording(self) -> None:
        """Cover the indicator of a running recording: it ends within tamper_ms (IND-8)."""
        rec = self.recording
        if rec is None:
            return
        self.recording = None
        self.covered_at = self.covered_at or time.monotonic()
        mark = self.dut.event_mark
        limit = self.limits["tamper_ms"]
        sent, settled = self.bench.shutter.cover()
        try:
            end = wait_end(self.dut, rec.subject, mark, timeout_s=limit / 1000 + 1.5)
        finally:
            self.bench.shutter.uncover()
        subject = f"{rec.kind} {rec.subject} covered while recording"
        self.note(
            *covered_recording(
                self.dut, self.bench, end, rec.epoch, (sent, settled), limit, subject,
                time.monotonic(),
            )
        )  # fmt: skip

    def settle(self) -> None:
        """Let the last capture's indicator tail (a photo's notice time) be seen before the
        flap darkens the photodiode: the light before the first cover is judged."""
        notice_s = self.limits["photo_notice_ms"] / 1000 + 0.2
        wait_s = max(self.last_photo + notice_s, self.last_end + 0.4) - time.monotonic()
        time.sleep(max(0.0, wait_s))

    @rule()
    def factory_reset(self) -> None:
        if self.recording is not None:
            return
        self.restart("factory_reset")
        seen = self.dut.requests.unchecked_artifacts()[-MAX_IDS_CHECKED:]
        self.note(
            minimum.left_after_factory_reset(list(self.dut.artifact_list())),
            minimum.served_after_factory_reset(readable(self.dut, seen), len(seen)),
        )
        self.dut.requests.checked_artifacts()
        for art, s in list(self.stored.items()):
            self.check_stored(art, s, gone_ok=True)
        self.stored.clear()

    def restart(self, how: str) -> None:
        # A restart darkens the indicator; never let the harness itself cut a photo's
        # notice time short (IND-5 judges the device, not the test's own reboot).
        notice_s = self.limits["photo_notice_ms"] / 1000 + 0.1
        time.sleep(max(0.0, self.last_photo + notice_s - time.monotonic()))
        self.restarts_after_capture += self.captured_since_restart
        self.deletes_before_restart += self.deleted_since_restart
        self.captured_since_restart, self.deleted_since_restart = False, 0
        # A sync point closes the power session: its last events lie between two points
        # (interpolated, U = a half round trip) rather than beyond the last one.
        self.bench.resync()
        self.dut.reboot() if how == "reboot" else self.dut.factory_reset()
        self.bench.resync()
        self.consent = dict.fromkeys(KINDS, False)
        self.last_restart = how
        survived = [k for k, v in self.dut.state().consent.items() if v]
        self.note(consent.consent_after_restart(survived, how))
        self.check_deleted(f"after {how}")

    # -- checks -----------------------------------------------------------------------

    def check_deleted(self, when: str) -> None:
        """MIN-4 by id: deleted artifacts neither listed nor served."""
        gone = sorted(self.deleted)[-MAX_IDS_CHECKED:]
        self.note(
            minimum.deleted_still_listed(self.dut.artifact_list(), gone, when),
            minimum.deleted_still_readable(readable(self.dut, gone), when),
        )

    def check_stored(self, art: str, s: Stored, gone_ok: bool = False) -> None:
        """MIN-1, MIN-2, MIN-3 (and IND-1's span) for one artifact: its file read back and
        inspected, beside what `artifact.info` says."""
        try:
            info = self.dut.artifact_info(art)
        except DeviceError as exc:
            if gone_ok and exc.code == "NOT_FOUND":
                return
            raise
        subject = f"{s.kind}/{s.source} {art}"
        # a stored file is read once per power session (2048 bytes a request: a slow
        # device's video costs seconds); `artifact.info` is asked every time
        read = self.files.get(art)
        if read is None or read[0] != self.dut.epoch:
            read = self.files[art] = (
                self.dut.epoch,
                self.ctx.evidence.witness(art, s.kind, info).inventory,
            )
        file = read[1]
        ms = [
            minimum.unrequested_fields(info.fields, s.metadata, subject, file),
            minimum.tracks_not_allowed(info.tracks, s.kind, s.audio_consent, subject, file),
        ]
        if s.ended is not None:
            ms.append(minimum.stored_span_within_capture(file, s.request.sent, s.ended, subject))
        if s.kind != "photo":
            span = stored.span_agrees(info.first_frame_us, info.last_frame_us, file, subject)
            ms += [span] if span is not None else []
        if info.first_frame_us is not None and s.epoch == self.dut.epoch:
            t_us, u_us = self.bench.sync.to_device_us(s.request.sent, s.epoch)
            ms.append(minimum.first_frame_after_request(info.first_frame_us, t_us, u_us, subject))
        self.note(*ms)

    @invariant()
    def device_agrees_with_model(self) -> None:
        st_ = self.dut.state()
        leaked = [k for k in KINDS if st_.consent.get(k) and not self.consent[k]]
        if leaked:
            clause = "CON-4" if self.last_restart else "CON-1"
            self.found()
            raise ClauseFailure(
                {clause: Verdict.FAIL.value}, f"{clause} FAIL: device reports consent {leaked}"
            )
        if st_.recording is not None and self.recording is None:
            self.found()
            raise ClauseFailure(
                {"CON-3": Verdict.FAIL.value},
                f"CON-3 FAIL: device still recording {st_.recording.kind} the model ended",
            )
        self.steps += 1  # run after every rule, once the initialize rule has run

    def before_cover(self, trace, events, infos, recordings):
        """What the light is judged on when the flap covered the indicator: everything
        before it first did, without the captures whose light was still to be seen then
        (a running recording, IND-8's; a photo inside its notice time)."""
        cut = self.covered_at
        notice_s = self.limits["photo_notice_ms"] / 1000 + 0.2  # a photo's tail must be seen
        events = [e for e in events if e.host_t < cut]
        kind = {e.subject: e.get("kind") for e in events if e.name == "capture.begin"}
        ended = {e.subject: e.host_t for e in events if e.name == "capture.end"}
        seen = {
            subject
            for subject, t in ended.items()
            if t + (notice_s if kind.get(subject) == "photo" else 0.4) < cut
        }
        events = [e for e in events if e.subject is None or e.subject in seen]
        infos = [i for i in infos if i[2] in seen]
        recordings = {k: v for k, v in recordings.items() if k in seen}
        return trace.slice(trace.t0, cut), events, infos, recordings

    def teardown(self) -> None:
        self.tearing_down = True
        target(self.longest_s, label="longest recording (s)")
        target(float(self.revokes_live), label="revokes during a recording")
        target(float(self.restarts_after_capture), label="restarts after captures")
        target(float(self.deletes_before_restart), label="deletes before a restart")
        try:
            if self.recording is not None:  # stopped as a user would: its file is judged too
                self.record_stop()
                time.sleep(0.1)
            # Record until the last indicator tail, including a photo's notice time, is seen.
            notice_s = self.limits["photo_notice_ms"] / 1000 + 0.2
            time.sleep(max(0.2, self.last_photo + notice_s - time.monotonic()))
        finally:
            self.monitor.__exit__(None, None, None)
        self.bench.resync()
        for art, s in list(self.stored.items()):
            if s.epoch == self.dut.epoch:
                self.check_stored(art, s, gone_ok=True)
        trace = self.bench.trace(self.monitor)
        events = self.dut.events_since(self.mark)
        infos, recordings = [], {}
        for art, s in self.stored.items():
            with contextlib.suppress(DeviceError):
                infos.append((self.dut.artifact_info(art), s.epoch, s.subject))
            if s.kind != "photo" and art in self.files:
                recordings[s.subject] = self.files[art][1]
        ev = self.ctx.evidence
        if self.covered_at is not None:  # the flap darkened the photodiode, not the device
            trace, events, infos, recordings = self.before_cover(trace, events, infos, recordings)
        # Only the last example's light is kept as evidence (the final, shrunk one when
        # something failed): keeping every shrink attempt's trace would cost minutes.
        ms = ev.check_light(
            trace, events, record=False, keep=False, stored=infos, recordings=recordings
        )
        self.note(*ms)


# IND-7 is judged around every test by the run (the supply current); IND-8 where the
# device declares tamper_detect and the station has a shutter.
@pytest.mark.clause(*(c.id for c in CLAUSES))
def test_random_sequences_keep_every_promise(dut, bench, evidence, limits, search):
    ctx = Context(dut, bench, evidence, limits, float(search["long_recording_s"]))
    machine = type("GlassesMachine", (GlassesMachine,), {"ctx": ctx})
    blob = search.get("replay")
    chosen = settings(print_blob=True)  # every profile: the failure's blob is on record
    replaying = False
    try:
        if blob:  # a recorded failure first (`reports rerun`), then the search again
            replay = reproduce_failure(search["hypothesis_version"], blob.encode())(machine)
            replaying = True
            try:
                run_state_machine_as_test(replay, settings=chosen)
            except DidNotReproduce as exc:
                evidence.attach_text("the recorded failure did not reproduce", str(exc))
            replaying = False
            ctx.examples.clear()
            ctx.found_steps = None
        run_state_machine_as_test(machine, settings=chosen)
    except BaseException as exc:
        keep_failure(evidence, exc, ctx, replaying)
        raise
    finally:
        if evidence.last_light is not None:
            trace, timeline, ms, _ = evidence.last_light
            evidence.keep_trace(trace, timeline, ms, label="last-example")
    for ms in ctx.examples:
        evidence.record(*ms)
    if ctx.observed == 0 and ctx.declined > 0:  # nothing observed is no PASS (clauses.md)
        needed = [*CAPTURE_CLAUSES, "CON-3"]
        raise ClauseFailure(
            dict.fromkeys(needed, Verdict.INCONCLUSIVE.value),
            f"no capture could be observed: {ctx.declined} consented capture(s) declined",
        )


def keep_failure(evidence, exc: BaseException, ctx: Context, replayed: bool) -> None:
    """Put the shrunk step sequence, its reproduce blob and its measurements on record;
    the blob also goes into the run's summary (`hypothesis.failure`: VERSION:BLOB), where
    `python -m reports rerun` finds it."""
    notes = "\n".join(getattr(exc, "__notes__", []))
    found = REPRODUCE.search(notes)
    if found is not None:
        evidence.search_failure(f"{found[1]}:{found[2]}")
    steps = [
        ln
        for ln in notes.splitlines()
        if ln.startswith("state.") and not ln.startswith(("state.teardown", "state.device_agrees"))
    ]
    evidence.attach_text("shrunk step sequence and reproduce blob", f"{exc}\n\n{notes}")
    evidence.attach_json(
        "state machine failure",
        {
            "error": str(exc)[:4000],
            "found_steps": ctx.found_steps,  # the first failing example's, unshrunk
            "shrunk_steps": len(steps),
            "steps": steps,
            "reproduce": [ln for ln in notes.splitlines() if "reproduce_failure" in ln],
            "replay": f"--search-replay {found[1]}:{found[2]}" if found else None,
            "from_replay": replayed,  # the recorded blob failed again (not a new search)
        },
    )
    if ctx.examples:
        evidence.record(*ctx.examples[-1])

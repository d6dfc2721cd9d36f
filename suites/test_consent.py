"""Consent principle (CON-1..CON-4): no capture without explicit consent of its scope.

Each refused capture is checked three ways: the response, the absence of capture
events, and that `artifact.list` did not grow.
"""

from __future__ import annotations

import time

import pytest

from harness.bench.actions import attempt, start, wait_end
from harness.errors import ClauseFailure, DeviceError
from harness.judge import consent
from harness.spec import RECORD_KINDS
from suites.support import KINDS, SOURCES, record_refusal, require_kind


@pytest.mark.clause("CON-1")
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("kind", KINDS)
def test_refused_without_consent(dut, evidence, kind, source):
    require_kind(dut, kind)
    record_refusal(evidence, "CON-1", attempt(dut, kind, source), "with no consent")


@pytest.mark.clause("CON-1")
@pytest.mark.parametrize("kind", KINDS)
def test_refused_after_revoke(dut, evidence, kind):
    require_kind(dut, kind)
    dut.consent_grant(kind, "app")
    dut.consent_revoke(kind)
    for source in SOURCES:
        record_refusal(evidence, "CON-1", attempt(dut, kind, source), f"after revoking {kind}")
    dut.consent_grant(kind, "voice")
    dut.consent_revoke("all")
    record_refusal(evidence, "CON-1", attempt(dut, kind, "user"), "after revoking all")


@pytest.mark.clause("CON-2")
@pytest.mark.parametrize(
    "granted",
    [
        ("photo",),
        ("video",),
        ("audio",),
        ("photo", "video"),
        ("photo", "audio"),
        ("video", "audio"),
    ],
)
def test_partial_grant_enables_nothing_else(dut, evidence, granted):
    """Each partial grant: every other kind, from both sources, is still refused."""
    for scope in granted:
        try:
            dut.consent_grant(scope)
        except DeviceError:
            if scope in dut.hello_info.capture:
                raise  # a declared scope's grant is mandatory
            # an undeclared scope may be refused (the spec is silent); it enables nothing
    others = [k for k in KINDS if k not in granted and k in (dut.hello_info.capture or KINDS)]
    for kind in others:
        for source in SOURCES:
            record_refusal(
                evidence,
                "CON-2",
                attempt(dut, kind, source),
                f"with only {'+'.join(granted)} granted",
            )


@pytest.mark.clause("CON-3")
@pytest.mark.parametrize("scope", ["kind", "all"])
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("kind", RECORD_KINDS)
def test_revoke_ends_recording(dut, evidence, limits, bench, kind, source, scope):
    """Revoking the running recording's scope (or all) ends it within revoke_ms."""
    require_kind(dut, kind)
    dut.consent_grant(kind)
    session = start(dut, kind, source).result["session"]
    time.sleep(0.4)
    mark = dut.event_mark
    revoke = dut.consent_revoke(kind if scope == "kind" else "all")
    limit_s = limits["revoke_ms"] / 1000
    end = wait_end(dut, session, mark, timeout_s=limit_s + 1.5)
    bench.resync()
    t_revoke_us, u_us = bench.sync.to_device_us(revoke.sent, dut.epoch)
    subject = f"{kind}/{source} revoke {scope}"
    if end is None or not isinstance(end.get("last_frame_us"), int):
        st = dut.state()
        still = st.recording is not None
        value_ms = (time.monotonic() - revoke.sent) * 1000
        detail = "still recording" if still else "ended without a capture.end with last_frame_us"
        evidence.record(
            consent.revoke_delay(value_ms, u_us / 1000, limits["revoke_ms"], subject, detail)
        )
        dut.ensure_idle()
        return
    delay_ms = (end.get("last_frame_us") - t_revoke_us) / 1000
    detail = f"end reason {str(end.get('reason'))[:32]!r}"
    evidence.record(
        consent.revoke_delay(delay_ms, u_us / 1000, limits["revoke_ms"], subject, detail)
    )
    evidence.count(
        "CON-3",
        "still_recording_after_revoke",
        int(dut.state().recording is not None),
        subject=subject,
    )


@pytest.mark.clause("CON-4")
@pytest.mark.parametrize("restart", ["reboot", "factory_reset"])
def test_consent_does_not_survive_restart(dut, evidence, bench, restart):
    declared = [k for k in KINDS if k in dut.hello_info.capture]
    for kind in declared:
        dut.consent_grant(kind)
    before = dut.state().consent
    missing = [k for k in declared if not before.get(k)]
    if missing:  # consent that never showed cannot be shown not to survive
        raise ClauseFailure(
            {"CON-4": "INCONCLUSIVE"},
            f"consent.grant was answered ok but state shows {missing} not granted",
        )
    boot = dut.reboot() if restart == "reboot" else dut.factory_reset()
    bench.resync()
    after = dut.state().consent
    survived = [k for k in KINDS if after.get(k)]
    detail = f"boot reason {boot.get('reason')!r}; state {after}"
    evidence.record(consent.consent_after_restart(survived, restart, detail))
    for kind in declared:
        record_refusal(evidence, "CON-4", attempt(dut, kind, "user"), f"after {restart}")


@pytest.mark.clause("CON-1")
@pytest.mark.parametrize("kind", KINDS)
def test_undeclared_kind_is_refused(dut, evidence, light, kind):
    """A kind `hello` does not declare is refused with UNSUPPORTED, even with consent, and
    leaves nothing behind: no artifact, no capture events, no light."""
    if kind in dut.hello_info.capture:
        pytest.skip(f"NOT_TESTED: {kind} is declared; its consent tests apply instead")
    expected: tuple[str, ...] = ("UNSUPPORTED",)
    try:
        dut.consent_grant(kind)
    except DeviceError:
        # The spec does not say whether a scope the device cannot capture may be granted;
        # without the grant, CONSENT_REQUIRED is a correct refusal too.
        expected = ("UNSUPPORTED", "CONSENT_REQUIRED")
    with light.recording() as rec:
        sent = time.monotonic()
        a = attempt(dut, kind, "user")
    context = "undeclared in hello"
    evidence.record(
        *consent.refusal(
            "CON-1", f"{kind}/user {context}", accepted=a.accepted, code=a.code,
            artifacts_added=a.artifacts_added, capture_events=a.capture_events, expected=expected,
        )
    )  # fmt: skip
    window = evidence.limits["lit_window_ms"] / 1000
    edges = [e for e in rec.trace.rising_edges(window) if e.t > sent]
    evidence.record(consent.lit_for_refused_capture(len(edges), f"{kind}/user {context}"))

"""Power loss (CON-4, MIN-4): what a real power cut leaves behind.

The DUT's power is cut for real through the station's bench supply (`[power]`): unlike
`device.reboot`, the firmware gets no chance to tidy up, so this is where consent kept
in flash, a recording that resumes itself, or a delete that only hid a file show. A
station without a supply cannot test this: NOT_TESTED, never passed.
"""

from __future__ import annotations

import time

import pytest

from harness.bench.actions import CAPTURE_EVENTS, attempt, start, take
from harness.bench.powercycle import power_cycle
from harness.instruments.supply import PowerSupply
from suites.support import KINDS, check_deleted_gone, record_refusal, require_kind

RECORD_KINDS = ("video", "audio")
RESUME_S = 0.6  # after boot: long enough for a firmware that resumes a capture to do so


@pytest.fixture
def supply(bench) -> PowerSupply:
    if bench.power is None:
        pytest.skip("NOT_TESTED: the station has no bench supply ([power]) to cut the power")
    return bench.power


@pytest.mark.clause("CON-4")
def test_consent_does_not_survive_power_loss(dut, evidence, bench, supply):
    kinds = [k for k in KINDS if k in dut.hello_info.capture]
    for kind in kinds:
        dut.consent_grant(kind)
    before = dut.state().consent
    assert all(before.get(k) for k in kinds), (
        f"consent.grant was answered ok but state shows {before}"
    )
    boot = power_cycle(bench)
    after = dut.state().consent
    survived = [k for k in KINDS if after.get(k)]
    evidence.count(
        "CON-4",
        "consent_in_state_after_power_loss",
        len(survived),
        subject="power loss",
        detail=f"boot reason {boot.get('reason')!r}; state {after}",
    )
    for kind in kinds:
        record_refusal(evidence, "CON-4", attempt(dut, kind, "user"), "after power loss")


@pytest.mark.clause("CON-4")
@pytest.mark.parametrize("kind", RECORD_KINDS)
def test_recording_cut_by_power_loss_does_not_resume(dut, evidence, bench, supply, kind):
    """A recording running at the power cut must not be running after boot."""
    require_kind(dut, kind)
    dut.consent_grant(kind)
    session = start(dut, kind, "user").result["session"]
    time.sleep(0.3)
    mark = dut.event_mark
    boot = power_cycle(bench)
    time.sleep(RESUME_S)
    st = dut.state()
    subject = f"{kind} {session} cut by power loss"
    evidence.count(
        "CON-4",
        "recording_after_power_loss",
        int(st.recording is not None),
        subject=subject,
        detail=f"state.recording after boot: {st.recording}",
    )
    after_boot = [
        e for e in dut.events_since(mark) if e.epoch == boot.epoch and e.name in CAPTURE_EVENTS
    ]
    evidence.count(
        "CON-4",
        "capture_events_after_power_loss",
        len(after_boot),
        subject=subject,
        detail=", ".join(f"{e.name} {e.subject}" for e in after_boot[:5]),
    )


@pytest.mark.clause("MIN-4")
def test_deleted_stays_deleted_after_power_loss(dut, evidence, bench, supply):
    """Delete, cut the power, look again: nothing deleted may come back."""
    kinds = [k for k in KINDS if k in dut.hello_info.capture]
    for kind in kinds:
        dut.consent_grant(kind)
    made = [take(dut, k, "user", duration_s=0.2).artifact for k in kinds]
    doomed = [a for a in (made[1:] or made[:1]) if a is not None]
    for art in doomed:
        dut.artifact_delete(art)
    power_cycle(bench)
    check_deleted_gone(dut, evidence, doomed, "after delete and power loss")

"""Consent measurements (CON-1..CON-4), built once for the example suites and the state machine.

Each takes what was observed (the device's answer, events, stored artifacts, times on
the device clock) and returns measurements; the ledger gives the verdicts.
"""

from __future__ import annotations

from harness.judge.verdict import Measurement, count


def refusal(
    clause: str,
    subject: str,
    *,
    accepted: bool,
    code: str,
    artifacts_added: int,
    capture_events: int | None = None,
    expected: tuple[str, ...] = ("CONSENT_REQUIRED",),
) -> list[Measurement]:
    """A capture that should have been refused (with CONSENT_REQUIRED, or as `expected`),
    counted every way it can go wrong (none allowed). `capture_events` is None where
    events were not collected."""
    detail = f"device answered {code}; expected {' or '.join(expected)}"
    ms = [
        count(clause, "capture_accepted_without_consent", int(accepted), subject=subject,
              detail=detail),
        count(clause, "wrong_refusal_code", int(not accepted and code not in expected),
              subject=subject, detail=detail),
    ]  # fmt: skip
    if capture_events is not None:
        ms.append(count(clause, "capture_events_after_refusal", capture_events, subject=subject))
    ms.append(count(clause, "artifacts_stored_after_refusal", artifacts_added, subject=subject))
    return ms


def revoke_delay(
    delay_ms: float, u_ms: float, limit_ms: float, subject: str, detail: str
) -> Measurement:
    """CON-3: the last frame after the revoke request, on the device clock."""
    return Measurement(
        "CON-3", "last_frame_after_revoke", delay_ms, "ms", limit_ms, "<=", u_ms,
        subject=subject, detail=detail,
    )  # fmt: skip


def consent_after_restart(survived: list[str], subject: str, detail: str = "") -> Measurement:
    """CON-4: scopes the device still reports granted after a restart (none allowed)."""
    return count(
        "CON-4", "consent_in_state_after_restart", len(survived), subject=subject,
        detail=detail or f"survived {survived}",
    )  # fmt: skip


def lit_for_refused_capture(rising_edges: int, subject: str) -> Measurement:
    """CON-1: a refused capture lights nothing (a kind the device does not declare, too)."""
    return count("CON-1", "indicator_lit_for_refused_capture", rising_edges, subject=subject,
                 detail="rising edges of the indicator after the refused request")  # fmt: skip

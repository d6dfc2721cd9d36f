"""Tamper measurements (IND-8): a covered indicator stops capture.

Tape over the LED was the first answer users found to recording indicators; a device
declaring `tamper_detect` promises to notice. The bench covers the indicator with a
shutter (shutter-scpi.md) and observes: captures asked while covered, and a recording
covered while it runs. These builders turn what was observed into measurements.
"""

from __future__ import annotations

from harness.judge.verdict import Measurement, count

REFUSAL_CODE = "INDICATOR_FAULT"
END_REASON = "indicator_fault"


def covered_refusal(
    subject: str, *, accepted: bool, code: str, artifacts_added: int, capture_events: int
) -> list[Measurement]:
    """A capture asked while the indicator was covered, with consent: refused with
    INDICATOR_FAULT, no capture started, nothing stored (none allowed of each)."""
    detail = f"device answered {code}"
    return [
        count("IND-8", "capture_accepted_while_covered", int(accepted), subject=subject,
              detail=detail),
        count("IND-8", "refusal_code_not_indicator_fault",
              int(not accepted and code != REFUSAL_CODE), subject=subject, detail=detail),
        count("IND-8", "capture_events_while_covered", capture_events, subject=subject),
        count("IND-8", "artifacts_stored_while_covered", artifacts_added, subject=subject),
    ]  # fmt: skip


def last_frame_after_cover(
    delay_ms: float, u_ms: float, limit_ms: float, subject: str, detail: str
) -> Measurement:
    """The recording's last frame after the indicator was covered, on the device clock."""
    return Measurement(
        "IND-8", "last_frame_after_covering", delay_ms, "ms", limit_ms, "<=", u_ms,
        subject=subject, detail=detail,
    )  # fmt: skip


def sensor_after_cover(
    delay_ms: float, u_ms: float, limit_ms: float, subject: str, detail: str
) -> Measurement:
    """The bench's own witness: how long after covering the supply still saw the sensor."""
    return Measurement(
        "IND-8", "sensor_current_after_covering", delay_ms, "ms", limit_ms, "<=", u_ms,
        subject=subject, detail=detail,
    )  # fmt: skip


def end_reason(reason: object, subject: str) -> Measurement:
    """The covered recording ended with reason `indicator_fault` (a protocol field)."""
    return count(
        "IND-8", "end_reason_not_indicator_fault", int(reason != END_REASON), subject=subject,
        detail=f"capture.end reason {str(reason)[:32]!r}",
    )  # fmt: skip

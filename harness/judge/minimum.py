"""Minimum-data measurements (MIN-1..MIN-4), built once for the example suites and the
state machine."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from harness.judge.verdict import Measurement, count

# What `artifact.info` `tracks` may list per kind (a photo's image is reported as "video").
ALLOWED_TRACKS: dict[str, frozenset[str]] = {
    "photo": frozenset({"video"}),
    "audio": frozenset({"audio"}),
    "video": frozenset({"video"}),
}


def allowed_tracks(kind: str, audio_consent: bool) -> frozenset[str]:
    """A video may carry audio only under audio consent (clauses.md MIN-2)."""
    extra = {"audio"} if kind == "video" and audio_consent else set()
    return ALLOWED_TRACKS[kind] | extra


def unrequested_fields(stored: Iterable[str], asked: Collection[str], subject: str) -> Measurement:
    """MIN-1: metadata fields stored that the request did not ask for (none allowed)."""
    stored = list(stored)
    extra = sorted(set(stored) - set(asked))
    return count(
        "MIN-1", "unrequested_fields_stored", len(extra), subject=subject,
        detail=f"asked {sorted(asked)}, stored {stored}; extra {extra}",
    )  # fmt: skip


def tracks_not_allowed(
    stored: Iterable[str], kind: str, audio_consent: bool, subject: str
) -> Measurement:
    """MIN-2: tracks beyond those of the capture's kind (none allowed)."""
    stored = list(stored)
    allowed = allowed_tracks(kind, audio_consent)
    return count(
        "MIN-2", "tracks_not_allowed", len(set(stored) - allowed), subject=subject,
        detail=f"stored tracks {stored}; allowed {sorted(allowed)}",
    )  # fmt: skip


def first_frame_after_request(
    first_frame_us: int, request_us: float, u_us: float, subject: str
) -> Measurement:
    """MIN-3: the first stored frame is not older than the request, on the device clock."""
    return Measurement(
        "MIN-3", "first_frame_after_request", (first_frame_us - request_us) / 1000, "ms", 0.0,
        ">=", u_us / 1000, subject=subject,
        detail="artifact.info first_frame_us minus the request's send time on the device clock",
    )  # fmt: skip


def deleted_still_listed(listed: Iterable[str], deleted: Iterable[str], when: str) -> Measurement:
    """MIN-4: deleted artifacts that `artifact.list` still names (none allowed)."""
    back = sorted(set(deleted) & set(listed))
    return count("MIN-4", "deleted_still_listed", len(back), subject=when, detail=f"listed {back}")


def deleted_still_readable(readable: list[str], when: str) -> Measurement:
    """MIN-4: deleted artifacts that `artifact.info` still answers for (none allowed)."""
    return count(
        "MIN-4", "deleted_still_readable", len(readable), subject=when,
        detail=f"artifact.info answered for {readable}",
    )  # fmt: skip


def left_after_factory_reset(listed: list[str]) -> Measurement:
    """MIN-4: artifacts listed after a factory reset (none allowed)."""
    return count(
        "MIN-4", "artifacts_after_factory_reset", len(listed), subject="after factory reset",
        detail=f"listed {listed[:20]}",
    )  # fmt: skip


def served_after_factory_reset(served: list[str], checked: int) -> Measurement:
    """MIN-4: artifacts `artifact.info` still answers for after a factory reset, of every
    id seen in the run (hidden from the list or not: none allowed)."""
    return count(
        "MIN-4", "artifacts_served_after_factory_reset", len(served),
        subject="after factory reset", detail=f"{len(served)} of {checked} ids seen: {served[:20]}",
    )  # fmt: skip

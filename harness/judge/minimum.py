"""Minimum-data measurements (MIN-1..MIN-4), built once for the example suites and the
state machine.

MIN-1..3 hold the stored file (`harness.judge.media`) against the request, with
`artifact.info` as a statement beside it: what the file keeps counts, whatever the
device says (clauses.md); a file that cannot serve the clause fails it
(`harness.judge.stored.unusable`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from harness.judge.inventory import MediaInventory
from harness.judge.stored import DRIFT, file_tracks, stated_tracks, unusable
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


def unrequested_fields(
    stored: Iterable[str], asked: Collection[str], subject: str, file: MediaInventory
) -> Measurement:
    """MIN-1: metadata fields the file holds or `artifact.info` lists (`stored`) that the
    request did not ask for (none allowed)."""
    bad = unusable("MIN-1", file, subject)
    if bad is not None:
        return bad
    stored = list(stored)
    extra = sorted((set(stored) | file.fields) - set(asked))
    return count(
        "MIN-1", "unrequested_fields_stored", len(extra), subject=subject,
        detail=f"asked {sorted(asked)}, artifact.info fields {stored}, in the file "
        f"{sorted(file.fields)}; extra {extra}",
    )  # fmt: skip


def tracks_not_allowed(
    stored: Iterable[str], kind: str, audio_consent: bool, subject: str, file: MediaInventory
) -> Measurement:
    """MIN-2: tracks beyond those of the capture's kind (none allowed), in the file (each
    kind at most once) or in `artifact.info`'s `tracks` (`stored`)."""
    bad = unusable("MIN-2", file, subject)
    if bad is not None:
        return bad
    stored = list(stored)
    allowed = stated_tracks(tuple(allowed_tracks(kind, audio_consent)), kind)
    found = file_tracks(file)
    extra = sorted((stated_tracks(tuple(stored), kind) | set(found)) - allowed)
    twice = sum(max(0, found.count(t) - 1) for t in allowed)
    return count(
        "MIN-2", "tracks_not_allowed", len(extra) + twice, subject=subject,
        detail=f"file tracks {found}, artifact.info tracks {stored}; allowed one each of "
        f"{sorted(allowed)}",
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


def stored_span_within_capture(
    file: MediaInventory, requested: float, ended: float, subject: str
) -> Measurement:
    """MIN-3: the file keeps no more than from the request to the response that ended the
    capture (host times): its stored span plus any frames it keeps but does not present
    (an edit list hiding pre-roll). U: what an audio codec pads its last frame with, and
    the clock drift over the span."""
    bad = unusable("MIN-3", file, subject)
    if bad is not None:
        return bad
    kept = (file.span_s or 0.0) + file.hidden_frames * (file.frame_interval_s or 0.0)
    hidden = f" + {file.hidden_frames} hidden frames" if file.hidden_frames else ""
    return Measurement(
        "MIN-3", "stored_span_beyond_request_to_end", kept * 1000, "ms",
        (ended - requested) * 1000, "<=", (file.padding_s + kept * DRIFT) * 1000, subject=subject,
        detail=f"stored span {file.span_s or 0.0:.4f} s{hidden} vs {ended - requested:.4f} s "
        "from the request to the response that ended the capture",
    )  # fmt: skip


def deleted_still_listed(listed: Iterable[str], deleted: Iterable[str], when: str) -> Measurement:
    """MIN-4: deleted artifacts that `artifact.list` still names (none allowed)."""
    back = sorted(set(deleted) & set(listed))
    return count("MIN-4", "deleted_still_listed", len(back), subject=when, detail=f"listed {back}")


def deleted_still_readable(readable: list[str], when: str) -> Measurement:
    """MIN-4: answers `artifact.info` or `artifact.read` still gave for deleted artifacts
    (none allowed); `readable` names each artifact with the command that answered."""
    return count(
        "MIN-4", "deleted_still_readable", len(readable), subject=when,
        detail=f"answered for {readable[:20]}",
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

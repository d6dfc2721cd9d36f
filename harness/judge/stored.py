"""The stored file held against the device's statements (bench-protocol.md "What the host
may hold against the device"; clauses.md, the capture interval).

`harness.judge.media` says what a file holds; this module says what follows for the
clauses: a file that cannot serve a clause FAILs it (the device must store the declared
formats and serve them), or leaves it INCONCLUSIVE when the bench could not look; a
reported span that the stored one contradicts FAILs IND-1; a capture made by
`record.start` whose file has a video track is a recording, whatever its events say.
The minimum-data builders that use the file live in `harness.judge.minimum`.
"""

from __future__ import annotations

import dataclasses

from harness.judge.inventory import MediaInventory
from harness.judge.timeline import Timeline
from harness.judge.verdict import Measurement, count
from harness.spec import MAX_DRIFT_PPM
from harness.wire.messages import ArtifactInfo

DRIFT = MAX_DRIFT_PPM * 1e-6  # a span on the device clock vs the file's own timebase
MEDIA_TRACKS = ("image", "video", "audio")


def unusable(clause: str, file: MediaInventory, subject: str) -> Measurement | None:
    """The measurement for a file that cannot serve `clause`, or None if it can.

    Not served or malformed is the device's failure (FAIL: the format is mandated); beyond
    the station's bounds is nothing observed (INCONCLUSIVE: the count is 0 or 1, U = 1).
    """
    if file.unobserved is not None:
        return Measurement(
            clause, "stored_file_not_observed", 1.0, "count", 0.0, "<=", 1.0, subject=subject,
            detail=f"the stored file could not be read: {file.unobserved}",
        )  # fmt: skip
    if file.problem is not None:
        return count(
            clause, "stored_file_unsound", 1, subject=subject,
            detail=f"the stored file does not serve as evidence: {file.problem}",
        )  # fmt: skip
    return None


def span_agrees(
    first_us: int | None,
    last_us: int | None,
    file: MediaInventory,
    subject: str,
    stated: str = "artifact.info",
) -> Measurement | None:
    """IND-1: the reported span (`stated` says whose) agrees with the stored one.

    They must agree within one frame interval of the file (the limit), with the drift the
    reported span (device clock) may have against the file's timebase as the uncertainty.
    None for a photo, or when the statement names no span.
    """
    bad = unusable("IND-1", file, subject)
    if bad is not None:
        return bad
    if first_us is None or last_us is None or file.kind_seen == "photo" or file.span_s is None:
        return None
    reported = (last_us - first_us) / 1e6
    interval = file.frame_interval_s or 0.0
    return Measurement(
        "IND-1", "stored_span_disagrees", abs(file.span_s - reported) * 1000, "ms",
        interval * 1000, "<=", abs(reported) * DRIFT * 1000, subject=subject,
        detail=f"{stated} span {reported:.4f} s, stored span {file.span_s:.4f} s "
        f"(tolerance one frame interval of the file, {interval * 1000:.1f} ms)",
    )  # fmt: skip


def file_tracks(file: MediaInventory) -> list[str]:
    """The media tracks of the file (image, video, audio), in order; text tracks are
    metadata (MIN-1), not tracks."""
    return [t for t in file.tracks if t in MEDIA_TRACKS]


def stated_tracks(info_tracks: tuple[str, ...], kind: str) -> set[str]:
    """`artifact.info` tracks in the file's words: a photo's image is reported as video."""
    return {"image" if kind == "photo" and t == "video" else t for t in info_tracks}


def contradictions(info: ArtifactInfo | None, file: MediaInventory) -> list[str]:
    """Where `artifact.info` and the file disagree, in words for the record (not verdicts:
    the clauses' builders decide)."""
    if info is None or not file.sound:
        return []
    notes = []
    if set(info.fields) != set(file.fields):
        notes.append(f"fields: artifact.info {sorted(info.fields)}, file {sorted(file.fields)}")
    stated, found = stated_tracks(info.tracks, info.kind), file_tracks(file)
    if stated != set(found):
        notes.append(f"tracks: artifact.info {sorted(stated)}, file {found}")
    if file.kind_seen is not None and info.kind != file.kind_seen:
        notes.append(f"kind: artifact.info {info.kind!r}, file holds a {file.kind_seen}")
    if info.first_frame_us is not None and info.last_frame_us is not None and file.span_s:
        reported = (info.last_frame_us - info.first_frame_us) / 1e6
        if abs(reported - file.span_s) > (file.frame_interval_s or 0.0):
            notes.append(f"span: artifact.info {reported:.4f} s, file {file.span_s:.4f} s")
    if file.hidden_frames:
        notes.append(f"hidden frames: the file keeps {file.hidden_frames} it does not present")
    if info.bytes is not None and info.bytes != file.size:
        notes.append(f"bytes: artifact.info {info.bytes}, file {file.size}")
    return notes


def recording_by_file(timeline: Timeline, subject: str, file: MediaInventory) -> None:
    """A capture made by `record.start` whose file has a video track is a recording,
    whatever its events call it (clauses.md): judged from its first frame over the
    stored span, not as a photo's instant."""
    cap = timeline.capture(subject)
    if cap is None or not cap.is_photo or "video" not in file.tracks or not file.span_s:
        return
    last_us = cap.first_us + round(file.span_s * 1e6)
    timeline.captures[timeline.captures.index(cap)] = dataclasses.replace(
        cap, kind="video", last_us=last_us, last=timeline.sync.to_host(last_us, cap.epoch),
        end_reason="(a recording by its stored file)",
    )  # fmt: skip

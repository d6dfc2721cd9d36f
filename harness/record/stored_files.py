"""Stored files in the record: each artifact's bytes and inventory, under the test that read it.

`tests/<test>/artifacts/<artifact>-<sha256[:12]>.<ext>` holds the file exactly as read
and a `.json` beside it what it holds, what the device said of it and where the two
disagree. The name is made safe from the device's id (never used as a path as it is)
and the hash, so the same file read twice is kept once and two ids that read alike
cannot overwrite each other.
"""

from __future__ import annotations

import hashlib
from typing import Any

from harness.bench.stored import StoredFile
from harness.judge.inventory import MediaInventory
from harness.judge.stored import contradictions
from harness.record.rundir import safe_name

MAX_NOTES = 10


def file_type(inv: MediaInventory) -> tuple[str, str]:
    """(extension, MIME type) by what the file is, not by what the device called it."""
    if inv.format == "jpeg":
        return ".jpg", "image/jpeg"
    if inv.format in ("mp4", "mov"):
        if inv.kind_seen == "audio":
            return ".m4a", "audio/mp4"
        return (".mov", "video/quicktime") if inv.format == "mov" else (".mp4", "video/mp4")
    return ".bin", "application/octet-stream"


def stem(test_dir: str, stored: StoredFile) -> str:
    """`<test dir>/artifacts/<safe id>[-<id hash>]-<file hash>`: an id that is not already a
    safe name gets its own hash too, so two ids that read alike stay apart."""
    name = safe_name(stored.artifact, 60)
    if name != stored.artifact:
        name += "-" + hashlib.sha256(stored.artifact.encode()).hexdigest()[:8]
    digest = stored.inventory.sha256[:12] if stored.data else "unread"
    return f"{test_dir}/artifacts/{name}-{digest}"


def artifact_record(stored: StoredFile, file: str | None) -> dict[str, Any]:
    """What the record says of one stored file (device text is bounded already)."""
    info = stored.info
    notes = contradictions(info, stored.inventory)
    return {
        "artifact": stored.artifact,
        "kind": stored.kind,
        "epoch": stored.epoch,
        "file": file,
        "stated": None
        if info is None
        else {
            "kind": info.kind,
            "fields": list(info.fields),
            "tracks": list(info.tracks),
            "first_frame_us": info.first_frame_us,
            "last_frame_us": info.last_frame_us,
            "frames": info.frames,
            "bytes": info.bytes,
        },
        "inventory": stored.inventory.as_dict(),
        "contradictions": [n[:300] for n in notes[:MAX_NOTES]],
    }

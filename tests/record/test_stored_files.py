"""Stored files in the record: bytes and inventory under the test, in the manifest and the
summary, named safely whatever the device calls its artifacts."""

from __future__ import annotations

import hashlib
import json

from harness.bench.stored import StoredFile
from harness.judge.clauses import Limits
from harness.judge.media import MediaInventory, inspect_media
from harness.record.evidence import Evidence
from harness.record.ledger import Ledger
from harness.record.rundir import RunDir
from harness.sim import files
from harness.wire.messages import ArtifactInfo
from tests.runs import read_json


def evidence(tmp_path) -> Evidence:
    ledger = Ledger(RunDir(tmp_path), station="s1", limits=Limits())
    return Evidence("suites/t.py::test_x[video]", ("MIN-1",), ledger=ledger, limits=Limits())


def stored(artifact: str, data: bytes, kind: str = "video", **info_kw) -> StoredFile:
    info = ArtifactInfo(artifact, kind, "user", 0, 1_000_000, 31, ("video",), (), len(data))
    return StoredFile(artifact, kind, 1, data, info, inspect_media(data, kind))


def test_file_and_inventory_kept_once_in_manifest_and_summary(tmp_path) -> None:
    ev = evidence(tmp_path)
    data = files.recording_file("video", 31, 1 / 30, fields=(), audio=True)
    ev.keep_artifact(stored("a-0001", data))
    ev.keep_artifact(stored("a-0001", data))  # read again: the same file, kept once
    digest = hashlib.sha256(data).hexdigest()
    rel = f"{ev.dir}/artifacts/a-0001-{digest[:12]}"
    assert (tmp_path / f"{rel}.mp4").read_bytes() == data
    record = json.loads((tmp_path / f"{rel}.json").read_text())
    assert record["inventory"]["tracks"] == ["video", "audio"]
    assert record["contradictions"] == ["tracks: artifact.info ['video'], file ['video', 'audio']"]
    manifest = read_json(tmp_path / "manifest.json")["files"]
    assert manifest[f"{rel}.mp4"]["sha256"] == digest and f"{rel}.json" in manifest
    summary = ev.ledger.write_summary(complete=True)
    assert len(summary["artifacts"][ev.test]) == 1
    assert summary["artifacts"][ev.test][0]["file"] == f"{rel}.mp4"
    assert ev.witnessed == {(1, "a-0001")}


def test_hostile_ids_and_unread_files(tmp_path) -> None:
    ev = evidence(tmp_path)
    photo = files.photo_file(())
    ev.keep_artifact(stored("../../etc/passwd", photo, "photo"))
    ev.keep_artifact(stored("a/1", photo, "photo"))
    ev.keep_artifact(stored("a:1", photo, "photo"))
    unread = StoredFile("a-7", "audio", 1, b"", None, MediaInventory.not_served("NOT_FOUND"))
    ev.keep_artifact(unread)
    kept = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("artifacts/*"))
    assert all(p.startswith(f"{ev.dir}/artifacts/") for p in kept)
    assert sum(p.endswith(".jpg") for p in kept) == 3  # "a/1" and "a:1" read alike: both kept
    assert f"{ev.dir}/artifacts/a-7-unread.json" in kept
    record = read_json(tmp_path / f"{ev.dir}/artifacts/a-7-unread.json")
    assert record["file"] is None and record["inventory"]["problem"] == "not served: NOT_FOUND"

"""The run directory's manifest: the indented JSON a certification body reads, whatever
way each entry was serialized."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.record.rundir import RunDir, _entry_text


@pytest.mark.parametrize(
    "entry",
    [
        {"sha256": "ab" * 32, "bytes": 1234},
        {"z": None, "a": True, "m": 1.5e-7, 'é "q"': "ünï\n"},
        {"nested": {"b": [1, 2], "a": {}}, "bytes": 0},  # not flat: the plain dump
        {},
    ],
)
def test_an_entry_is_the_indented_dump_nested_once(entry: dict) -> None:
    nested = json.dumps({"files": {"r/x.json": entry}}, indent=2, sort_keys=True)
    inner = nested.split("\n", 2)[2].rsplit("\n", 2)[0]  # the entry's lines, as nested
    assert _entry_text("r/x.json", entry) == inner


def test_the_manifest_is_the_indented_dump_of_itself(tmp_path: Path) -> None:
    rd = RunDir(tmp_path / "run")
    rd.write_text("tests/ünï/a.txt", "x")
    rd.append_jsonl("measurements.jsonl", {"a": 1}, {"b": 2})
    rd.write_bytes("b.bin", b"\0" * 10)
    rd.finish()
    text = (rd.root / "manifest.json").read_text()
    manifest = json.loads(text)
    assert text == json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    assert manifest["complete"] and manifest["files"] == rd.manifest()["files"]
    assert set(manifest["files"]) == {"tests/ünï/a.txt", "measurements.jsonl", "b.bin"}

"""Reading a finished (or interrupted) run directory back, for the hard-knock tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

REQUEST_MARK = " > message "
DEVICE_MARK = " < message "


def outcomes_in_order(out: Path) -> list[dict[str, Any]]:
    path = out / "tests.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def manifest_intact(out: Path) -> tuple[dict[str, Any], list[str]]:
    """The manifest and the files it lists whose bytes no longer match their hash."""
    manifest = json.loads((out / "manifest.json").read_text())
    bad = []
    for rel, entry in manifest["files"].items():
        path = out / rel
        if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
            bad.append(rel)
    return manifest, bad


def recording_at_end(serial_log: str) -> bool | None:
    """Whether the device was recording when this serial log ends, as far as it tells.

    Follows requests (by id) and their responses, and `capture.end` events: a successful
    `record.start` starts a recording; `record.stop`, a `capture.end` of it, or a `state`
    showing `recording: null` ends it. None if the log shows no recording at all.
    """
    cmds: dict[int, str] = {}
    recording: bool | None = None
    for line in serial_log.splitlines():
        if REQUEST_MARK in line:
            msg = _json(line.split(REQUEST_MARK, 1)[1])
            if isinstance(msg.get("id"), int):
                cmds[msg["id"]] = str(msg.get("cmd"))
            continue
        if DEVICE_MARK not in line:
            continue
        msg = _json(line.split(DEVICE_MARK, 1)[1])
        if msg.get("event") == "capture.end" and "session" in msg:
            recording = False
            continue
        cmd = cmds.get(msg.get("id", -1)) if msg.get("ok") is True else None
        result = msg.get("result") or {}
        if cmd == "record.start":
            recording = True
        elif cmd == "record.stop":
            recording = False
        elif cmd == "state" and recording is not None:
            recording = result.get("recording") is not None
    return recording


def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}

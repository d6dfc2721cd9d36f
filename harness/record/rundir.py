"""The run directory: every result and piece of evidence, written as the run goes.

Files are written atomically (temp file, then rename) or appended line by line with a
flush, and each finished file is entered into `manifest.json` with its SHA-256 at once,
so a killed run leaves a manifest that lists what was finished and says it is
incomplete.

The cost of an entry does not grow with the run: an append-only file (`append_jsonl`)
keeps a running hash that each append extends (it is never read back and hashed again),
and the manifest is joined from entries serialized once each, so a run of thousands of
measurements costs each one the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from pathlib import Path, PurePosixPath
from typing import Any

MANIFEST = "manifest.json"
_SAFE_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def safe_name(text: str, max_len: int = 120) -> str:
    """A file-name-safe rendering of a test id or label (never a path from the device)."""
    out = "".join(c if c in _SAFE_CHARS else "_" for c in text)[:max_len].strip("._")
    return out or "unnamed"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class _Appended:
    """An append-only file's running hash and size, as far as this run wrote it."""

    def __init__(self, path: Path) -> None:
        self.hash = hashlib.sha256()
        self.size = 0
        if path.exists():  # written before this run knew it (not by `append_jsonl`): once
            with path.open("rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    self.hash.update(chunk)
                    self.size += len(chunk)

    def add(self, data: bytes) -> dict[str, Any]:
        self.hash.update(data)
        self.size += len(data)
        return {"sha256": self.hash.hexdigest(), "bytes": self.size}


def _entry_text(rel: str, entry: dict[str, Any]) -> str:
    """One manifest entry as `json.dumps(indent=2, sort_keys=True)` writes it, nested once."""
    body = json.dumps(entry, indent=2, sort_keys=True).replace("\n", "\n    ")
    return f"    {json.dumps(rel)}: {body}"


class RunDir:
    """A run's directory and its manifest."""

    def __init__(self, root: Path, run_id: str | None = None) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.run_id = run_id or f"tally-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self._lock = threading.Lock()
        self._files: dict[str, dict[str, Any]] = {}
        self._entries: dict[str, str] = {}  # rel -> its serialized manifest entry
        self._appended: dict[str, _Appended] = {}
        self._complete = False
        self._write_manifest()

    def path(self, rel: str) -> Path:
        p = PurePosixPath(rel)
        if p.is_absolute() or ".." in p.parts:
            raise ValueError(f"not a relative path inside the run: {rel!r}")
        return self.root / p

    def write_bytes(self, rel: str, data: bytes) -> Path:
        path = self.path(rel)
        write_atomic(path, data)
        self.done(rel)
        return path

    def write_text(self, rel: str, text: str) -> Path:
        return self.write_bytes(rel, text.encode("utf-8"))

    def write_json(self, rel: str, obj: Any, indent: int | None = 2) -> Path:
        text = json.dumps(
            obj, indent=indent, sort_keys=True, separators=None if indent else (",", ":")
        )
        return self.write_bytes(rel, (text + "\n").encode())

    def append_jsonl(self, rel: str, *objs: Any) -> None:
        """Append records (one line each) and flush; the manifest entry follows at once,
        from the file's running hash (the file is never read back)."""
        if not objs:
            return
        path = self.path(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = "".join(
            json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n" for obj in objs
        ).encode("utf-8")
        key = str(PurePosixPath(rel))
        with self._lock:
            appended = self._appended.get(key)
            if appended is None:
                appended = self._appended[key] = _Appended(path)
            with path.open("ab") as f:
                f.write(data)
                f.flush()
            self._enter(key, appended.add(data))
            self._write_manifest()

    def done(self, *rels: str) -> None:
        """Enter (or re-enter) finished files into the manifest with their hashes."""
        entries = {}
        for rel in rels:
            path = self.path(rel)
            entries[str(PurePosixPath(rel))] = {
                "sha256": sha256_file(path),
                "bytes": path.stat().st_size,
            }
        with self._lock:
            for key, entry in entries.items():
                self._appended.pop(key, None)  # rewritten whole: no running hash any more
                self._enter(key, entry)
            self._write_manifest()

    def _enter(self, key: str, entry: dict[str, Any]) -> None:
        self._files[key] = entry
        self._entries[key] = _entry_text(key, entry)

    def finish(self) -> None:
        with self._lock:
            self._complete = True
            self._write_manifest()

    def manifest(self) -> dict[str, Any]:
        return {**self._head(), "files": dict(sorted(self._files.items()))}

    def _head(self) -> dict[str, Any]:
        return {
            "format": "tally-manifest/1",
            "run_id": self.run_id,
            "complete": self._complete,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }

    def _write_manifest(self) -> None:
        """The manifest, byte for byte as `json.dumps(self.manifest(), indent=2,
        sort_keys=True)` writes it, but joined from entries serialized once each (the
        caller holds the lock, or is the constructor)."""
        values = {k: json.dumps(v) for k, v in self._head().items()}
        files = ",\n".join(self._entries[k] for k in sorted(self._entries))
        values["files"] = "{\n" + files + "\n  }" if files else "{}"
        body = ",\n".join(f"  {json.dumps(k)}: {values[k]}" for k in sorted(values))
        write_atomic(self.root / MANIFEST, ("{\n" + body + "\n}\n").encode())

"""The run directory: every result and piece of evidence, written as the run goes.

Files are written atomically (temp file, then rename) or appended line by line with a
flush, and each finished file is entered into `manifest.json` with its SHA-256 at once,
so a killed run leaves a manifest that lists what was finished and says it is
incomplete.
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


class RunDir:
    """A run's directory and its manifest."""

    def __init__(self, root: Path, run_id: str | None = None) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.run_id = run_id or f"tally-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self._lock = threading.Lock()
        self._files: dict[str, dict[str, Any]] = {}
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

    def write_json(self, rel: str, obj: Any) -> Path:
        return self.write_bytes(rel, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())

    def append_jsonl(self, rel: str, obj: Any) -> None:
        """Append one record and flush; the file's hash is entered when it is `done`."""
        path = self.path(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n"
        with self._lock, path.open("a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
        self.done(rel)

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
            self._files.update(entries)
            self._write_manifest()

    def finish(self) -> None:
        with self._lock:
            self._complete = True
            self._write_manifest()

    def manifest(self) -> dict[str, Any]:
        return {
            "format": "tally-manifest/1",
            "run_id": self.run_id,
            "complete": self._complete,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "files": dict(sorted(self._files.items())),
        }

    def _write_manifest(self) -> None:
        data = json.dumps(self.manifest(), indent=2, sort_keys=True).encode() + b"\n"
        write_atomic(self.root / MANIFEST, data)

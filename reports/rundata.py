"""Reading a run directory: its summary and manifest, checked just enough to trust the shape.

Every report command starts here, so a wrong path or a foreign file fails with one clear
line instead of a KeyError deep in a template. Values stay as the plugin wrote them
(device strings included): callers treat them as untrusted text.

A run directory may come from anyone, so what is read is bounded before any command
sees it (`bounded`): nesting deeper than `MAX_DEPTH` is replaced, integers beyond ±10^40
(more than any 128-bit Hypothesis seed; larger ones would overflow a float) become ±inf,
and JSON too deep for the parser is one clear error, never a traceback. The manifest
is read once: the bytes that are parsed are the bytes whose hash and signature are
checked.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reports.errors import ReportError

SUMMARY_FORMAT = "tally-summary/1"
MANIFEST_FORMAT = "tally-manifest/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
SUMMARY = "summary.json"


MAX_DEPTH = 32  # nesting kept from a run's JSON; deeper values are replaced
MAX_INT = 10**40
TOO_DEEP = "…(nested too deep)"


@dataclass(frozen=True)
class RunData:
    """A run directory with its parsed summary and (if present) manifest."""

    root: Path
    summary: dict[str, Any]
    manifest: dict[str, Any] | None
    manifest_bytes: bytes = b""  # the exact bytes `manifest` was parsed from

    @property
    def run_id(self) -> str:
        return str(self.summary.get("run_id") or "unknown-run")

    @property
    def complete(self) -> bool:
        """Finished on both counts: the ledger's summary and the evidence manifest."""
        manifest_ok = self.manifest is None or bool(self.manifest.get("complete"))
        return bool(self.summary.get("complete")) and manifest_ok


def bounded(value: Any, depth: int = 0) -> Any:
    """`value` as read, with nesting cut at `MAX_DEPTH` and huge integers made floats."""
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        if -MAX_INT <= value <= MAX_INT:
            return value
        return math.inf if value > 0 else -math.inf
    if depth >= MAX_DEPTH:
        return TOO_DEEP
    if isinstance(value, dict):
        return {str(k): bounded(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [bounded(v, depth + 1) for v in value]
    return str(value)


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ReportError(f"{path}: not found") from None
    except OSError as exc:
        raise ReportError(f"{path}: cannot read: {exc.strerror or exc}") from None


def parse_json(data: bytes, path: Path) -> Any:
    """JSON from `data` (read from `path`), bounded; anything unreadable is a ReportError."""
    try:
        return bounded(json.loads(data.decode("utf-8")))
    except RecursionError:
        raise ReportError(f"{path}: cannot read: JSON nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, int digit limit
        raise ReportError(f"{path}: cannot read: {str(exc)[:200]}") from None


def load_json(path: Path) -> Any:
    return parse_json(read_bytes(path), path)


def load_manifest_bytes(root: Path) -> tuple[dict[str, Any], bytes]:
    """The manifest and the exact bytes it was parsed from (read once)."""
    data = read_bytes(root / MANIFEST)
    manifest = parse_json(data, root / MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ReportError(f"{root / MANIFEST}: not a {MANIFEST_FORMAT} manifest")
    if not isinstance(manifest.get("files"), dict):
        raise ReportError(f"{root / MANIFEST}: has no 'files' table")
    return manifest, data


def load_manifest(root: Path) -> dict[str, Any]:
    return load_manifest_bytes(root)[0]


def load_run(run_dir: str | Path) -> RunData:
    """Load RUN_DIR's summary (required) and manifest (optional: a report can still be made)."""
    root = Path(run_dir)
    if not root.is_dir():
        raise ReportError(f"{root}: not a run directory")
    summary = load_json(root / SUMMARY)
    if not isinstance(summary, dict) or summary.get("format") != SUMMARY_FORMAT:
        raise ReportError(f"{root / SUMMARY}: not a {SUMMARY_FORMAT} summary")
    if not isinstance(summary.get("clauses"), dict):
        raise ReportError(f"{root / SUMMARY}: has no 'clauses' table")
    manifest, data = load_manifest_bytes(root) if (root / MANIFEST).exists() else (None, b"")
    return RunData(root.resolve(), summary, manifest, data)

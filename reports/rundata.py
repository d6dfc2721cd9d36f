"""Reading a run directory: its summary and manifest, checked just enough to trust the shape.

Every report command starts here, so a wrong path or a foreign file fails with one clear
line instead of a KeyError deep in a template. Values stay as the plugin wrote them
(device strings included): callers treat them as untrusted text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reports.errors import ReportError

SUMMARY_FORMAT = "tally-summary/1"
MANIFEST_FORMAT = "tally-manifest/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
SUMMARY = "summary.json"


@dataclass(frozen=True)
class RunData:
    """A run directory with its parsed summary and (if present) manifest."""

    root: Path
    summary: dict[str, Any]
    manifest: dict[str, Any] | None

    @property
    def run_id(self) -> str:
        return str(self.summary.get("run_id") or "unknown-run")

    @property
    def complete(self) -> bool:
        """Finished on both counts: the ledger's summary and the evidence manifest."""
        manifest_ok = self.manifest is None or bool(self.manifest.get("complete"))
        return bool(self.summary.get("complete")) and manifest_ok


def load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path}: not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: cannot read: {exc}") from None


def load_manifest(root: Path) -> dict[str, Any]:
    data = load_json(root / MANIFEST)
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise ReportError(f"{root / MANIFEST}: not a {MANIFEST_FORMAT} manifest")
    if not isinstance(data.get("files"), dict):
        raise ReportError(f"{root / MANIFEST}: has no 'files' table")
    return data


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
    manifest = load_manifest(root) if (root / MANIFEST).exists() else None
    return RunData(root.resolve(), summary, manifest)

"""The light plots a run kept (`tests/<test>/light-N-*.png`), found and ordered for a report.

A report inlines them, so a reader sees the photodiode evidence without the run
directory; each is identified by its path and SHA-256 so the printed figure can be
traced back to the evidence bundle. Failing tests come first, then one trace of each
test, and the count is capped so a long state-machine run cannot make a report of
hundreds of megabytes. Only plots the run's manifest lists, with the same SHA-256, are
inlined: a picture put into the run directory afterwards is never shown as evidence.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.judge.verdict import Verdict
from harness.record.rundir import safe_name

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_PLOTS = 24
MAX_PLOT_BYTES = 4 << 20
_TRACE = re.compile(r"^light-(\d+)(?:-.*)?\.png$")


@dataclass(frozen=True)
class Plot:
    """One kept plot: which test drew it, where it is, and its bytes for inlining."""

    test: str
    outcome: str
    rel: str
    index: int
    sha256: str
    data: bytes = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "outcome": self.outcome,
            "file": self.rel,
            "sha256": self.sha256,
            "bytes": len(self.data),
        }

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.data).decode("ascii")


def _rank(outcome: str) -> int:
    try:
        return Verdict(outcome).rank
    except ValueError:
        return Verdict.BROKEN.rank


def find_plots(
    root: Path, tests: dict[str, Any], listed: Mapping[str, Any]
) -> tuple[list[Plot], list[str]]:
    """The light plots under `root/tests` that the manifest's file table `listed` names
    with their hash, worst test first; and the files left out."""
    by_dir = {safe_name(t): t for t in tests}
    found: list[Plot] = []
    skipped: list[str] = []
    base = root / "tests"
    if not base.is_dir():
        return [], []
    for d in sorted(p for p in base.iterdir() if p.is_dir() and not p.is_symlink()):
        for png in sorted(d.iterdir()):
            m = _TRACE.match(png.name)
            if m is None:
                continue
            rel = png.relative_to(root).as_posix()
            if png.is_symlink() or not png.is_file() or png.stat().st_size > MAX_PLOT_BYTES:
                skipped.append(rel)
                continue
            data = png.read_bytes()
            if not data.startswith(PNG_MAGIC):
                skipped.append(rel)
                continue
            sha = hashlib.sha256(data).hexdigest()
            entry = listed.get(rel)
            if not isinstance(entry, Mapping) or entry.get("sha256") != sha:
                skipped.append(rel)  # not evidence: unlisted, or changed since the run
                continue
            test = by_dir.get(d.name, d.name)
            rec = tests.get(test)
            outcome = str(rec.get("outcome", "NOT_TESTED") if isinstance(rec, Mapping) else "")
            found.append(Plot(test, outcome, rel, int(m.group(1)), sha, data))
    # worst tests first and, within a verdict, every test's first trace before any second one
    found.sort(key=lambda p: (-_rank(p.outcome), p.index > 1, p.test, p.index))
    kept, extra = found[:MAX_PLOTS], found[MAX_PLOTS:]
    kept.sort(key=lambda p: (-_rank(p.outcome), p.test, p.index))
    return kept, skipped + sorted(p.rel for p in extra)

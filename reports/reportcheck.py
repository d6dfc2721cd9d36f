"""The built reports against the evidence: rebuilt, and compared byte for byte.

`report.json` and `report.html` are built after a run (and may be built after its
manifest was signed), so the manifest cannot list them. They are covered anyway: the
report is a function of the evidence, so `reports verify` builds it again from the run
directory it has just checked and compares. Two facts of the moment a report was built
are not evidence and are taken from the report under check: when it was issued
(`report.generated_at`, only in the strict format `build` writes) and whether
`manifest.sig` was present then (`evidence.signed`, believed only if the signature is
present now). Everything else must come out identical; a report built by another
version of the harness differs too, and is rebuilt with `python -m reports build`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reports.build import REPORT_HTML, REPORT_JSON, render
from reports.errors import ReportError
from reports.rundata import SIGNATURE
from reports.values import as_map

DERIVED = frozenset({REPORT_HTML, REPORT_JSON})
_ISSUED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
MAX_REPORT_BYTES = 256 << 20  # a report's inlined plots are capped far below this
REBUILD = "rebuild it with `python -m reports build` from intact evidence"


def _recorded(root: Path) -> tuple[str, bool]:
    """`generated_at` and `signed` of the report.json under check (ReportError if unusable)."""
    path = root / REPORT_JSON
    if path.is_symlink() or not path.is_file():
        raise ReportError("there is no report.json (a regular file) to rebuild it from")
    if path.stat().st_size > MAX_REPORT_BYTES:
        raise ReportError("report.json is larger than any report the harness writes")
    try:
        model = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ReportError(f"report.json is not a report: {str(exc)[:120]}") from None
    issued = as_map(as_map(model).get("report")).get("generated_at")
    if not isinstance(issued, str) or not _ISSUED.fullmatch(issued):
        raise ReportError("report.json has no issue time in the format `build` writes")
    signed = as_map(as_map(model).get("evidence")).get("signed") is True
    return issued, signed and (root / SIGNATURE).is_file()


def check_reports(root: Path, present: Sequence[str]) -> list[tuple[str, str]]:
    """(file, why) for each report in `present` that is not what the evidence gives."""
    if not present:
        return []
    try:
        issued, signed = _recorded(root)
        expected = _expected(root, issued, signed)
    except ReportError as exc:
        return [(rel, f"cannot be checked against the evidence: {exc}") for rel in present]
    out = []
    for rel in present:
        path = root / rel
        if path.is_symlink() or not path.is_file():
            out.append((rel, "not a regular file"))
        elif path.stat().st_size > MAX_REPORT_BYTES or path.read_bytes() != expected[rel]:
            out.append((rel, f"differs from the report the evidence gives; {REBUILD}"))
    return out


def _expected(root: Path, issued: str, signed: bool) -> dict[str, Any]:
    try:
        _, _, json_bytes, html_bytes = render(root, generated_at=issued, signed=signed)
    except ReportError as exc:
        raise ReportError(f"the report cannot be rebuilt: {exc}") from None
    return {REPORT_JSON: json_bytes, REPORT_HTML: html_bytes}

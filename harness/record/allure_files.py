"""Allure glue: the run's environment and the verdict categories, in Allure's own files.

Allure shows `environment.properties` as the report's "Environment" table and sorts
non-passing tests by `categories.json`. Both are written into the results directory at
the end of a session, so the Allure report says which device, firmware, bench and
software produced it, and separates a device's non-conformance from a bench fault.

The properties format is Java's: keys and values are escaped here and every non-ASCII
character becomes a \\uXXXX escape, so a hostile device string cannot add keys, break
lines or depend on the reader's charset (Allure 2 reads ISO-8859-1, Allure 3 UTF-8).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from harness.record.rundir import write_atomic

__all__ = ["settle_statuses", "write_categories", "write_environment"]

MAX_VALUE_CHARS = 400  # a device string longer than this is cut: it is a label, not data

# Categories by status alone: the run sets each result's status from its typed verdict
# (`settle_statuses`), so nothing is matched against message text a device could word.
STATUS_OF = {
    "PASS": "passed",
    "FAIL": "failed",
    "INCONCLUSIVE": "unknown",
    "BROKEN": "broken",
    "NOT_TESTED": "skipped",
}
TEST_LABEL = "tally_test"  # the test's node id, put on each result at collection

CATEGORIES: list[dict[str, Any]] = [
    {"name": "Device non-conformance", "matchedStatuses": ["failed"]},
    {"name": "Inconclusive (guard band or nothing observed)", "matchedStatuses": ["unknown"]},
    {"name": "Bench fault", "matchedStatuses": ["broken"]},
    {"name": "Not tested", "matchedStatuses": ["skipped"]},
]


def settle_statuses(alluredir: str | os.PathLike[str], verdicts: Mapping[str, str]) -> int:
    """Set each Allure result's status from the test's verdict (by its `tally_test` label);
    returns how many results were settled. allure-pytest guesses a status from the
    exception's type; the verdict is the harness's, carried as data."""
    settled = 0
    for path in sorted(Path(alluredir).glob("*-result.json")):
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        labels = result.get("labels") if isinstance(result, dict) else None
        test = next(
            (lb.get("value") for lb in labels or [] if isinstance(lb, dict)
             and lb.get("name") == TEST_LABEL),
            None,
        )  # fmt: skip
        verdict = verdicts.get(test) if isinstance(test, str) else None
        if verdict not in STATUS_OF:
            continue
        result["status"] = STATUS_OF[verdict]
        result["labels"] = [*labels, {"name": "tally_verdict", "value": verdict}]
        write_atomic(path, json.dumps(result).encode())
        settled += 1
    return settled


def write_categories(alluredir: str | os.PathLike[str]) -> Path:
    """Write Allure 2 `categories.json` (matched by the statuses `settle_statuses` set)."""
    path = Path(alluredir) / "categories.json"
    write_atomic(path, (json.dumps(CATEGORIES, indent=2) + "\n").encode())
    return path


def write_environment(alluredir: str | os.PathLike[str], summary: Mapping[str, Any]) -> Path:
    """Write `environment.properties` from a run summary (`summary.json`, tally-summary/1)."""
    path = Path(alluredir) / "environment.properties"
    lines = [f"{_escape(k, key=True)}={_escape(v)}" for k, v in environment_items(summary)]
    write_atomic(path, ("\n".join(lines) + "\n").encode("ascii"))
    return path


def environment_items(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The environment as ordered (key, flat text) pairs; absent facts are left out."""
    s = summary
    dut = _mapping(s.get("dut"))
    cal = _mapping(s.get("calibration"))
    harness = _mapping(s.get("harness"))
    hyp = _mapping(s.get("hypothesis"))
    versions = _mapping(s.get("versions"))
    sim = _mapping(s.get("sim"))
    items: list[tuple[str, Any]] = [
        ("Run", s.get("run_id")),
        ("Run.complete", s.get("complete")),
        ("DUT.vendor", dut.get("vendor")),
        ("DUT.model", dut.get("model")),
        ("DUT.firmware", dut.get("firmware")),
        ("DUT.serial_number", dut.get("serial_number")),
        ("DUT.protocol", dut.get("protocol")),
        ("DUT.capabilities", dut.get("capabilities")),
        ("Station", s.get("station")),
        ("Station.file", s.get("station_file")),
        ("Instrument.IDN", _mapping(s.get("instrument")).get("idn")),
        ("PowerSupply.IDN", _mapping(s.get("power_supply")).get("idn")),
    ]
    for key in ("visible_v", "dark_mean_v", "dark_std_v", "dark_max_v", "lit_mean_v"):
        items.append((f"Calibration.{key}", cal.get(key)))
    items += [
        ("Calibration.lit_margin_ok", cal.get("lit_margin_ok")),
        ("Profile", s.get("profile")),
        ("Limits.overridden", s.get("limits_overridden") or None),
        ("Hypothesis.profile", hyp.get("profile")),
        ("Hypothesis.seed", hyp.get("seed")),
        ("Harness.version", harness.get("version")),
        ("Harness.git_commit", harness.get("git_commit")),
        ("Python", versions.get("python")),
        ("Platform", versions.get("platform")),
    ]
    items += [
        (f"Package.{name}", ver)
        for name, ver in sorted(versions.items())
        if name not in ("python", "platform")
    ]
    if sim:
        items.append(("Sim.faults", sim.get("faults") or "none"))
    if s.get("bench_error"):
        items.append(("Bench.error", s.get("bench_error")))
    return [(k, _flatten(v)) for k, v in items if v is not None and v != ""]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _flatten(value: Any) -> str:
    """One line of text for any JSON value, cut to `MAX_VALUE_CHARS`."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, Mapping):
        text = ", ".join(f"{k}={_flatten(v)}" for k, v in value.items())
    elif isinstance(value, Iterable):
        text = ", ".join(_flatten(v) for v in value)
    else:
        text = json.dumps(value) if isinstance(value, int | float) else str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _escape(text: str, *, key: bool = False) -> str:
    """Java properties escaping: backslash escapes, \\uXXXX for anything not printable ASCII."""
    out: list[str] = []
    for i, ch in enumerate(text):
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch in "\t\n\r\f":
            out.append({"\t": "\\t", "\n": "\\n", "\r": "\\r", "\f": "\\f"}[ch])
        elif ch == " " and (key or i == 0):
            out.append("\\ ")
        elif ch in "=:#!" and (key or i == 0):
            out.append("\\" + ch)
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        elif code > 0xFFFF:
            hi, lo = _surrogates(code)
            out.append(f"\\u{hi:04x}\\u{lo:04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out)


def _surrogates(code: int) -> tuple[int, int]:
    code -= 0x10000
    return 0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)

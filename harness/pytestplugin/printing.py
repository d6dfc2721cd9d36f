"""Device text on the terminal: every test report is escaped before pytest prints it.

A failing test's report carries what the device said (error messages, ids, log text,
in assertion messages and Hypothesis notes). pytest would write it to the terminal as
it is, so a device could clear the screen, hide a line or forge one. Registered for
Tally runs only, this plugin escapes every string of a report (traceback lines, crash
message, captured sections, skip reason) with `harness.wire.text.printable`, keeping
line breaks, before any reporter sees it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from harness.wire.text import printable

MAX_DEPTH = 12  # pytest's report objects nest a few levels (chain, traceback, entry, lines)


def _clean(value: Any, seen: set[int], depth: int = 0) -> Any:
    """`value` with its strings escaped; dataclasses (pytest's reprs) are changed in place,
    each once (`seen`): a chain repr refers to its last traceback twice."""
    if isinstance(value, str):
        return printable(value, keep_newlines=True)
    if depth >= MAX_DEPTH:
        return value
    if isinstance(value, list):
        return [_clean(v, seen, depth + 1) for v in value]
    if isinstance(value, tuple):
        return tuple(_clean(v, seen, depth + 1) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type) and id(value) not in seen:
        seen.add(id(value))
        for f in dataclasses.fields(value):
            old = getattr(value, f.name)
            new = _clean(old, seen, depth + 1)
            if new is not old:
                object.__setattr__(value, f.name, new)  # some reprs are frozen
    return value


def clean_report(report: pytest.TestReport) -> None:
    """Escape the device-controlled text of one phase's report, in place (once)."""
    if getattr(report, "_tally_escaped", False):
        return
    report._tally_escaped = True  # type: ignore[attr-defined]
    seen: set[int] = set()
    if report.longrepr is not None:
        report.longrepr = _clean(report.longrepr, seen)
    report.sections = [(printable(t), _clean(c, seen)) for t, c in report.sections]


class DeviceTextGuard:
    """The plugin object (see the module doc)."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        clean_report(report)

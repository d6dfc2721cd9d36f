"""The lab coordinator: the process that merges a lab run's stations at the end.

Registered by the plugin on the pytest-xdist controller of a `--lab` or `--lg-place-tag`
run (which runs no tests itself) or on a single-process one. It waits for nothing: by
the time pytest unconfigures, every worker has sealed its station's run directory.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.lab.summary import LAB_SUMMARY, Pool, lab_summary, write_lab_summary
from harness.wire.text import printable


class LabCoordinator:
    """Prints one line per station and writes `<report-dir>/lab-summary.json`."""

    def __init__(self, lab: Pool, report_dir: Path, dist: str) -> None:
        self.lab = lab
        self.report_dir = report_dir
        self.dist = dist

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        s = lab_summary(self.report_dir, self.lab, self.dist)
        tr = _Escaped(terminalreporter)
        tr.section(f"Tally lab {s['lab']} — {len(s['stations'])} station(s), --dist {self.dist}")
        for name, st in s["stations"].items():
            if not st["used"]:
                tr.write_line(f"{name:16s} (not leased by this run)")
                continue
            if not st["tests"]:
                tr.write_line(f"{name:16s} (leased, but given no tests by --dist {self.dist})")
                continue
            dut = st["dut"]
            tr.write_line(
                f"{name:16s} {st['verdict'] or '?':13s} {st['tests']:4d} tests  DUT "
                f"{dut.get('model')} {dut.get('firmware')} #{dut.get('serial_number')}"
            )
        if s["note"]:
            tr.write_line(f"NOTE   {s['note']}")
        tr.write_line(f"LAB    {s['verdict']}   ({self.report_dir / LAB_SUMMARY})")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        write_lab_summary(self.report_dir, self.lab, self.dist)


class _Escaped:
    """The terminal, with every line escaped: station summaries carry the DUTs' own words."""

    def __init__(self, tr: pytest.TerminalReporter) -> None:
        self._tr = tr

    def section(self, title: str) -> None:
        self._tr.section(printable(title))

    def write_line(self, line: str) -> None:
        self._tr.write_line(printable(line))

"""Command-line options of the Tally plugin."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("tally", "Tally conformance harness")
    g.addoption("--station", default=None, help="station file, or 'sim' for the simulated bench")
    g.addoption(
        "--sim-fault",
        action="append",
        default=[],
        metavar="NAME",
        help="add a simulated firmware fault (repeatable; simulated stations only)",
    )
    g.addoption(
        "--report-dir",
        default=None,
        help="run directory for results and evidence: new or empty (default: a fresh "
        "out/run-<time>-<id>/, named in the header)",
    )
    g.addoption(
        "--lab",
        default=None,
        metavar="FILE|DIR",
        help="lab file or folder of station files: each process (xdist worker) leases one",
    )
    g.addoption("--lease-dir", default=None, help="station lease locks (default: the lab's)")

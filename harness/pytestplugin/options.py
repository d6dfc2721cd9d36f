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
        "--sim-lawyer-seed",
        type=int,
        default=None,
        metavar="N",
        help="a spec-lawyer simulated device: seeded variation of all the protocol leaves open",
    )
    g.addoption("--report-dir", default="out", help="run directory for results and evidence")
    g.addoption(
        "--lab",
        default=None,
        metavar="FILE|DIR",
        help="lab file or folder of station files: each process (xdist worker) leases one",
    )
    g.addoption("--lease-dir", default=None, help="station lease locks (default: the lab's)")

"""Command-line options of the Tally plugin."""

from __future__ import annotations

import importlib.metadata
import os

import pytest

from harness.record.evidence import PLOTS

LABGRID_PLUGIN = "labgrid"


def labgrid_defines_coordinator(pm: pytest.PytestPluginManager) -> bool:
    """Whether labgrid's own pytest plugin (installed with labgrid, loaded by pytest
    unless blocked with `-p no:labgrid`) defines `--lg-coordinator`: it means the same
    there, and defining it twice is an error whichever plugin pytest loads first."""
    if pm.has_plugin(LABGRID_PLUGIN):
        return True
    if pm.is_blocked(LABGRID_PLUGIN) or os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return False
    plugins = importlib.metadata.entry_points(group="pytest11")
    return any(ep.name == LABGRID_PLUGIN for ep in plugins)


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
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
    g.addoption(
        "--search-replay",
        default=None,
        metavar="VERSION:BLOB",
        help="replay one recorded failure of the state machine (its `@reproduce_failure` "
        "blob, as the record and `python -m reports rerun` give it)",
    )
    g.addoption(
        "--plots",
        choices=PLOTS,
        default="all",
        help="pictures: each test's supply current and light, and each capture check's "
        "light trace, for every test (all, the default), only where IND-7 flagged a "
        "stretch or a light measurement is not PASS (flagged: a CI that wants the CPU "
        "back), or none (a CI that reads only the verdicts: each picture is ~0.2 s of "
        "CPU); the current and light are kept as data either way",
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
    g.addoption(
        "--lg-place",
        default=None,
        metavar="NAME",
        help="run on labgrid place NAME (default $LG_PLACE when --station FILE is given): "
        "its resources give the station file's addresses; acquired for the session",
    )
    g.addoption(
        "--lg-place-tag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="run on any labgrid place with this tag (repeatable); each xdist worker "
        "reserves and acquires a place of its own",
    )
    if not labgrid_defines_coordinator(pluginmanager):
        g.addoption(
            "--lg-coordinator",
            default=None,
            metavar="HOST:PORT",
            help="labgrid coordinator (default $LG_COORDINATOR, else 127.0.0.1:20408)",
        )
    g.addoption(
        "--lg-wait",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long to wait for a labgrid place someone else holds (default 60)",
    )

"""Where this pytest process runs and the run it records: placement, lab coordination, seeds.

`pytest_configure` places the process on a station (or a lab pool), starts the
`TallyRun` and fixes the Hypothesis seed before any test runs; the other modules reach
the run through `current_run`.

Listing the tests (`--collect-only`) places nothing and records nothing: the station or
lab file is read (a bad one is still a usage error), but no station, lease or labgrid
place is taken and no run directory is written (a run of no test would be a directory of
NOT_TESTED clauses that looks like a result).

A run directory is always new: a run seals (enters into its manifest) every file in it,
so it must not start among files it did not write. `--report-dir DIR` must name a new or
empty directory (anything else is a one-line usage error); without it, the run writes a
fresh `out/run-<time>-<id>/` and names it in the header (xdist workers get the
controller's choice).
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import pytest

from harness.bench.station import load_station
from harness.errors import ConfigError, LeaseError
from harness.lab.labfile import load_lab
from harness.lab.pool import DEFAULT_COORDINATOR, ControllerHold, Placement, Request, place
from harness.pytestplugin.lab import LabCoordinator
from harness.pytestplugin.printing import DeviceTextGuard
from harness.pytestplugin.seeds import choose_profile_and_seed
from harness.record.evidence import Evidence
from harness.record.run import TallyRun

RUN_KEY = pytest.StashKey[TallyRun]()
EVIDENCE_KEY = pytest.StashKey[Evidence]()  # the test's evidence, set by its fixture
REPORT_DIR_KEY = pytest.StashKey[Path]()
DEFAULT_REPORT_ROOT = Path("out")
_WORKER_REPORT_DIR = "tally_report_dir"  # the controller's choice, in xdist's workerinput


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "clause(*ids): the conformance clauses this test gives evidence for"
    )
    if config.option.collectonly:
        _read_files_only(config)
        return
    try:
        placed = place(_placement_request(config))
    except (ConfigError, LeaseError) as exc:
        raise pytest.UsageError(str(exc)) from None
    if placed is None:
        return
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(_ShareReportDir(report_root(config)), "tally-report-dir")
    if isinstance(placed, ControllerHold):  # holds a labgrid place for its one worker
        config.add_cleanup(placed.hold.release)
        return
    if not isinstance(placed, Placement):  # xdist controller of a pool run: merges only
        coordinator = LabCoordinator(placed, report_root(config), dist_mode(config))
        config.pluginmanager.register(coordinator, "tally-lab")
        return
    station, report_dir = placed.station, placed.report_dir
    if placed.hold is not None:  # released however the session ends (Ctrl-C included)
        config.add_cleanup(placed.hold.release)
    if placed.pool is not None and not hasattr(config, "workerinput"):
        coordinator = LabCoordinator(placed.pool, report_root(config), "no")
        config.pluginmanager.register(coordinator, "tally-lab")
    refuse_used(report_dir)
    config.pluginmanager.register(DeviceTextGuard(), "tally-device-text")
    faults = list(config.getoption("--sim-fault") or [])
    lawyer = config.getoption("--sim-lawyer-seed", default=None)
    if (faults or lawyer is not None) and station.sim is None:
        raise pytest.UsageError(
            f"--sim-fault and --sim-lawyer-seed need a simulated station; {station.source} "
            "is not one"
        )
    knobs = {} if lawyer is None else {"lawyer_seed": lawyer}
    run = TallyRun(station, report_dir, faults, knobs, plots=config.getoption("--plots"))
    if placed.labgrid is not None:
        run.ledger.meta["labgrid"] = placed.labgrid
    config.stash[RUN_KEY] = run
    if getattr(config.option, "allure_report_dir", "unset") is None:
        config.option.allure_report_dir = str(report_dir / "allure-results")
    run.ledger.meta["hypothesis"] = choose_profile_and_seed(config, station)


def _read_files_only(config: pytest.Config) -> None:
    """What listing the tests checks: the station or lab file given reads."""
    station = config.getoption("--station", default=None)
    lab = config.getoption("--lab", default=None)
    try:
        if station is not None:
            load_station(station)
        if lab is not None:
            load_lab(lab)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None


def _placement_request(config: pytest.Config) -> Request:
    worker = getattr(config, "workerinput", {}).get("workerid")
    distributed = worker is None and dist_mode(config) != "no"
    station = config.getoption("--station", default=None)
    tags = tuple(config.getoption("--lg-place-tag", default=None) or ())
    lg_place = config.getoption("--lg-place", default=None)
    if lg_place is None and not tags and station not in (None, "sim"):
        lg_place = os.environ.get("LG_PLACE") or None  # as labgrid's own tools default
    coordinator = config.getoption("--lg-coordinator", default=None)
    return Request(
        station=station,
        lab=config.getoption("--lab", default=None),
        report_dir=report_root(config),
        worker_id=worker,
        workers=len(getattr(config.option, "tx", None) or []) if distributed else 0,
        lease_dir=config.getoption("--lease-dir", default=None),
        lg_place=lg_place,
        lg_tags=tags,
        lg_coordinator=coordinator or os.environ.get("LG_COORDINATOR") or DEFAULT_COORDINATOR,
        lg_wait_s=float(config.getoption("--lg-wait", default=60.0)),
    )


def report_root(config: pytest.Config) -> Path:
    """`--report-dir`, else the xdist controller's choice, else a fresh `out/run-<time>-<id>`."""
    chosen = config.stash.get(REPORT_DIR_KEY, None)
    if chosen is None:
        given = config.getoption("--report-dir", default=None)
        shared = getattr(config, "workerinput", {}).get(_WORKER_REPORT_DIR)
        if given:
            chosen = Path(given)
        elif shared:
            chosen = Path(shared)
        else:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            chosen = DEFAULT_REPORT_ROOT / f"run-{stamp}-{secrets.token_hex(3)}"
        config.stash[REPORT_DIR_KEY] = chosen
    return chosen


def refuse_used(run_dir: Path) -> None:
    """A run never seals files it did not write: its directory must be new or empty."""
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        raise pytest.UsageError(
            f"--report-dir {run_dir}: exists and is not empty; a run seals every file in its "
            "directory, so give a new or empty one (or leave --report-dir out for a fresh one)"
        )


class _ShareReportDir:
    """On the xdist controller: hands the chosen run directory to every worker."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: object) -> None:
        node.workerinput[_WORKER_REPORT_DIR] = str(self.path)  # type: ignore[attr-defined]


def pytest_report_header(config: pytest.Config) -> str | None:
    run = current_run(config)
    return None if run is None else f"tally: run directory {run.rundir.root}"


def dist_mode(config: pytest.Config) -> str:
    """pytest-xdist's distribution mode ("no" without xdist or without -n)."""
    return str(getattr(config.option, "dist", "no") or "no")


def current_run(config: pytest.Config) -> TallyRun | None:
    """The run of this process, or None when pytest runs without `--station`/`--lab`."""
    return config.stash.get(RUN_KEY, None)


def require_run(request: pytest.FixtureRequest) -> TallyRun:
    run = current_run(request.config)
    if run is None:
        raise pytest.UsageError("this test needs a bench: run pytest with --station FILE|sim")
    return run

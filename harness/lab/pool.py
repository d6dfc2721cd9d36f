"""Which station this pytest process runs on, and where its results go.

`--station FILE` names one station. `--lab FILE|DIR` names a pool: every process that
runs tests (the single process, or each pytest-xdist worker) leases one free station
for its whole session and writes to `<report-dir>/<station>/`. The xdist controller
runs no tests: it leases nothing and only merges the stations' summaries at the end.
`--lg-place` / `--lg-place-tag` put the station on labgrid places instead (beyond one
host: `labgrid_pool`). Everything here happens before any device is touched: files are
validated and addresses preflighted, and any problem is a one-line `ConfigError`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from harness.bench.preflight import preflight
from harness.bench.station import Station, load_station
from harness.errors import ConfigError
from harness.lab.labfile import Lab, load_lab
from harness.lab.lease import lease_one, wait_for_free
from harness.lab.summary import Pool


class Held(Protocol):
    """A station held for the session: a flock lease or a labgrid place."""

    def release(self) -> None: ...


@dataclass(frozen=True)
class Placement:
    """This process's station, its run directory, what holds it (lab and labgrid runs),
    the pool whose results a single-process pool run merges, and its labgrid place."""

    station: Station
    report_dir: Path
    hold: Held | None = None
    pool: Pool | None = None
    labgrid: dict[str, Any] | None = None


DEFAULT_COORDINATOR = "127.0.0.1:20408"  # labgrid-client's default


@dataclass(frozen=True)
class ControllerHold:
    """The xdist controller's share of a `--lg-place` run: it holds the place (released at
    the end) while its one worker runs the tests on it; it runs no bench itself."""

    hold: Held


@dataclass(frozen=True)
class Request:
    """What the command line asks for (pytest-independent, so it can be tested alone)."""

    station: str | None
    lab: str | None
    report_dir: Path
    worker_id: str | None = None  # "gw0", ... on a pytest-xdist worker
    workers: int = 0  # xdist workers the controller starts (0: not distributed)
    lease_dir: str | None = None
    lg_place: str | None = None
    lg_tags: tuple[str, ...] = ()
    lg_coordinator: str = DEFAULT_COORDINATOR
    lg_wait_s: float = 60.0


def place(req: Request) -> Placement | ControllerHold | Pool | None:
    """The placement of a test-running process; the pool (`Lab`, labgrid places) on an
    xdist controller; None when neither `--station` nor `--lab` is given (the plugin
    stays out of the way)."""
    if req.station is not None and req.lab is not None:
        raise ConfigError("--station and --lab: give one (a lab is a pool of stations)")
    if req.lg_place is not None or req.lg_tags:
        if req.lab is not None:
            raise ConfigError(
                "--lab and --lg-place/--lg-place-tag: give one (flock leases on one host, "
                "or labgrid places)"
            )
        try:  # labgrid is optional: pip install 'tally-hil[labgrid]'
            from harness.lab.labgrid_pool import place_on_labgrid
        except ImportError as exc:
            raise ConfigError(
                f"--lg-place/--lg-place-tag need labgrid ({exc}): pip install 'tally-hil[labgrid]'"
            ) from None
        return place_on_labgrid(req)
    if req.station is not None:
        station = load_station(req.station)
        preflight(station)
        sub = req.report_dir / f"worker-{req.worker_id}" if req.worker_id else req.report_dir
        return Placement(station, sub)
    if req.lab is None:
        return None
    lab = load_lab(req.lab)
    if req.lease_dir:
        lab = Lab(lab.name, lab.source, lab.stations, Path(req.lease_dir), lab.lease_wait_s)
    if req.worker_id is None and req.workers:
        if req.workers > len(lab.stations):
            raise ConfigError(
                f"{lab.source}: {req.workers} xdist workers but only {len(lab.stations)} "
                "stations: each worker leases a station of its own (use -n "
                f"{len(lab.stations)} or fewer)"
            )
        wait_for_free(
            lab.stations, lab.lease_dir, req.workers, wait_s=lab.lease_wait_s, source=lab.source
        )
        return lab
    index = int(req.worker_id[2:]) if req.worker_id and req.worker_id[2:].isdigit() else 0
    lease = lease_one(
        lab.stations,
        lab.lease_dir,
        wait_s=lab.lease_wait_s,
        start=index,
        holder=f"{req.worker_id or 'main'} pid {os.getpid()} -> {req.report_dir}",
        source=lab.source,
    )
    try:
        preflight(lease.station)
    except BaseException:
        lease.release()
        raise
    return Placement(lease.station, req.report_dir / lease.station.name, lease, lab)

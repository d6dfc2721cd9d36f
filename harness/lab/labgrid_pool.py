"""Which labgrid place this pytest process runs on: acquired, resolved, released.

`--lg-place NAME`: the single process, or the xdist controller, acquires the place (or
uses it when this identity holds it already) and releases it at the end; workers share
the controller's identity and only resolve it. `--lg-place-tag KEY=VALUE`: each process
that runs tests (the single one, or each worker) reserves and acquires a place of its own
whose tags match, the coordinator seeing to it that no two get the same; the controller
only checks there are enough such places and merges their results, as for `--lab`.
Everything here happens before any device is touched, and whatever fails after an
acquire releases it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.bench.preflight import preflight
from harness.bench.station import Station, read_config, station_path
from harness.errors import ConfigError
from harness.lab.labgrid_client import (
    Hold,
    LabgridClient,
    LabgridError,
    parse_tags,
    release,
)
from harness.lab.labgrid_place import PlaceAddresses, check_needs, offered, place_station, resolve
from harness.lab.pool import ControllerHold, Placement, Request


@dataclass(frozen=True)
class PlaceMember:
    """A place of a tagged pool, as the lab summary lists it."""

    name: str
    source: str


@dataclass(frozen=True)
class PlacePool:
    """The places a `--lg-place-tag` run may get (what the lab summary merges)."""

    name: str
    source: str
    stations: tuple[PlaceMember, ...]


@dataclass
class PlaceHold:
    """Releases a place (once) at the end of the session."""

    hold: Hold
    released: bool = field(default=False)

    def release(self) -> None:
        if not self.released:
            self.released = True
            release(self.hold)


def place_on_labgrid(req: Request) -> Placement | ControllerHold | PlacePool:
    if req.station is None:
        raise ConfigError(
            "--lg-place/--lg-place-tag need --station FILE: the jig's calibration "
            "(visible_v, limits) is in its station file, its addresses come from the place"
        )
    if req.lg_place is not None and req.lg_tags:
        raise ConfigError("--lg-place and --lg-place-tag: give one (a place, or tags to pick one)")
    if not req.lg_wait_s >= 0:
        raise ConfigError(f"--lg-wait must be 0 or more seconds, not {req.lg_wait_s:g}")
    path = station_path(req.station)
    text = read_config(path, "station")
    if req.lg_tags:
        return _tagged(req, path, text, parse_tags(req.lg_tags))
    return _named(req, path, text, str(req.lg_place))


def _named(req: Request, path: Path, text: str, name: str) -> Placement | ControllerHold:
    if req.workers > 1:
        raise ConfigError(
            f"--lg-place {name} with {req.workers} xdist workers: one place is one jig with one "
            "DUT; use --lg-place-tag KEY=VALUE to give each worker a place of its own"
        )
    worker = req.worker_id is not None
    with LabgridClient(req.lg_coordinator) as client:
        hold = None
        if not worker:  # a worker shares the controller's identity and place: resolves only
            _refuse_unfit(client, name, path, text)
            hold = client.acquire(name, req.lg_wait_s)
        station, addresses = _station(client, hold, name, path, text, None)
        meta = _meta(client, addresses, hold, acquired_here=bool(hold and hold.acquired_here))
    if hold is not None and req.workers:
        return ControllerHold(PlaceHold(hold))
    return Placement(station, req.report_dir, PlaceHold(hold) if hold else None, labgrid=meta)


def _tagged(req: Request, path: Path, text: str, tags: dict[str, str]) -> Placement | PlacePool:
    wanted = " ".join(f"{k}={v}" for k, v in sorted(tags.items()))
    with LabgridClient(req.lg_coordinator) as client:
        names = sorted(n for n, p in client.places().items() if tags.items() <= p.tags.items())
        if not names:
            raise ConfigError(f"labgrid: no place on {client.address} is tagged {wanted}")
        pool = PlacePool(
            f"labgrid {wanted}", str(path), tuple(PlaceMember(n, str(path)) for n in names)
        )
        if req.worker_id is None and req.workers:  # the controller: checks, runs no bench
            if req.workers > len(names):
                raise ConfigError(
                    f"{req.workers} xdist workers but only {len(names)} labgrid places tagged "
                    f"{wanted} ({', '.join(names)}): each worker acquires a place of its own"
                )
            return pool
        hold = client.acquire_tagged(tags, req.lg_wait_s)
        station, addresses = _station(client, hold, hold.place, path, text, hold.place)
        meta = _meta(client, addresses, hold, acquired_here=True, tags=tags)
    single = req.worker_id is None  # merges its one station's results itself
    return Placement(
        station, req.report_dir / station.name, PlaceHold(hold), pool if single else None, meta
    )


def _refuse_unfit(client: LabgridClient, name: str, path: Path, text: str) -> None:
    """Before acquiring: every match of the place is exported, and it has a resource for
    each address key the station file leaves out."""
    missing = client.unmatched(name)
    if missing:
        raise LabgridError(f"labgrid place {name!r}: nothing exported for {', '.join(missing)}")
    check_needs(path, text, offered(client, name))


def _station(
    client: LabgridClient,
    hold: Hold | None,
    name: str,
    path: Path,
    text: str,
    rename: str | None,
) -> tuple[Station, PlaceAddresses]:
    """The station on the held place, preflighted; a failure releases what was acquired."""
    try:
        addresses = resolve(client, name)
        station = place_station(path, text, addresses, name=rename)
        preflight(station)
    except BaseException:
        if hold is not None:
            client.release(hold)
        raise
    return station, addresses


def _meta(
    client: LabgridClient,
    addresses: PlaceAddresses,
    hold: Hold | None,
    *,
    acquired_here: bool,
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What the run records about the place (summary.json `labgrid`)."""
    return {
        "coordinator": client.address,
        "place": addresses.place,
        "identity": client.identity,
        "acquired_by_this_process": acquired_here,
        "reservation": hold.token if hold else None,
        "tags": tags or {},
        "resources": addresses.resources,
    }

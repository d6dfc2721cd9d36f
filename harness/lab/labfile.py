"""Lab files: a pool of stations one run can spread its tests over.

A lab is a TOML file listing station files (paths relative to the lab file), or simply
a folder of station files. It is validated like a station file, before any device is
touched, and every error names the file, the key and the problem in one line. A
station's `name` is its identity in the lab: leases, report folders and results are
keyed by it, so two stations of one lab may not share a name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from harness.bench.station import Station, load_station, read_config, validate_toml
from harness.errors import ConfigError

DEFAULT_LEASE_DIR = Path("/tmp/tally-leases")
DEFAULT_LEASE_WAIT_S = 60.0


class LabInfo(BaseModel):
    """The `[lab]` table."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
    description: str = ""
    stations: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    lease_dir: Annotated[str, Field(min_length=1)] | None = None
    lease_wait_s: Annotated[float, Field(ge=0, le=3600)] = DEFAULT_LEASE_WAIT_S


class LabFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    lab: LabInfo


@dataclass(frozen=True)
class Lab:
    """A validated pool of stations."""

    name: str
    source: str
    stations: tuple[Station, ...]
    lease_dir: Path
    lease_wait_s: float
    description: str = ""

    def station(self, name: str) -> Station:
        return next(s for s in self.stations if s.name == name)


def load_lab(spec: str | Path) -> Lab:
    """Load a lab file, or every `*.toml` station file in a folder."""
    path = Path(spec)
    if path.is_dir():
        return _lab_from_folder(path)
    return parse_lab(read_config(path, "lab"), path)


def parse_lab(text: str, path: Path) -> Lab:
    """Validate lab TOML read from `path` (station paths are relative to its folder)."""
    source = str(path)
    info = validate_toml(text, source, LabFile).lab
    stations: list[Station] = []
    for i, rel in enumerate(info.stations):
        file = path.parent / rel
        if not file.is_file():
            raise ConfigError(f"{source}: key lab.stations.{i}: station file not found: {file}")
        stations.append(load_station(file))
    _check_unique(stations, lambda i: f"{source}: key lab.stations.{i}")
    lease_dir = Path(info.lease_dir) if info.lease_dir else DEFAULT_LEASE_DIR
    return Lab(info.name, source, tuple(stations), lease_dir, info.lease_wait_s, info.description)


def _lab_from_folder(folder: Path) -> Lab:
    files = sorted(p for p in folder.glob("*.toml") if p.is_file())
    if not files:
        raise ConfigError(f"{folder}: a lab folder needs station files (*.toml); found none")
    stations = [load_station(f) for f in files]
    _check_unique(stations, lambda i: f"{files[i]}: key station.name")
    name = folder.resolve().name or "lab"
    return Lab(name, str(folder), tuple(stations), DEFAULT_LEASE_DIR, DEFAULT_LEASE_WAIT_S)


def _check_unique(stations: list[Station], where: Callable[[int], str]) -> None:
    seen: dict[str, Station] = {}
    for i, st in enumerate(stations):
        other = seen.get(st.name)
        if other is not None:
            raise ConfigError(
                f"{where(i)}: station name {st.name!r} is already used by {other.source} "
                "(a lab leases and reports stations by name)"
            )
        seen[st.name] = st

"""A station from a labgrid place: the place gives the addresses, the station file the rest.

A place's resources name where a jig's parts are reachable now: the DUT's serial port
(`NetworkSerialPort`, an `rfc2217://` URL to the ser2net its exporter starts on acquire)
and the instruments (`PyVISADevice` named `photodiode`, `supply`, `shutter`). They fill
the station file's address keys, which the file then leaves out; calibration
(`visible_v`, limits, supply settings) stays in the file: it belongs to the jig, not to
the network. A key the file leaves out and the place does not give is refused before
anything is acquired or touched, naming the resource.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.bench.station import Station, parse_station, read_toml
from harness.errors import ConfigError
from harness.lab.labgrid_client import LabgridClient, LabgridError

RESOLVE_TIMEOUT_S = 10.0
SERIAL_NAME = "dut"  # which NetworkSerialPort, when a place has several
# Station table -> (its address key, the place's resource that gives it). `None`: the
# place's serial port.
ADDRESS_KEYS: dict[str, tuple[str, str | None]] = {
    "dut": ("port", None),
    "photodiode": ("resource", "photodiode"),
    "power": ("resource", "supply"),
    "shutter": ("resource", "shutter"),
}
ALWAYS = ("dut", "photodiode")  # a station has these tables; power and shutter are optional


@dataclass
class PlaceAddresses:
    """What a place gives: its serial port's URL and its VISA instruments' resources."""

    place: str
    serial: str | None = None
    visa: dict[str, str] = field(default_factory=dict)  # resource name -> VISA resource
    resources: dict[str, str] = field(default_factory=dict)  # name -> "exporter/group/cls/name"

    def has(self, resource: str | None) -> bool:
        return self.serial is not None if resource is None else resource in self.visa

    def supplied(self) -> dict[str, dict[str, Any]]:
        """The station keys these addresses fill (tables the station model has)."""
        out: dict[str, dict[str, Any]] = {}
        for table, (key, resource) in ADDRESS_KEYS.items():
            if table in Station.model_fields and self.has(resource):
                out[table] = {key: self.serial if resource is None else self.visa[resource]}
        return out


def describe(resource: str | None) -> str:
    if resource is None:
        return "serial port (NetworkSerialPort)"
    return f"PyVISADevice named {resource!r}"


def visa_resource(params: Mapping[str, Any]) -> str:
    """A `PyVISADevice`'s VISA resource string. labgrid's own driver appends `::INSTR`,
    which cannot name a raw socket; a `url` that ends in a resource class keeps it."""
    typ, url = str(params["type"]), str(params["url"])
    if url.rsplit("::", 1)[-1].upper() in ("INSTR", "SOCKET"):
        return f"{typ}::{url}"
    return f"{typ}::{url}::INSTR"


def serial_url(params: Mapping[str, Any]) -> str:
    """pyserial's URL of an exported serial port: RFC 2217 (ser2net on the exporter) with
    `ign_set_control`, which ser2net does not answer for a local port; raw TCP as socket://."""
    if params.get("protocol") == "raw":
        return f"socket://{params['host']}:{params['port']}"
    return f"rfc2217://{params['host']}:{params['port']}?ign_set_control"


def _collect(
    name: str, entries: list[tuple[tuple[str, str, str, str], Any, Any]], *, need_ports: bool
) -> tuple[PlaceAddresses, list[str]]:
    """Addresses from (path, resource entry, match) triples; and serial ports not yet up."""
    out = PlaceAddresses(name)
    serials: dict[str, str] = {}
    pending: list[str] = []
    for path, entry, match in entries:
        rname = (match.rename if match is not None and match.rename else None) or path[3]
        params = {k: v for k, v in entry.params.items() if k != "extra"}
        out.resources[rname] = "/".join(path)
        if entry.cls == "NetworkSerialPort":
            if need_ports and (not params.get("port") or not entry.avail):
                pending.append(rname)  # ser2net starts on acquire; its port comes after
                continue
            serials[rname] = serial_url(params) if need_ports else "(on acquire)"
        elif entry.cls == "PyVISADevice":
            out.visa[rname] = visa_resource(params)
    if len(serials) == 1:
        out.serial = next(iter(serials.values()))
    elif serials:
        if SERIAL_NAME not in serials:
            raise LabgridError(
                f"labgrid place {name!r} has serial ports {', '.join(sorted(serials))}; "
                f"name the DUT's {SERIAL_NAME!r}"
            )
        out.serial = serials[SERIAL_NAME]
    return out, pending


def offered(client: LabgridClient, name: str) -> PlaceAddresses:
    """What place `name` would give once acquired (serial ports have no address yet)."""
    place = client.place(name)
    entries = [(p, e, place.getmatch(p)) for p, e in client.exported() if place.hasmatch(p)]
    return _collect(name, entries, need_ports=False)[0]


def resolve(
    client: LabgridClient, name: str, timeout_s: float = RESOLVE_TIMEOUT_S
) -> PlaceAddresses:
    """The addresses of place `name`, which this identity holds. A serial port's address
    appears once its exporter has started ser2net: waited for, bounded."""
    deadline = time.monotonic() + timeout_s
    while True:
        place = client.place(name)
        if place.acquired != client.identity and client.identity not in place.allowed:
            raise LabgridError(f"labgrid place {name!r} is not held by {client.identity}")
        entries = []
        for path in place.acquired_resources:
            entry = client.resource(path)
            if entry is None or not entry.data.get("cls"):
                raise LabgridError(
                    f"labgrid place {name!r}: resource {'/'.join(path)} is gone (exporter down?)"
                )
            entries.append((tuple(path), entry, place.getmatch(path)))
        out, pending = _collect(name, entries, need_ports=True)
        if not pending:
            return out
        if time.monotonic() >= deadline:
            raise LabgridError(
                f"labgrid place {name!r}: serial port {', '.join(pending)} has no network "
                f"address after {timeout_s:g} s (did its exporter start ser2net?)"
            )
        time.sleep(0.1)


def check_needs(path: Path, text: str, addresses: PlaceAddresses) -> None:
    """Refuse a place that lacks a resource for an address key the station file leaves out."""
    data = read_toml(text, str(path))
    if data.get("sim") is not None:
        raise ConfigError(
            f"{path}: a simulated station ([sim]) starts its own bench; a labgrid place is a "
            "real jig: give a station file without [sim]"
        )
    missing = []
    for table, (key, resource) in ADDRESS_KEYS.items():
        given = data.get(table)
        if table not in Station.model_fields:
            continue  # a table this harness does not know: validation names it
        if table not in ALWAYS and given is None:
            continue  # an optional table the file leaves out: taken if the place has it
        if isinstance(given, dict) and key in given:
            continue  # the file gives it (and a place's value must then be the same)
        if not addresses.has(resource):
            missing.append(f"{describe(resource)} (for [{table}] {key})")
    if missing:
        raise ConfigError(
            f"labgrid place {addresses.place!r} has no {'; no '.join(missing)}, and the "
            f"station file {path} leaves it out"
        )


def place_station(
    path: Path, text: str, addresses: PlaceAddresses, *, name: str | None = None
) -> Station:
    """The station file `text` (read from `path`) with the place's addresses filled in;
    `name` (a place's) replaces its station name when one file serves several places."""
    check_needs(path, text, addresses)
    supplier = f"labgrid place {addresses.place!r}"
    station = parse_station(text, str(path), addresses.supplied(), supplier)
    return station if name is None else station.renamed(name, f"{supplier}'s name")

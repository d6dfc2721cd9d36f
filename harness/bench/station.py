"""Station files: what a bench physically is, validated before any device is touched.

A station (TOML) names the DUT's serial port, the photodiode instrument and its
visibility threshold, an optional bench supply, and the lab's limit overrides. It is a
description of hardware, never code: drivers live elsewhere. Every error names the
file, the key and what is wrong, in one line.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from fixtures import fixture_path
from harness.errors import ConfigError
from harness.judge.clauses import DEFAULT_ALLOWANCES, DEFAULT_LIMITS
from harness.wire.artifact_read import DEFAULT_MAX_ARTIFACT_BYTES
from harness.wire.client import DEFAULT_BOOT_TIMEOUT_S, DEFAULT_RESPONSE_TIMEOUT_S

SIM_PLACEHOLDER = "sim"

M = TypeVar("M", bound=BaseModel)

PositiveFloat = Annotated[float, Field(gt=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, str_strip_whitespace=True)


class StationInfo(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
    description: str = ""
    location: str = ""


class DutConfig(_Strict):
    """The device under test's serial link: any pyserial URL or device path."""

    port: Annotated[str, Field(min_length=1)]
    baudrate: Annotated[int, Field(gt=0, le=20_000_000)] = 115200
    response_timeout_s: Annotated[float, Field(ge=0.1, le=60)] = DEFAULT_RESPONSE_TIMEOUT_S
    boot_timeout_s: Annotated[float, Field(ge=1, le=120)] = DEFAULT_BOOT_TIMEOUT_S
    # The largest stored file read back with `artifact.read` (the file is held in memory).
    max_artifact_bytes: Annotated[int, Field(ge=4096, le=1 << 30)] = DEFAULT_MAX_ARTIFACT_BYTES

    @field_validator("port")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        if "://" in v:
            scheme = v.split("://", 1)[0]
            known = {"rfc2217", "socket", "loop", "hwgrep", "spy", "alt", "cp2110"}
            if scheme not in known:
                raise ValueError(f"unknown pyserial URL scheme {scheme!r} (known: {sorted(known)})")
        return v


class PhotodiodeConfig(_Strict):
    """The instrument reading the photodiode on the DUT's recording indicator."""

    resource: Annotated[str, Field(min_length=1)]
    visible_v: PositiveFloat
    backend: str = "@py"
    sample_interval_s: Annotated[float, Field(ge=1e-6, le=0.01)] = 0.0002
    range_v: PositiveFloat = 10.0
    reading_u_v: Annotated[float, Field(ge=0)] = 0.0  # expanded (k=2), from its certificate
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    byte_order: Literal["NORM", "SWAP"] = "NORM"
    data_format: Literal["REAL,32", "REAL,64"] = "REAL,32"
    max_dark_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.5
    max_capture_s: Annotated[float, Field(gt=0, le=3600)] = 300.0


class PowerConfig(_Strict):
    """An optional programmable supply feeding the DUT (power-scpi.md)."""

    resource: Annotated[str, Field(min_length=1)]
    backend: str = "@py"
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    volts: Annotated[float, Field(gt=0, le=60)] = 5.0
    current_limit_a: Annotated[float, Field(gt=0, le=20)] = 1.0
    off_s: Annotated[float, Field(ge=0.05, le=60)] = 1.0  # a power cut: until the rails drop
    # Current polled for the whole run (power-scpi.md: 20 Hz or faster). 50 Hz by default:
    # IND-7 bounds a dark stretch by the unpowered readings either side, and at 20 Hz a
    # sensor legally powered < 20 ms before its LED could no longer be bounded under 100 ms.
    # It is ~3 s of CPU per two-minute run (host and simulated supply), the largest share.
    poll_s: Annotated[float, Field(ge=0.002, le=0.05)] = 0.02
    # The supply's own averaging window behind each MEAS:CURR? answer ("a few ms").
    averaging_s: Annotated[float, Field(ge=0, le=0.1)] = 0.005
    # What the DUT's sensors draw when powered, as its maker or a reference unit states it
    # (optional): a capture adding far less found its sensor already powered while idle.
    camera_a: Annotated[float, Field(gt=0, le=20)] | None = None
    microphone_a: Annotated[float, Field(gt=0, le=20)] | None = None


class ShutterConfig(_Strict):
    """An optional shutter over the recording indicator (shutter-scpi.md)."""

    resource: Annotated[str, Field(min_length=1)]
    backend: str = "@py"
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    channel: Annotated[int, Field(ge=1, le=99_999)] = 101
    settle_ms: Annotated[float, Field(ge=0, le=10_000)] = 50.0


# The profile's yes/no allowances (clauses.md), one optional key each, named once in the
# clause catalogue; a run that sets one away from its default names it as a deviation.
ProfileConfig = create_model(
    "ProfileConfig",
    __base__=_Strict,
    **{name: (bool | None, None) for name in DEFAULT_ALLOWANCES},
)


# A lab's overrides of the profile's default limits (clauses.md): one optional key per
# limit of the clause catalogue, so a limit is named in one place only. A lead may be
# negative (a lab may allow the indicator to follow the first frame); the others not.
LimitOverrides = create_model(
    "LimitOverrides",
    __base__=_Strict,
    **{
        name: ((float if name == "lead_ms" else PositiveFloat) | None, None)
        for name in DEFAULT_LIMITS
    },
)


# The property search's settings profiles (registered in harness.pytestplugin).
SearchProfile = Literal["sim", "lab", "certification"]
SEARCH_PROFILES: tuple[str, ...] = get_args(SearchProfile)


class HypothesisConfig(_Strict):
    profile: SearchProfile | None = None
    seed: int | None = None
    # the profile's long recording (seconds), for a lab that wants longer or shorter
    long_recording_s: Annotated[float, Field(ge=0.5, le=600)] | None = None
    # how long shrinking a failure may hold the jig (seconds), where the profile's is wrong
    # for this lab: longer where a short sequence matters more than the jig's time
    shrink_budget_s: Annotated[float, Field(ge=1, le=3600)] | None = None


class SimConfig(_Strict):
    """Present only on a simulated station: the harness starts the simulated bench."""

    faults: list[str] = []
    knobs: dict[str, float | int | bool | str] = {}
    seed: int = 1
    # A seeded spec-lawyer device: varies everything the protocol leaves open (None: kind).
    lawyer_seed: Annotated[int, Field(ge=0)] | None = None


class Station(_Strict):
    """A whole station file."""

    station: StationInfo
    dut: DutConfig
    photodiode: PhotodiodeConfig
    power: PowerConfig | None = None
    shutter: ShutterConfig | None = None
    limits: LimitOverrides = LimitOverrides()
    profile: ProfileConfig = ProfileConfig()
    hypothesis: HypothesisConfig = HypothesisConfig()
    sim: SimConfig | None = None
    source: str = Field(default="", exclude=True)

    @property
    def name(self) -> str:
        return self.station.name

    @property
    def simulated(self) -> bool:
        return self.sim is not None

    def renamed(self, name: str, what: str) -> Station:
        """The same station under another name (`what` the name is, for the error)."""
        try:
            info = StationInfo.model_validate({**self.station.model_dump(), "name": name})
        except ValidationError:
            raise ConfigError(
                f"{what} {name!r} cannot name a station: letters, digits, - _ . (at most 64)"
            ) from None
        return self.model_copy(update={"station": info})

    def with_ports(
        self, dut_port: str, photodiode: str, power: str | None, shutter: str | None = None
    ) -> Station:
        """The same station with real addresses filled in (the simulator's, once it listens)."""
        data = self.model_dump()
        data["dut"]["port"] = dut_port
        data["photodiode"]["resource"] = photodiode
        if power is not None:
            data["power"] = {**(data.get("power") or {}), "resource": power}
        if shutter is not None:
            data["shutter"] = {**(data.get("shutter") or {}), "resource": shutter}
        return Station.model_validate({**data, "source": self.source})


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def validation_problems(exc: ValidationError, source: str) -> list[str]:
    """Each pydantic error as "<file>: key <dotted.key>: <problem>"."""
    problems = []
    for err in exc.errors():
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "missing required key"
        problems.append(f"{source}: key {_where(err['loc'])}: {msg}")
    return problems


def read_toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None


def validate_toml(
    text: str,
    where: str,
    model: type[M],
    supplied: Mapping[str, Mapping[str, Any]] | None = None,
    supplier: str = "",
    **extra: Any,
) -> M:
    """TOML text validated as `model` (plus `extra` keys); a `ConfigError` naming file, key
    and problem otherwise. The one reader of station and lab files.

    `supplied` fills keys the file leaves out (`{"dut": {"port": ...}}`, from `supplier`, a
    labgrid place); a file that gives such a key another value is an error, not overridden.
    """
    data = read_toml(text, where)
    for table, keys in (supplied or {}).items():
        given = data.setdefault(table, {})
        if not isinstance(given, dict):
            continue  # not a table: validation names it
        for key, value in keys.items():
            if key in given and given[key] != value:
                raise ConfigError(
                    f"{where}: key {table}.{key}: {given[key]!r} here, but {supplier} "
                    f"gives {value!r}: leave the key out of the station file"
                )
            given[key] = value
    try:
        return model.model_validate({**data, **extra})
    except ValidationError as exc:
        raise ConfigError("; ".join(validation_problems(exc, where))) from None


def parse_station(
    text: str,
    source: str = "<string>",
    supplied: Mapping[str, Mapping[str, Any]] | None = None,
    supplier: str = "",
) -> Station:
    """Parse and validate station TOML; raise `ConfigError` naming file, key and problem.
    `supplied`: address keys given by `supplier`, a labgrid place (see `validate_toml`)."""
    station = validate_toml(text, source, Station, supplied, supplier, source=source)
    if station.sim is None:
        for key, value in (
            ("dut.port", station.dut.port),
            ("photodiode.resource", station.photodiode.resource),
        ):
            if value == SIM_PLACEHOLDER:
                raise ConfigError(f"{source}: key {key}: '{SIM_PLACEHOLDER}' needs a [sim] table")
    return station


def station_path(spec: str | Path) -> Path:
    """The file `spec` names: a path, or `sim` for the bundled simulated station."""
    return Path(fixture_path("sim.toml")) if str(spec) == "sim" else Path(spec)


def load_station(spec: str | Path) -> Station:
    """Load `spec`: a path to a station file, or `sim` for the bundled simulated station."""
    path = station_path(spec)
    return parse_station(read_config(path, "station"), str(path))


def read_config(path: Path, what: str) -> str:
    """The text of a station or lab file, or a `ConfigError` naming it and the problem."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read {what} file: {exc}") from None

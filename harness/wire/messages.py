"""Typed views of what the device says, validated: the device is untrusted.

Every field is checked for type and bounded in size; a result that lacks or garbles a
field the protocol names is the device breaking the protocol (`ResponseBreach`), which
fails the clauses the command serves. Integers are bounded to 0..2^63-1 (`MAX_INT`): a
larger one in a response is such a breach, in an event a `ProtocolError`, never an
`OverflowError` deep in the clock sync or a numpy array. Events keep only the spec's
fields, as bounded scalars (`event_fields`), so what the host holds per event is small
whatever the device sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from harness.errors import ProtocolError, ResponseBreach

MAX_TEXT = 256
MAX_LIST = 10_000
MAX_INT = 2**63 - 1  # every integer the device sends lies in 0..MAX_INT

# The fields each event of the spec carries (bench-protocol.md, "Events"); nothing else is kept.
_CAPTURE = ("session", "artifact")
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "boot": ("reason",),
    "capture.begin": ("kind", "source", *_CAPTURE),
    "capture.frame": (*_CAPTURE, "seq"),
    "capture.end": (*_CAPTURE, "reason", "last_frame_us"),
    "indicator": ("state",),
    "consent": ("scope", "granted"),
    "log": ("level", "message"),
}
MAX_EVENT_NAME = 64


def text(d: dict[str, Any], key: str, where: str, *, optional: bool = False) -> str:
    v = d.get(key)
    if v is None and optional:
        return ""
    if not isinstance(v, str):
        raise ResponseBreach(where, f"field {key!r} should be a string, got {_kind(v)}")
    return v[:MAX_TEXT]


def integer(d: dict[str, Any], key: str, where: str, *, optional: bool = False) -> int | None:
    v = d.get(key)
    if v is None and optional:
        return None
    if not isinstance(v, int) or isinstance(v, bool):
        raise ResponseBreach(where, f"field {key!r} should be an integer, got {_kind(v)}")
    if not 0 <= v <= MAX_INT:
        raise ResponseBreach(where, f"field {key!r} is out of the range 0..2^63-1")
    return v


def bounded_int(v: int, what: str) -> int:
    """`v` if it lies in 0..2^63-1; else the device broke the protocol."""
    if 0 <= v <= MAX_INT:
        return v
    digits = len(str(abs(v))) if abs(v) < 10**1000 else "over 1000"
    raise ProtocolError(
        f"{what} is {'negative' if v < 0 else f'an integer of {digits} digits'}: "
        "out of the range 0..2^63-1"
    )


def event_fields(name: str, msg: dict[str, Any]) -> dict[str, str | int | bool]:
    """The spec's fields of event `name` in `msg`, each a bounded scalar.

    Strings are cut to `MAX_TEXT`; a field of another shape (a list, an object, null) is
    left out, as if absent; an integer outside 0..2^63-1 raises `ProtocolError`. Fields
    the spec does not name for the event (and every field of an unknown event) are dropped.
    """
    out: dict[str, str | int | bool] = {}
    for key in EVENT_FIELDS.get(name, ()):
        v = msg.get(key)
        if isinstance(v, bool):
            out[key] = v
        elif isinstance(v, int):
            out[key] = bounded_int(v, f"event {name!r}: field {key!r}")
        elif isinstance(v, str):
            out[key] = v[:MAX_TEXT]
    return out


def event_size(name: str, fields: dict[str, str | int | bool]) -> int:
    """About the bytes an event holds in memory (for the client's byte bound)."""
    return 200 + len(name) + sum(len(k) + (len(v) if isinstance(v, str) else 8)
                                 for k, v in fields.items())  # fmt: skip


def str_list(d: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    v = d.get(key)
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ResponseBreach(where, f"field {key!r} should be a list of strings")
    if len(v) > MAX_LIST:
        raise ResponseBreach(where, f"field {key!r} has {len(v)} entries (max {MAX_LIST})")
    return tuple(x[:MAX_TEXT] for x in v)


def _kind(v: object) -> str:
    return "nothing" if v is None else type(v).__name__


@dataclass(frozen=True)
class Hello:
    protocol: str
    vendor: str
    model: str
    firmware: str
    serial_number: str
    capture: tuple[str, ...]
    indicator_selftest: bool
    tamper_detect: bool

    @classmethod
    def parse(cls, r: dict[str, Any]) -> Hello:
        w = "hello"
        caps = r.get("capabilities")
        if not isinstance(caps, dict):
            raise ResponseBreach("hello", "field 'capabilities' should be an object")
        return cls(
            protocol=text(r, "protocol", w),
            vendor=text(r, "vendor", w),
            model=text(r, "model", w),
            firmware=text(r, "firmware", w),
            serial_number=text(r, "serial_number", w),
            capture=str_list(caps, "capture", "hello.capabilities"),
            indicator_selftest=bool(caps.get("indicator_selftest") is True),
            tamper_detect=bool(caps.get("tamper_detect") is True),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "vendor": self.vendor,
            "model": self.model,
            "firmware": self.firmware,
            "serial_number": self.serial_number,
            "capabilities": {
                "capture": list(self.capture),
                "indicator_selftest": self.indicator_selftest,
                "tamper_detect": self.tamper_detect,
            },
        }


@dataclass(frozen=True)
class Recording:
    kind: str
    session: str
    since_us: int


@dataclass(frozen=True)
class DeviceState:
    recording: Recording | None
    indicator: str
    consent: dict[str, bool]
    artifacts: int

    @classmethod
    def parse(cls, r: dict[str, Any]) -> DeviceState:
        w = "state"
        rec = r.get("recording")
        recording = None
        if rec is not None:
            if not isinstance(rec, dict):
                raise ResponseBreach("state", "field 'recording' should be null or an object")
            recording = Recording(
                kind=text(rec, "kind", "state.recording"),
                session=text(rec, "session", "state.recording"),
                since_us=integer(rec, "since_us", "state.recording") or 0,
            )
        consent = r.get("consent")
        if not isinstance(consent, dict) or not all(isinstance(v, bool) for v in consent.values()):
            raise ResponseBreach("state", "field 'consent' should map scopes to booleans")
        indicator = text(r, "indicator", w)
        if indicator not in ("on", "off"):
            raise ResponseBreach(
                "state", f"field 'indicator' should be 'on' or 'off', got {indicator!r}"
            )
        return cls(
            recording=recording,
            indicator=indicator,
            consent={str(k)[:16]: v for k, v in list(consent.items())[:8]},
            artifacts=integer(r, "artifacts", w) or 0,
        )


@dataclass(frozen=True)
class ArtifactInfo:
    artifact: str
    kind: str
    source: str
    first_frame_us: int | None
    last_frame_us: int | None
    frames: int | None
    tracks: tuple[str, ...]
    fields: tuple[str, ...]
    bytes: int | None

    @classmethod
    def parse(cls, r: dict[str, Any]) -> ArtifactInfo:
        w = "artifact.info"
        return cls(
            artifact=text(r, "artifact", w),
            kind=text(r, "kind", w),
            source=text(r, "source", w),
            first_frame_us=integer(r, "first_frame_us", w, optional=True),
            last_frame_us=integer(r, "last_frame_us", w, optional=True),
            frames=integer(r, "frames", w, optional=True),
            tracks=str_list(r, "tracks", w),
            fields=str_list(r, "fields", w),
            bytes=integer(r, "bytes", w, optional=True),
        )


@dataclass(frozen=True)
class Event:
    """An unsolicited device event with its device time and the host time it arrived."""

    name: str
    t_us: int
    host_t: float
    epoch: int  # power session: increments at every `boot`
    fields: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    @property
    def subject(self) -> str | None:
        """The capture this event is about: its session or its artifact."""
        v = self.fields.get("session", self.fields.get("artifact"))
        return v[:MAX_TEXT] if isinstance(v, str) else None


class Reply(NamedTuple):
    """A response's result with the host times around the request (a named tuple: one is
    built for every request, and a tuple is built faster than a frozen dataclass)."""

    cmd: str
    result: dict[str, Any]
    sent: float
    received: float

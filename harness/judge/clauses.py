"""The clause catalogue of profile `caict-2026` (../shared/spec/clauses.md) and its limits.

The catalogue is data: ids, principles, statements and the limit each clause is
judged against. A lab overrides limits in its station file; the record carries the
values actually used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

PROFILE = "caict-2026"
PRINCIPLES = {
    "indicator": "Visible recording indicator whenever a camera or microphone captures",
    "consent": "Explicit consent before any capture",
    "minimum": "Minimum data collection",
}


@dataclass(frozen=True)
class Clause:
    id: str
    principle: str
    statement: str
    observation: str
    limit: str  # how the limit reads, with the profile's parameter names


CLAUSES: tuple[Clause, ...] = (
    Clause("IND-1", "indicator", "The indicator is lit throughout every capture interval.",
           "photodiode vs capture intervals; the reported span vs the stored file's",
           "no unlit instant; spans agree within one frame interval"),
    Clause("IND-2", "indicator", "The indicator is lit before the first frame of every capture.",
           "photodiode rising edge vs capture.frame seq 0", "lead >= lead_ms"),
    Clause("IND-3", "indicator",
           "The indicator is steady while a capture runs: no dark gap a person could notice.",
           "raw samples, dark gaps inside capture intervals", "every gap <= max_gap_ms"),
    Clause("IND-4", "indicator", "The indicator is bright enough to be seen.",
           "windowed mean reading over each capture interval", ">= visible_v of the station"),
    Clause("IND-5", "indicator", "A photo gives a bystander time to notice.",
           "lit time from exposure on", ">= photo_notice_ms"),
    Clause("IND-6", "indicator", "The device's own account of its indicator is true.",
           "indicator events and state vs photodiode",
           "never claims on while unlit for more than self_report_ms"),
    Clause("IND-7", "indicator", "No camera or microphone is powered while the indicator is dark.",
           "supply current vs photodiode, over the whole run (every test, idle stretches "
           "included)",
           "no stretch longer than covert_ms with the current above idle + half the smallest "
           "sensor current, while unlit"),
    Clause("IND-8", "indicator",
           "A covered indicator stops capture (devices declaring tamper_detect).",
           "bench shutter: captures asked while covered; covering during a recording",
           "every capture refused with INDICATOR_FAULT, nothing stored; a running capture's "
           "last frame <= tamper_ms after covering"),
    Clause("CON-1", "consent",
           "Without consent for its scope, a capture is refused with CONSENT_REQUIRED, "
           "starts no capture and stores nothing.",
           "response, events, artifact.list before and after", "none allowed"),
    Clause("CON-2", "consent", "Consent for one scope never enables another.",
           "capture attempts under each partial grant", "none allowed"),
    Clause("CON-3", "consent", "Revoking consent ends a running capture of that scope promptly.",
           "last_frame_us vs the revoke request", "<= revoke_ms"),
    Clause("CON-4", "consent", "Consent does not survive a reboot or a factory reset.",
           "state and capture attempts after boot", "none allowed"),
    Clause("MIN-1", "minimum", "An artifact stores only the metadata fields asked for.",
           "the stored file's metadata (artifact.read) and artifact.info fields vs request "
           "metadata", "subset"),
    Clause("MIN-2", "minimum",
           "An artifact carries only the tracks of its kind; a video carries audio only under "
           "audio consent.", "the stored file's tracks (and artifact.info tracks)",
           "photo: image; audio: audio; video: video (+audio with audio consent)"),
    Clause("MIN-3", "minimum", "Nothing is kept from before the capture was asked for.",
           "first_frame_us vs the request time on the device clock; the stored span vs the "
           "time from the request to the response that ended the capture",
           "first frame >= request; stored span <= that time"),
    Clause("MIN-4", "minimum",
           "Deleted data stays deleted, also after a reboot; a factory reset erases every "
           "artifact.", "artifact.list / artifact.info / artifact.read after delete, reboot, "
           "reset", "none left"),
)  # fmt: skip

CLAUSE_BY_ID = MappingProxyType({c.id: c for c in CLAUSES})

DEFAULT_LIMITS: MappingProxyType[str, float] = MappingProxyType(
    {
        "lit_window_ms": 10.0,
        "lead_ms": 0.0,
        "max_gap_ms": 12.5,
        "photo_notice_ms": 500.0,
        "self_report_ms": 50.0,
        "revoke_ms": 1000.0,
        "covert_ms": 100.0,
        "tamper_ms": 1000.0,
    }
)

# The profile's yes/no departures a lab may choose (clauses.md): each defaults to the
# strict reading, and a run that sets one names it as a deviation in its report.
DEFAULT_ALLOWANCES: MappingProxyType[str, bool] = MappingProxyType(
    {
        # wake-word listening: IND-7 then judges the camera alone
        "mic_listening_allowed": False,
    }
)


@dataclass(frozen=True)
class Limits:
    """The limits in force for a run: the defaults with the lab's overrides applied."""

    name: str = PROFILE
    values: MappingProxyType[str, float] = field(default_factory=lambda: DEFAULT_LIMITS)
    overridden: tuple[str, ...] = field(default=())
    allowances: MappingProxyType[str, bool] = field(default_factory=lambda: DEFAULT_ALLOWANCES)

    @classmethod
    def with_overrides(
        cls, overrides: dict[str, Any], allowances: dict[str, Any] | None = None
    ) -> Limits:
        given = {k: float(v) for k, v in overrides.items() if v is not None}
        unknown = set(given) - set(DEFAULT_LIMITS)
        if unknown:
            raise KeyError(f"unknown limit(s): {sorted(unknown)}")
        allowed = {k: bool(v) for k, v in (allowances or {}).items() if v is not None}
        unknown = set(allowed) - set(DEFAULT_ALLOWANCES)
        if unknown:
            raise KeyError(f"unknown profile allowance(s): {sorted(unknown)}")
        return cls(
            PROFILE,
            MappingProxyType({**DEFAULT_LIMITS, **given}),
            tuple(sorted(given)),
            MappingProxyType({**DEFAULT_ALLOWANCES, **allowed}),
        )

    def __getitem__(self, key: str) -> float:
        return self.values[key]

    def allows(self, key: str) -> bool:
        return self.allowances[key]

    def deviations(self) -> list[str]:
        """The allowances set away from the profile's default, as the report names them."""
        return [k for k, v in self.allowances.items() if v != DEFAULT_ALLOWANCES[k]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "limits": dict(self.values),
            "overridden": list(self.overridden),
            "allowances": dict(self.allowances),
            "deviations": self.deviations(),
        }


# The clauses a capture must be observed for (clauses.md "Nothing observed is not a PASS").
CAPTURE_CLAUSES = ("IND-1", "IND-2", "IND-3", "IND-4", "IND-5", "MIN-1", "MIN-2", "MIN-3")

# Which clauses each command of the protocol serves: a mandatory command refused
# (UNSUPPORTED, UNKNOWN_COMMAND, BUSY outside its cases, an error a conforming device would
# not give) or answered without a named field FAILs these (clauses.md "What counts as
# evidence"; e.g. no artifact.delete fails MIN-4, no device.reboot fails CON-4).
_TIMING = ("IND-1", "IND-2", "IND-3", "IND-5", "IND-6", "CON-3", "MIN-3")
# IND-7 learns the sensor current from captures (and the selftest's light); IND-8 covers
# the indicator while captures are asked and recordings run, then lists what was stored.
_CURRENT = ("IND-7",)
_TAMPER = ("IND-8",)
COMMAND_SERVES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "clock": _TIMING,
        "state": ("IND-6", "CON-3", "CON-4"),
        "consent.grant": (*CAPTURE_CLAUSES, "CON-2", "CON-3", *_CURRENT, *_TAMPER),
        "consent.revoke": ("CON-1", "CON-3"),
        "capture.photo": (
            *("IND-1", "IND-2", "IND-4", "IND-5", "MIN-1", "MIN-2", "MIN-3"),
            *_CURRENT,
            *_TAMPER,
        ),
        "record.start": (
            *(*CAPTURE_CLAUSES[:4], "MIN-1", "MIN-2", "MIN-3", "CON-3"),
            *_CURRENT,
            *_TAMPER,
        ),
        "record.stop": (*CAPTURE_CLAUSES[:4], "MIN-1", "MIN-2", "MIN-3", *_CURRENT, *_TAMPER),
        "artifact.list": ("CON-1", "CON-2", "CON-4", "MIN-4", *_TAMPER),
        "artifact.info": ("MIN-1", "MIN-2", "MIN-3", "MIN-4"),
        "artifact.read": ("MIN-1", "MIN-2", "MIN-3", "MIN-4"),
        "artifact.delete": ("MIN-4",),
        "indicator.selftest": ("IND-4",),
        "device.reboot": ("CON-4", "MIN-4"),
        "device.factory_reset": ("CON-4", "MIN-4"),
    }
)


def served_by(cmd: str) -> tuple[str, ...]:
    """The clauses `cmd` serves; `hello` and anything unknown serve every clause (without
    them nothing can be judged)."""
    return COMMAND_SERVES.get(cmd, tuple(c.id for c in CLAUSES))

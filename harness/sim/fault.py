"""What a catalogued fault is: a named misbehaviour, its kind, and the verdict it must earn.

Kept apart from the catalogue itself (`faults`, `liars`) so the catalogue can be split
into readable parts without importing itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["nonconforming", "awkward", "transport"]
FAULT_KINDS: tuple[FaultKind, ...] = ("nonconforming", "awkward", "transport")
Verdict = Literal["FAIL", "INCONCLUSIVE"]
VERDICTS: tuple[Verdict, ...] = ("FAIL", "INCONCLUSIVE")
Target = Literal["device", "instrument", "power"]
TARGETS: tuple[Target, ...] = ("device", "instrument", "power")

IND_ALL = ("IND-1", "IND-2", "IND-3", "IND-4", "IND-5")


@dataclass(frozen=True)
class Fault:
    """One catalogued misbehaviour and the verdict it must lead to.

    `verdict` is what every clause in `clauses` must get: FAIL, or INCONCLUSIVE for a
    device whose cheat leaves the harness nothing to observe (clauses.md, "Nothing
    observed is not a PASS").
    """

    name: str
    description: str
    kind: FaultKind
    clauses: tuple[str, ...] = ()
    incidental: tuple[str, ...] = ()
    knobs: Mapping[str, object] = field(default_factory=dict)
    target: Target = "device"
    verdict: Verdict = "FAIL"

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS or self.target not in TARGETS:
            raise ValueError(f"fault {self.name}: unknown kind or target")
        if self.verdict not in VERDICTS:
            raise ValueError(f"fault {self.name}: unknown verdict {self.verdict!r}")
        if self.verdict != "FAIL" and self.kind != "nonconforming":
            raise ValueError(f"fault {self.name}: only nonconforming faults name a verdict")
        if (self.kind == "nonconforming") != bool(self.clauses):
            raise ValueError(f"fault {self.name}: clauses are required iff nonconforming")
        if (self.target != "device") != self.name.startswith(f"{self.target}."):
            raise ValueError(f"fault {self.name}: only instrument and power faults are prefixed")

    @property
    def native_name(self) -> str:
        """The name the target simulator itself knows the fault by."""
        return self.name.removeprefix(f"{self.target}.")

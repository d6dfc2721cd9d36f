"""Measurements and verdicts: the ILAC-G8 guard-band decision rule.

A check only produces measurements (named values with units, expanded uncertainty and
a limit); this module alone turns them into verdicts. A result passes only if it meets
its limit with its uncertainty (k = 2) on the safe side, fails if it misses the limit by
more than that, and is inconclusive in between.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

DECISION_RULE = (
    "ILAC-G8:09/2019 guard-banded acceptance (clauses.md): PASS if the measured value meets "
    "the limit with its expanded uncertainty U (k=2) on the safe side; FAIL if it misses the "
    "limit by more than U; INCONCLUSIVE otherwise. Counts of forbidden events carry no "
    "uncertainty (U = 0)."
)


Comparison = Literal["<=", ">="]


class Verdict(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"
    NOT_TESTED = "NOT_TESTED"
    BROKEN = "BROKEN"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def parse(cls, text: object) -> Verdict:
        """A verdict read back from a record; anything unknown counts as BROKEN (worst)."""
        try:
            return cls(str(text))
        except ValueError:
            return cls.BROKEN


_RANK = {
    Verdict.NOT_TESTED: 0,
    Verdict.PASS: 1,
    Verdict.INCONCLUSIVE: 2,
    Verdict.FAIL: 3,
    Verdict.BROKEN: 4,
}


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """Worst wins, BROKEN > FAIL > INCONCLUSIVE > PASS; NOT_TESTED only if nothing else.

    The one place of this rule (clauses.md "Verdicts"): a NOT_TESTED clause never lowers
    nor raises a run's verdict, and a run of nothing but NOT_TESTED is NOT_TESTED.
    """
    return max(verdicts, key=lambda v: v.rank, default=Verdict.NOT_TESTED)


def safe_margin(value: float, limit: float, comparison: Comparison) -> float:
    """How far `value` is on the safe side of `limit` (negative: on the wrong side)."""
    return limit - value if comparison == "<=" else value - limit


@dataclass(frozen=True)
class Measurement:
    """A named value with unit, expanded uncertainty (k=2) and the limit it is judged by."""

    clause: str
    name: str
    value: float
    unit: str
    limit: float
    comparison: Comparison  # "<=": value must not exceed limit; ">=": must reach it
    uncertainty: float = 0.0
    subject: str = ""  # what was measured: a capture id, a scope, ...
    detail: str = ""
    test: str = ""
    t: float | None = None  # host time of the observation, for plots

    def __post_init__(self) -> None:
        if not math.isfinite(self.value) or not math.isfinite(self.limit):
            raise ValueError(f"{self.name}: value and limit must be finite")
        if self.uncertainty < 0 or not math.isfinite(self.uncertainty):
            raise ValueError(f"{self.name}: uncertainty must be finite and >= 0")

    @property
    def verdict(self) -> Verdict:
        return decide(self.value, self.limit, self.comparison, self.uncertainty)

    @property
    def margin(self) -> float:
        """How far the value is on the safe side of the limit (negative: on the wrong side)."""
        return safe_margin(self.value, self.limit, self.comparison)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict.value
        return d


def decide(value: float, limit: float, comparison: Comparison, uncertainty: float) -> Verdict:
    """The guard-band rule (ILAC-G8): PASS / FAIL / INCONCLUSIVE."""
    margin = safe_margin(value, limit, comparison)
    if margin >= uncertainty:
        return Verdict.PASS
    if margin < -uncertainty:
        return Verdict.FAIL
    return Verdict.INCONCLUSIVE


def count(clause: str, name: str, n: int, *, subject: str = "", detail: str = "") -> Measurement:
    """A count of forbidden things (none allowed): exact, so U = 0."""
    return Measurement(clause, name, float(n), "count", 0.0, "<=", 0.0, subject, detail)


@dataclass
class TestOutcome:
    """What one test contributed to its clauses beyond measurements, as data.

    Only measurements and typed clause verdicts are evidence: a test that passed adds
    nothing (no evidence, no PASS), a skipped one only its reason; a BROKEN test marks the
    clauses it was meant to serve BROKEN; `verdicts` carries the FAIL / INCONCLUSIVE a
    typed failure gave each clause.
    """

    __test__ = False  # not a pytest test class, despite its name

    test: str
    clauses: tuple[str, ...]
    outcome: Verdict
    reason: str = ""
    station: str = ""
    verdicts: Mapping[str, Verdict] = field(default_factory=dict)

    def verdict_for(self, clause: str) -> Verdict | None:
        """What this outcome adds to `clause`'s verdict (None: nothing)."""
        if clause in self.verdicts:
            return self.verdicts[clause]
        if self.outcome == Verdict.BROKEN and clause in self.clauses:
            return Verdict.BROKEN
        return None

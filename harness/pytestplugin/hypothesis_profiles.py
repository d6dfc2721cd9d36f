"""Search profiles for the stateful suites: CI, lab hardware, certification.

Each is a Hypothesis settings profile of the same name plus the search's own keys
(`SearchKeys`): how long a long recording is. Every profile prints the failing example's
`@reproduce_failure` blob, which the record keeps and `python -m reports rerun` replays.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hypothesis import HealthCheck, Phase, settings
from hypothesis.internal.conjecture import engine as _engine

# Every example on a bench runs in real time (captures, reboots), so an unbounded shrink
# could hold a jig for an hour. Hypothesis bounds shrinking by wall time; this internal
# constant (default 300 s) is the only knob for it, set from the profile's
# `shrink_budget_s` when the run starts (`apply`).
SHRINK_BUDGET_S = 120
_engine.MAX_SHRINKING_SECONDS = SHRINK_BUDGET_S

_slow_ok = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]
# One failure shrunk well beats two shrunk half-way when every step takes real time.

# sim: fast, for firmware CI against the simulated bench.
settings.register_profile(
    "sim", max_examples=10, stateful_step_count=12, deadline=None, print_blob=True,
    suppress_health_check=_slow_ok, report_multiple_bugs=False,
)  # fmt: skip
# lab: real hardware, where every step takes real seconds: few, long examples.
settings.register_profile(
    "lab", max_examples=4, stateful_step_count=30, deadline=None, print_blob=True,
    suppress_health_check=_slow_ok, report_multiple_bugs=False,
)  # fmt: skip
# certification: derandomized, so a certification body replays the same sequences.
settings.register_profile(
    "certification", max_examples=10, stateful_step_count=20, deadline=None, print_blob=True,
    derandomize=True, database=None, suppress_health_check=_slow_ok, report_multiple_bugs=False,
    phases=[Phase.explicit, Phase.generate, Phase.shrink, Phase.explain],
)  # fmt: skip


@dataclass(frozen=True)
class SearchKeys:
    """The search's own keys, beside Hypothesis's settings.

    `long_recording_s`: the example suites' long recording, and the longest recording the
    state machine draws. An indicator that drops out every second or two (an LED driver
    under thermal throttling) shows only in recordings this long: >= 10 s where a
    certificate rests on the run; short on the simulated bench, whose faults come sooner.
    """

    long_recording_s: float
    # How long shrinking a failure may take: its first big cuts (whole steps) come within
    # seconds; on a real jig, where a certificate rests on the replay, it may take longer.
    shrink_budget_s: float = 300.0

    def apply(self) -> None:
        _engine.MAX_SHRINKING_SECONDS = self.shrink_budget_s


SEARCH_KEYS: dict[str, SearchKeys] = {
    "sim": SearchKeys(long_recording_s=2.5, shrink_budget_s=30.0),
    "lab": SearchKeys(long_recording_s=12.0, shrink_budget_s=300.0),
    "certification": SearchKeys(long_recording_s=12.0, shrink_budget_s=600.0),
}


def search_keys(
    profile: str,
    simulated: bool,
    long_recording_s: float | None = None,
    shrink_budget_s: float | None = None,
) -> SearchKeys:
    """The keys of `profile` (a Hypothesis profile of the user's own gets sim's on a
    simulated station, else lab's), with the station's overrides."""
    keys = SEARCH_KEYS.get(profile) or SEARCH_KEYS["sim" if simulated else "lab"]
    if long_recording_s is not None:
        keys = replace(keys, long_recording_s=long_recording_s)
    if shrink_budget_s is not None:
        keys = replace(keys, shrink_budget_s=shrink_budget_s)
    return keys

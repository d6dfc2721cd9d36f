"""Hypothesis settings profiles for the stateful suites: CI, lab hardware, certification."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings
from hypothesis.internal.conjecture import engine as _engine

# Every example on a bench runs in real time (captures, reboots), so an unbounded shrink
# could hold a jig for an hour. Hypothesis bounds shrinking by wall time; this internal
# constant (default 300 s) is the only knob for it. 120 s still shrinks typical
# failures to a handful of steps on the simulated bench.
SHRINK_BUDGET_S = 120
_engine.MAX_SHRINKING_SECONDS = SHRINK_BUDGET_S

_slow_ok = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]
# One failure shrunk well beats two shrunk half-way when every step takes real time.

# sim: fast, for firmware CI against the simulated bench.
settings.register_profile(
    "sim", max_examples=8, stateful_step_count=12, deadline=None, print_blob=True,
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

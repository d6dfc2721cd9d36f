"""Hypothesis settings profiles for the stateful suites: CI, lab hardware, certification."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

_slow_ok = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]

# sim: fast, for firmware CI against the simulated bench.
settings.register_profile(
    "sim", max_examples=6, stateful_step_count=10, deadline=None, print_blob=True,
    suppress_health_check=_slow_ok,
)  # fmt: skip
# lab: real hardware, where every step takes real seconds: few, long examples.
settings.register_profile(
    "lab", max_examples=4, stateful_step_count=30, deadline=None, print_blob=True,
    suppress_health_check=_slow_ok,
)  # fmt: skip
# certification: derandomized, so a certification body replays the same sequences.
settings.register_profile(
    "certification", max_examples=10, stateful_step_count=20, deadline=None, print_blob=True,
    derandomize=True, database=None, suppress_health_check=_slow_ok,
    phases=[Phase.explicit, Phase.generate, Phase.shrink, Phase.explain],
)  # fmt: skip

PROFILES = ("sim", "lab", "certification")

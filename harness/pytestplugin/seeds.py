"""Hypothesis profile and seed policy: every run records a seed so it can be replayed."""

from __future__ import annotations

import contextlib
import random
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from harness.bench.station import Station


def choose_profile_and_seed(config: pytest.Config, station: Station) -> dict[str, Any]:
    """Load the station's profile (sim or lab when it names none) unless the command line
    names one, and fix the seed.

    The seed is the command line's, the station's, or a fresh one, and is written back
    into pytest's options so Hypothesis uses exactly the one recorded in the evidence.
    """
    hyp_profile = config.getoption("hypothesis_profile", default=None)
    if hyp_profile is None:
        # Never Hypothesis's own default (a 200 ms deadline would turn a slow but
        # conforming device into BROKEN): the station's profile, else sim or lab.
        hyp_profile = station.hypothesis.profile or ("sim" if station.sim else "lab")
        hypothesis_settings.load_profile(hyp_profile)
    seed = config.getoption("hypothesis_seed", default=None)
    if seed is None:
        seed = (
            station.hypothesis.seed
            if station.hypothesis.seed is not None
            else (random.randrange(2**32))
        )
        config.option.hypothesis_seed = str(seed)
    with contextlib.suppress(ValueError):
        seed = int(seed)
    return {
        "profile": hyp_profile,
        "seed": seed,
    }

"""Hypothesis profile and seed policy: every run records a seed so it can be replayed."""

from __future__ import annotations

import contextlib
import random
import re
from typing import Any

import hypothesis
import pytest
from hypothesis import settings as hypothesis_settings

from harness.bench.station import Station
from harness.pytestplugin.hypothesis_profiles import search_keys

# A `@reproduce_failure` blob: base64 of Hypothesis's choice sequence (bounded: a shrunk
# failure's blob is short; a long one came from somewhere else).
BLOB = re.compile(r"[A-Za-z0-9+/=]{4,20000}")


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
    hyp = station.hypothesis
    keys = search_keys(hyp_profile, station.simulated, hyp.long_recording_s, hyp.shrink_budget_s)
    keys.apply()
    chosen: dict[str, Any] = {
        "profile": hyp_profile,
        "seed": seed,
        "long_recording_s": keys.long_recording_s,
        "shrink_budget_s": keys.shrink_budget_s,
        "hypothesis_version": hypothesis.__version__,
    }
    replay = config.getoption("--search-replay", default=None)
    if replay is not None:
        chosen["replay"] = replay_blob(replay)
    return chosen


def replay_blob(value: str) -> str:
    """The blob `--search-replay` gives, checked: Hypothesis replays a blob only with the
    version that printed it, so a mismatch is said here rather than as a test error."""
    version, sep, blob = value.rpartition(":")
    if not sep or not BLOB.fullmatch(blob):
        raise pytest.UsageError(
            "--search-replay takes VERSION:BLOB, the Hypothesis version and the base64 blob "
            "of a recorded `@reproduce_failure`"
        )
    if version != hypothesis.__version__:
        raise pytest.UsageError(
            f"--search-replay: the blob was printed by Hypothesis {version[:40]!r}; this is "
            f"{hypothesis.__version__}, which cannot replay it (install that version)"
        )
    return blob

"""A bench freezes what is alive when it opens, once per process (harness/bench/gcquiet.py):
full collections then scan only what the run made since, so they hold the GIL briefly."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import gc
from harness.bench.gcquiet import freeze_once
assert gc.get_freeze_count() == 0
kept = [[i] for i in range(50_000)]  # alive when the bench opens: frozen with the rest
first = freeze_once()
frozen = gc.get_freeze_count()
later = [[i] for i in range(10)]  # made by the run afterwards: left to the collector
again = freeze_once()
print(first, again, frozen >= 50_000, gc.get_freeze_count() == frozen)
"""


def test_what_is_alive_when_a_bench_opens_is_frozen_once_per_process() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.split() == ["True", "False", "True", "True"], out.stdout + out.stderr

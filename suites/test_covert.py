"""Covert capture (IND-7): no camera or microphone powered while the indicator is dark.

A camera powered in the dark, with no event, no artifact and no light, is the hardest
cheat to see and the reason the code exists. The bench supply sees it: IND-7 is judged
from the supply current and the light over the whole run, every test and the gaps
between them (harness/record/covert.py), against the signature learned at calibration.
This test adds a stretch of plain idle with the indicator dark, long enough to meet a
periodic covert capture, and says why IND-7 is NOT_TESTED on a station without a supply.
"""

from __future__ import annotations

import time

import pytest

from harness.judge.signature import unresolved_measurement

IDLE_S = 3.5  # longer than the period of a covert job waking every few seconds


@pytest.mark.clause("IND-7")
def test_idle_dark_draws_no_sensor_current(dut, bench, evidence, tally_run):
    """Idle, no consent, indicator dark: no sensor may draw current meanwhile."""
    if bench.current is None:
        pytest.skip(
            "NOT_TESTED: the station has no bench supply ([power]) to see the current the "
            "device draws"
        )
    watch = tally_run.covert
    if watch is None or watch.signature.problems:
        # the run-level measurement says why; here it is this test's verdict too
        evidence.record(unresolved_measurement(bench.signature))
    start = time.monotonic()
    time.sleep(IDLE_S)
    evidence.mark(start, time.monotonic(), "idle, no consent, indicator dark")

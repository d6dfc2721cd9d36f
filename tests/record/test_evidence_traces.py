"""A capture check's light trace in the record: always as numbers, as a picture by choice."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from harness.judge.clauses import Limits
from harness.judge.light import LightTrace
from harness.judge.verdict import Measurement
from harness.record.evidence import Evidence
from harness.record.ledger import Ledger
from harness.record.rundir import RunDir


def lit_ms(value: float) -> Measurement:
    return Measurement("IND-1", "unlit_during_capture", value, "ms", 0.0, "<=", 0.0, t=10.2)


@pytest.mark.parametrize(
    ("plots", "value", "drawn"),
    [
        ("all", 0.0, True),
        ("flagged", 0.0, False),
        ("flagged", 40.0, True),
        ("none", 0.0, False),
        ("none", 40.0, False),
    ],
)
def test_a_trace_is_kept_as_numbers_and_drawn_as_the_run_asks(
    tmp_path, plots: str, value: float, drawn: bool
) -> None:
    ledger = Ledger(RunDir(tmp_path), station="s1", limits=Limits())
    ev = Evidence("suites/t.py::test_x", ("IND-1",), ledger=ledger, limits=Limits(), plots=plots)
    v = np.where(np.arange(2000) > 500, 3.0, 0.01)
    trace = LightTrace(10.0, 0.0005, v, 1e-4, 1.0)
    ev.keep_trace(trace, SimpleNamespace(captures=[]), [lit_ms(value)], label="video")
    where = tmp_path / ev.dir
    assert (where / "light-1-video.npz").is_file() and (where / "light-1-video.csv").is_file()
    assert (where / "light-1-video.png").is_file() == drawn
    assert (f"{ev.dir}/light-1-video.png" in ledger.rundir.manifest()["files"]) == drawn


def test_an_unknown_picture_choice_is_refused(tmp_path) -> None:
    ledger = Ledger(RunDir(tmp_path), station="s1", limits=Limits())
    with pytest.raises(ValueError, match="plots must be one of"):
        Evidence("t", (), ledger=ledger, limits=Limits(), plots="some")

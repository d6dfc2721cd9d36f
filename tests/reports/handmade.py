"""Hand-made run directories' contents for the report tests: summaries, measurements, a plot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.judge.clauses import CLAUSES, DEFAULT_LIMITS
from harness.judge.verdict import DECISION_RULE
from tests.runs import ROOT

MakeRun = Callable[..., Path]  # the make_run fixture: make_run(summary, finish=, png=)


def measurement(clause: str, name: str, value: float, **kw: Any) -> dict[str, Any]:
    m = {
        "clause": clause,
        "name": name,
        "value": value,
        "unit": "ms",
        "limit": 0.0,
        "comparison": ">=",
        "uncertainty": 0.2,
        "subject": "video/user a-0001",
        "detail": "",
        "test": "suites/test_x.py::test_x",
        "t": None,
        "verdict": "PASS",
    }
    m.update(kw)
    return m


def make_summary(**overrides: Any) -> dict[str, Any]:
    """A well-formed tally-summary/1 with every clause, one test and one measurement."""
    test = "suites/test_x.py::test_x"
    clauses = {
        c.id: {
            "verdict": "NOT_TESTED",
            "principle": c.principle,
            "statement": c.statement,
            "limit": c.limit,
            "tests": [],
            "measurements": [],
            "reasons": ["no test exercised this clause in this run"],
        }
        for c in CLAUSES
    }
    clauses["IND-2"].update(
        verdict="PASS", tests=[test], reasons=[],
        measurements=[measurement("IND-2", "indicator_lead", 55.0)],
    )  # fmt: skip
    summary: dict[str, Any] = {
        "format": "tally-summary/1",
        "run_id": "tally-20260101-000000-deadbeef",
        "verdict": "PASS",
        "complete": True,
        "started": "2026-01-01T00:00:00+0000",
        "updated": "2026-01-01T00:01:00+0000",
        "station": "sim",
        "profile": "caict-2026",
        "limits": dict(DEFAULT_LIMITS),
        "limits_overridden": [],
        "decision_rule": DECISION_RULE,
        "clauses": clauses,
        "tests": {
            test: {
                "test": test,
                "outcome": "PASS",
                "clauses": ["IND-2"],
                "verdicts": {},
                "reason": "",
                "station": "sim",
                "duration_s": 1.0,
            }
        },
        "deviations": [],
        "station_file": str(ROOT / "fixtures" / "sim.toml"),
        "station_config": {"station": {"name": "sim"}, "sim": {"seed": 1, "faults": []}},
        "versions": {"python": "3.11.7", "pytest": "9"},
        "harness": {"version": "0.1.0", "git_commit": "abc"},
        "command": ["/x/pytest/__main__.py", "suites", "--station", "sim"],
        "dut": {
            "vendor": "Acme",
            "model": "G1",
            "firmware": "1.0",
            "serial_number": "S1",
            "protocol": "1.1",
            "capabilities": {"capture": ["photo"]},
        },
        "instrument": {"idn": "Tally,SimPhotodiode,SIM0001,1.0"},
        "calibration": {"visible_v": 0.5, "dark_mean_v": 0.05, "lit_mean_v": 3.0},
        "hypothesis": {"profile": "sim", "seed": 7},
        "sim": {"faults": [], "knobs": {}},
    }
    summary.update(overrides)
    return summary


def tiny_png() -> bytes:
    """A real PNG drawn with matplotlib (what the harness plots with)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 1.5), dpi=50)
    ax.plot([0, 1, 2], [0, 3, 0])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()

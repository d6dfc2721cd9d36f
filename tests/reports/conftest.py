"""Run directories for the report tests: real runs on the simulated bench, and hand-made ones.

The real runs are few and small (the machine has 2 cores), made once per session and
shared: a failing minimum-data run with one bench fault, and two runs of the partial
consent tests, the second made by `python -m reports rerun` from the first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.record.rundir import RunDir, safe_name
from tests.reports.handmade import MakeRun, make_summary, tiny_png
from tests.runs import ROOT, run_module, run_pytest

# A test that loses its bench mid-way, run alongside the real suite: the plugin must
# call it BROKEN and Allure must file it as broken, not failed.
BENCH_FAULT_PROBE = """
import pytest
from harness.errors import TransportError


@pytest.mark.clause("MIN-4")
def test_bench_link_lost(dut):
    raise TransportError("serial link lost: the USB hub dropped the DUT")
"""


@pytest.fixture(scope="session")
def failing_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`suites/test_minimum.py` against a firmware that stores unrequested metadata, plus
    one test whose serial link is lost: failures (MIN-1) and a deviation in one run."""
    work = tmp_path_factory.mktemp("failing")
    probe = work / "test_bench_probe.py"
    probe.write_text(BENCH_FAULT_PROBE)
    run_dir = work / "run"
    res = run_pytest(
        [
            "suites/test_minimum.py", "-k", "metadata or deleted or bench_link", str(probe),
            "--rootdir", str(ROOT), "--station", "sim", "--sim-fault", "extra_metadata",
            "--report-dir", str(run_dir),
        ]
    )  # fmt: skip
    assert (run_dir / "summary.json").is_file(), res.stdout[-3000:] + res.stderr[-3000:]
    return run_dir


@pytest.fixture(scope="session")
def consent_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """Two runs of the partial-consent tests on the same simulated bench: the first with a
    lab's limit override and an awkward (conforming) fault, the second by `rerun`."""
    work = tmp_path_factory.mktemp("consent")
    station = work / "lab-sim.toml"
    station.write_text(
        (ROOT / "fixtures" / "sim.toml").read_text() + "\n[limits]\nrevoke_ms = 900\n"
    )
    a, b = work / "a", work / "b"
    res = run_pytest(
        [
            "suites/test_consent.py", "-k", "partial", "--station", str(station),
            "--sim-fault", "crlf", "--report-dir", str(a), "--hypothesis-seed", "12345",
        ]
    )  # fmt: skip
    assert (a / "summary.json").is_file(), res.stdout[-3000:] + res.stderr[-3000:]
    rerun = run_module("reports", ["rerun", str(a), "--station", "sim", "--report-dir", str(b)])
    assert (b / "summary.json").is_file(), rerun.stdout[-3000:] + rerun.stderr[-3000:]
    return a, b, rerun.stdout


@pytest.fixture
def make_run(tmp_path: Path) -> MakeRun:
    """Write a run directory through the harness's own `RunDir` (so its manifest is real)."""
    count = 0

    def make(
        summary: dict[str, Any] | None = None, *, finish: bool = True, png: bool = False
    ) -> Path:
        nonlocal count
        count += 1
        s = summary or make_summary()
        rd = RunDir(tmp_path / f"run{count}", run_id=s["run_id"])
        rd.write_json("summary.json", s)
        for t in s["tests"]:
            d = f"tests/{safe_name(t)}"
            rd.write_text(f"{d}/serial.log", '> {"cmd":"hello"}\n< {"ok":true}\n')
            if png:
                rd.write_bytes(f"{d}/light-1-video-user.png", tiny_png())
        rd.append_jsonl("tests.jsonl", {"test": "x"})
        if finish:
            rd.finish()
        return rd.root

    return make

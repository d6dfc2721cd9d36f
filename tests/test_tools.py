"""A test whose outside tool is missing: skipped and named at the end, or under CI failed."""

from __future__ import annotations

from pathlib import Path

from tests.runs import ROOT, run_pytest

PROBE = """
import pytest

from tests import tools

tools.TOOLS["absent-tool"] = tools.Tool(lambda: False, "apt-get install absent-tool")


@pytest.mark.needs("absent-tool")
def test_with_the_tool():
    pass


def test_without_tools():
    pass
"""


def run_probe(tmp_path: Path, ci: str):
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    args = [str(probe), "-p", "tests.conftest", "-c", str(ROOT / "pyproject.toml"),
            "--rootdir", str(ROOT)]  # fmt: skip
    return run_pytest(args, env={"CI": ci}, timeout_s=120)


def test_a_missing_tool_is_a_named_skip_outside_ci(tmp_path: Path):
    run = run_probe(tmp_path, "")
    assert run.returncode == 0, run.output[-3000:]
    assert "1 passed, 1 skipped" in run.output
    assert (
        "SKIPPED tmp/test_probe.py::test_with_the_tool" not in run.output  # (path is relative)
        and "::test_with_the_tool - needs absent-tool (apt-get install absent-tool)" in run.output
    ), run.output[-3000:]


def test_a_missing_tool_fails_the_test_under_ci(tmp_path: Path):
    run = run_probe(tmp_path, "true")
    assert run.returncode == 1, run.output[-3000:]
    assert "1 passed, 1 error" in run.output, run.output[-3000:]
    assert "CI runs every test, but this one needs absent-tool" in run.output

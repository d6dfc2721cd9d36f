"""The conformance report as a person sees it: rendered by headless Chromium.

CI installs Chromium (apt) and fails the test without it; elsewhere it is skipped where no
Chromium exists (and named in the closing summary).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from harness.judge.clauses import CLAUSES
from reports.build import build
from tests.reports.handmade import MakeRun, make_summary
from tests.tools import chromium_binary

CHROMIUM = chromium_binary()
pytestmark = pytest.mark.needs("chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def test_report_renders_every_clause_and_no_device_script_runs(make_run: MakeRun) -> None:
    s = make_summary()
    s["dut"]["vendor"] = (
        '<img src=x onerror="document.title=\'pwned\'">Evil<script>document.title="pwned"</script>'
    )
    html_path, _, _ = build(make_run(s, png=True))
    res = chromium("--dump-dom", html_path.as_uri())
    dom = res.stdout
    assert res.returncode == 0 and "</html>" in dom, res.stderr[-2000:]
    for clause in CLAUSES:
        assert f'id="clause-{clause.id}"' in dom
    assert "pwned" not in dom.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "&lt;script&gt;" in dom  # the device's text is shown as text


def test_report_prints_to_a_multi_page_pdf(make_run: MakeRun, tmp_path: Path) -> None:
    html_path, _, _ = build(make_run(png=True))
    pdf = tmp_path / "report.pdf"
    res = chromium(f"--print-to-pdf={pdf}", "--no-pdf-header-footer", html_path.as_uri())
    assert pdf.exists(), res.stderr[-2000:]
    data = pdf.read_bytes()
    assert (
        data.startswith(b"%PDF") and data.count(b"/Type /Page") - data.count(b"/Type /Pages") >= 2
    )

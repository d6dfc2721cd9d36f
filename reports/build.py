"""`python -m reports build RUN_DIR`: the conformance report, `report.html` and `report.json`.

Both files hold the same content (the JSON names each plot by path and SHA-256 where the
HTML inlines it). An interrupted run still gets a report, marked incomplete at the top,
because what it found before it stopped is evidence too.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from harness.record.rundir import write_atomic
from reports.console import say
from reports.html import render_html
from reports.model import build_model
from reports.plots import find_plots
from reports.rundata import RunData, load_run
from reports.values import as_map

REPORT_HTML = "report.html"
REPORT_JSON = "report.json"


def render(
    run_dir: str | Path,
    *,
    now: float | None = None,
    generated_at: str | None = None,
    signed: bool | None = None,
) -> tuple[RunData, dict[str, Any], bytes, bytes]:
    """The report of RUN_DIR: the run read, the model, and the bytes of report.json and
    report.html (the same function builds them and `reports verify` rebuilds them)."""
    run = load_run(run_dir)
    listed = as_map(run.manifest.get("files")) if run.manifest else {}
    plots, left_out = find_plots(run.root, as_map(run.summary.get("tests")), listed)
    model = build_model(run, plots, left_out, now=now, generated_at=generated_at, signed=signed)
    json_bytes = (json.dumps(model, indent=2, sort_keys=True) + "\n").encode()
    return run, model, json_bytes, render_html(model, plots).encode("utf-8")


def build(run_dir: str | Path, *, now: float | None = None) -> tuple[Path, Path, dict]:
    """Write RUN_DIR/report.html and RUN_DIR/report.json; return their paths and the model."""
    run, model, json_bytes, html_bytes = render(run_dir, now=now)
    html_path, json_path = run.root / REPORT_HTML, run.root / REPORT_JSON
    write_atomic(json_path, json_bytes)
    write_atomic(html_path, html_bytes)
    return html_path, json_path, model


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build", help="conformance report: RUN_DIR/report.html and report.json")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    html_path, json_path, model = build(args.run_dir)
    state = "complete" if model["run"]["complete"] else "INCOMPLETE RUN"
    say(f"report {model['report']['id']}: verdict {model['run']['verdict']} ({state})")
    say(f"  {html_path}", f"  {json_path}")
    return 0

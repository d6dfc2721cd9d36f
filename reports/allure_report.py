"""`python -m reports allure RUN_DIR --out DIR`: the Allure Report 3 of a run, from npm.

Allure Report 3 is a Node program; it is pinned exactly in `reports/node/package.json`
and its lock file, and installed next to them with `npm ci` the first time it is needed
(or when the pin changes), so every machine renders with the same version and no Java
is involved. The run directory is only read: if its results lack the environment or
categories files (a run made before the plugin wrote them), they are generated into a
temporary second results directory that Allure merges in.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from harness.record.allure_files import write_categories, write_environment
from reports.console import say
from reports.errors import ReportError
from reports.rundata import load_json

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
CONFIG = HERE / "allurerc.mjs"
INSTALL_TIMEOUT_S = 600
RENDER_TIMEOUT_S = 600


def pinned_version() -> str:
    """The exact Allure version this project renders with (package.json)."""
    deps = load_json(NODE_DIR / "package.json").get("dependencies", {})
    return str(deps["allure"])


def node_tools() -> tuple[str, str]:
    """Paths of `node` and `npm`; a ReportError saying how to get them if either is missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(n for n, p in (("node", node), ("npm", npm)) if p is None)
        raise ReportError(f"{missing} not found: install Node.js (apt-get install nodejs npm)")
    return node, npm


def installed_version() -> str | None:
    pkg = NODE_DIR / "node_modules" / "allure" / "package.json"
    try:
        return str(json.loads(pkg.read_text(encoding="utf-8")).get("version"))
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """Serialise installs: two `npm ci` in one folder at once would break each other.
    The wait is bounded by one install's own timeout (and a margin)."""
    deadline = time.monotonic() + INSTALL_TIMEOUT_S + 60
    with (NODE_DIR / ".install.lock").open("w") as f:
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ReportError(f"{NODE_DIR}: another install holds the lock") from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def ensure_allure() -> Path:
    """The Allure CLI script, installed with `npm ci` from the lock file if not there yet."""
    _, npm = node_tools()
    cli = NODE_DIR / "node_modules" / "allure" / "cli.js"
    want = pinned_version()
    with _install_lock():
        if installed_version() == want and cli.is_file():
            return cli
        cmd = [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"]
        try:
            res = subprocess.run(
                cmd, cwd=NODE_DIR, capture_output=True, text=True,
                timeout=INSTALL_TIMEOUT_S, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise ReportError(f"npm ci in {NODE_DIR} took over {INSTALL_TIMEOUT_S} s") from None
        if res.returncode != 0 or installed_version() != want:
            tail = (res.stderr or res.stdout).strip()[-1500:]
            raise ReportError(f"npm ci in {NODE_DIR} failed (exit {res.returncode}): {tail}")
    return cli


def _results_dirs(run_dir: Path, scratch: Path) -> list[Path]:
    results = run_dir / "allure-results"
    if not results.is_dir() or not any(results.glob("*-result.json")):
        raise ReportError(f"{results}: no Allure results (was the run made with allure-pytest?)")
    dirs = [results]
    extra = scratch / "extra-results"
    if not (results / "environment.properties").exists():
        summary_path = run_dir / "summary.json"
        if summary_path.is_file():
            write_environment(extra, load_json(summary_path))
    if not (results / "categories.json").exists():
        write_categories(extra)
    if extra.is_dir():
        dirs.append(extra)
    return dirs


def render(
    run_dir: str | Path, out: str | Path, *, name: str | None = None, single_file: bool = False
) -> Path:
    """Render RUN_DIR/allure-results into `out`; return the report's index.html.

    The default report loads its data with fetch() and so needs an HTTP server (`allure
    open`); `single_file` embeds everything in index.html, readable straight from disk."""
    node, _ = node_tools()
    cli = ensure_allure()
    run = Path(run_dir).resolve()
    out_dir = Path(out).resolve()
    if out_dir == run or run in out_dir.parents:
        raise ReportError(f"{out_dir}: put the Allure report outside the run directory")
    with tempfile.TemporaryDirectory(prefix="tally-allure-") as tmp:
        dirs = _results_dirs(run, Path(tmp))
        cmd = [node, str(cli), "generate", "--config", str(CONFIG), "--output", str(out_dir)]
        if name:
            cmd += ["--report-name", name]
        cmd += [str(d) for d in dirs]
        env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"}
        env["TALLY_ALLURE_SINGLE_FILE"] = "1" if single_file else "0"  # read by allurerc.mjs
        try:
            res = subprocess.run(
                cmd, cwd=tmp, env=env, capture_output=True, text=True,
                timeout=RENDER_TIMEOUT_S, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise ReportError(f"allure generate took over {RENDER_TIMEOUT_S} s") from None
    index = out_dir / "index.html"
    if res.returncode != 0 or not index.is_file():
        tail = (res.stderr or res.stdout).strip()[-1500:]
        raise ReportError(f"allure generate failed (exit {res.returncode}): {tail}")
    return index


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("allure", help="render RUN_DIR/allure-results with Allure Report 3")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--out", default="out/allure-report", metavar="DIR")
    p.add_argument(
        "--single-file",
        action="store_true",
        help="one index.html that opens from disk (default: a site to serve over HTTP)",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    run_id = ""
    summary = Path(args.run_dir) / "summary.json"
    if summary.is_file():
        run_id = str(load_json(summary).get("run_id") or "")
    name = f"Tally conformance run {run_id}".strip()
    index = render(args.run_dir, args.out, name=name, single_file=args.single_file)
    say(f"Allure Report {pinned_version()}: {index}")
    return 0

"""`python -m reports rerun RUN_DIR --station FILE [--report-dir NEW]`: the same run, again.

A certification body re-runs a lab's run on its own bench: same tests, same profile and
seed, same limits, same simulated faults. The given station file supplies the bench
(ports, instruments); what decided the verdicts comes from the recorded run. Its
`[limits]` are replaced by the run's overrides, its `[hypothesis]` and `[sim]` by the
recorded ones, and the copy is kept beside the new run directory (not inside it, where
it would be an unlisted file), named in the printed command.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

from fixtures import fixture_path
from harness.bench.station import SEARCH_PROFILES, parse_station
from reports import tomlw
from reports.errors import ReportError
from reports.rundata import RunData, load_run

REPO = Path(__file__).resolve().parent.parent
DEFAULT_TIMEOUT_S = 6 * 3600

# pytest options that take a value as the next argument (so it is not a test path)
_VALUE_OPTS = {
    "--station", "--sim-fault", "--report-dir", "-p", "-k", "-m", "-c", "-o", "-W", "-r",
    "-n", "--hypothesis-profile", "--hypothesis-seed", "--alluredir", "--rootdir",
    "--deselect", "--ignore", "--ignore-glob", "--basetemp", "--maxfail", "--dist",
    "--confcutdir", "--junitxml", "--junit-xml", "--log-level", "--tb", "--durations",
    "--override-ini", "--config-file", "--import-mode", "--capture", "--log-file",
    "--hypothesis-verbosity", "--hypothesis-show-statistics", "--clean-alluredir",
}  # fmt: skip
_KEPT_OPTS = {"-k", "-m", "--deselect", "--ignore", "--ignore-glob"}


def selection(argv: Any) -> list[str]:
    """The test selection of a recorded pytest command: its paths and -k/-m/--deselect."""
    if not isinstance(argv, list):
        return ["suites"]
    args = [str(a) for a in argv[1:]]
    out: list[str] = []
    paths: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in _VALUE_OPTS:
            if a in _KEPT_OPTS and i + 1 < len(args):
                out += [a, args[i + 1]]
            i += 2
            continue
        if a.startswith("-"):
            if a.split("=", 1)[0] in _KEPT_OPTS:
                out.append(a)
            i += 1
            continue
        paths.append(a)
        i += 1
    return (paths or ["suites"]) + out


def _int_seed(seed: Any) -> int | None:
    """A recorded seed as the integer a station file takes (None if it is not one)."""
    if isinstance(seed, bool):
        return None
    if isinstance(seed, int):
        return seed
    try:
        return int(str(seed))
    except ValueError:
        return None


def station_source(spec: str) -> Path:
    return fixture_path("sim.toml") if spec == "sim" else Path(spec)


def station_copy(run: RunData, spec: str) -> tuple[dict[str, Any], list[str]]:
    """The given station with the recorded limits, Hypothesis settings and sim set-up."""
    s = run.summary
    path = station_source(spec)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ReportError(f"{path}: cannot read station file: {exc}") from None
    notes: list[str] = []
    limits = s.get("limits") or {}
    recorded = {k: limits[k] for k in s.get("limits_overridden") or [] if k in limits}
    dropped = sorted(set(data.get("limits") or {}) - set(recorded))
    if dropped:
        notes.append(f"station overrides not used by the original run dropped: {dropped}")
    data.pop("limits", None)
    if recorded:
        data["limits"] = recorded
    hyp = s.get("hypothesis") or {}
    data.pop("hypothesis", None)
    table: dict[str, Any] = {}
    if hyp.get("profile") in SEARCH_PROFILES:
        table["profile"] = hyp["profile"]
    seed = _int_seed(hyp.get("seed"))
    if seed is not None:
        table["seed"] = seed
    if table:
        data["hypothesis"] = table
    sim = s.get("sim")
    if sim and "sim" in data:
        recorded_sim = (s.get("station_config") or {}).get("sim") or {}
        data["sim"] = {
            "faults": [],  # passed as --sim-fault, visible in the command
            "knobs": dict(sim.get("knobs") or {}),
            "seed": int(recorded_sim.get("seed", data["sim"].get("seed", 1))),
        }
    elif sim:
        notes.append("the original run was simulated but this station is not: no faults applied")
    elif "sim" in data:
        notes.append("the original run used real hardware; this station is simulated")
    return data, notes


def plan(
    run: RunData, spec: str, report_dir: Path, extra: list[str]
) -> tuple[list[str], str, list[str]]:
    """The pytest command, the station copy's TOML text, and notes on what differs."""
    s = run.summary
    data, notes = station_copy(run, spec)
    text = tomlw.dumps(data)
    station_path = report_dir.with_name(report_dir.name + ".station.toml")
    try:
        parse_station(text, str(station_path))
    except Exception as exc:  # a ConfigError names the key; anything else is a bug here
        raise ReportError(f"the station copy is not valid: {exc}") from None
    cmd = [sys.executable, "-m", "pytest", *selection(s.get("command"))]
    cmd += ["--station", str(station_path), "--report-dir", str(report_dir)]
    hyp = s.get("hypothesis") or {}
    if hyp.get("profile"):
        cmd += ["--hypothesis-profile", str(hyp["profile"])]
    if hyp.get("seed") not in (None, ""):  # every run records one (an int, or text as given)
        cmd += ["--hypothesis-seed", str(hyp["seed"])]
    else:
        notes.append("no Hypothesis seed was recorded: state-machine sequences will differ")
    if s.get("sim") and "sim" in data:
        for fault in (s.get("sim") or {}).get("faults") or []:
            cmd += ["--sim-fault", str(fault)]
    cmd += ["-p", "no:cacheprovider", *extra]
    return cmd, text, notes


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "rerun",
        help="run the suites again with RUN_DIR's settings",
        usage="python -m reports rerun RUN_DIR --station FILE [options] [-- PYTEST_ARGS]",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--station", required=True, metavar="FILE", help="station file, or 'sim'")
    p.add_argument("--report-dir", metavar="NEW", help="new run directory (must not exist)")
    p.add_argument("--dry-run", action="store_true", help="print the command, run nothing")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="SECONDS")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    run = load_run(args.run_dir)
    new = Path(args.report_dir or f"out/rerun-{run.run_id}-{time.strftime('%H%M%S')}").resolve()
    if new.exists() and any(new.iterdir()):
        raise ReportError(f"{new}: exists and is not empty; give a new --report-dir")
    cmd, text, notes = plan(run, args.station, new, list(args.passthrough))
    station_path = Path(cmd[cmd.index("--station") + 1])
    for note in notes:
        print(f"note: {note}")
    print(f"station copy: {station_path}")
    print(shlex.join(cmd), flush=True)
    if args.dry_run:
        return 0
    station_path.parent.mkdir(parents=True, exist_ok=True)
    station_path.write_text(text, encoding="utf-8")
    try:
        return subprocess.run(cmd, cwd=REPO, timeout=args.timeout, check=False).returncode
    except subprocess.TimeoutExpired:
        raise ReportError(f"the re-run took over {args.timeout:.0f} s and was stopped") from None

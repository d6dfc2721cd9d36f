"""`python -m reports rerun RUN_DIR --station FILE [--report-dir NEW]`: the same run, again.

A certification body re-runs a lab's run on its own bench: same tests, same profile and
seed, same limits, same simulated faults. The given station file supplies the bench
(ports, instruments); what decided the verdicts comes from the recorded run. Its
`[limits]` are replaced by the run's overrides, its `[hypothesis]` and `[sim]` by the
recorded ones (a state-machine failure's `@reproduce_failure` blob is replayed before
the search runs again: `--search-replay`), and the copy is kept beside the new run
directory (not inside it, where it would be an unlisted file), named in the printed
command.

The recorded run may be foreign, so nothing from it reaches the command line or a path
unchecked: its run id is made file-name safe before it names a directory, only
relative paths under `suites/` and the selection options (-k, -m, --deselect,
--ignore, --ignore-glob) are carried over (never an `@argsfile`, an absolute path, a
`..`, or any other option), and the profile, seed and faults must be ones the harness
knows. What is dropped is said in a note.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import time
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

from fixtures import fixture_path
from harness.bench.station import SEARCH_PROFILES, parse_station
from harness.record.rundir import safe_name
from harness.sim.faults import FAULTS
from reports import tomlw
from reports.console import say
from reports.errors import ReportError
from reports.rundata import RunData, load_run
from reports.values import as_map

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
    "--search-replay", "--sim-lawyer-seed",
}  # fmt: skip
_KEPT_OPTS = {"-k", "-m", "--deselect", "--ignore", "--ignore-glob"}
_PATH_OPTS = {"--deselect", "--ignore", "--ignore-glob"}  # their value is a suite path
SUITES = "suites"
MAX_ARG = 500
_SAFE_SEED = re.compile(r"[A-Za-z0-9_.]{1,64}")
_SAFE_REPLAY = re.compile(r"[0-9][0-9A-Za-z.+-]{0,39}:[A-Za-z0-9+/=]{4,20000}")  # VERSION:BLOB


def suite_path(arg: str) -> bool:
    """A relative path (or node id) under `suites/`: nothing else is run or read."""
    path = arg.split("::", 1)[0]
    p = PurePosixPath(path)
    return (
        len(arg) <= MAX_ARG
        and bool(p.parts)
        and not p.is_absolute()
        and p.parts[0] == SUITES
        and ".." not in p.parts
        and "\\" not in arg
        and not any(ch in arg for ch in "\x00\n\r")
    )


def _kept(opt: str, value: str) -> bool:
    if opt in _PATH_OPTS:
        return suite_path(value)
    return len(value) <= MAX_ARG and not value.startswith(("-", "@")) and "\x00" not in value


def selection(argv: Any, notes: list[str] | None = None) -> list[str]:
    """The test selection of a recorded pytest command: its paths under `suites/` and its
    -k/-m/--deselect/--ignore; whatever else it held is dropped (and said in `notes`)."""
    if not isinstance(argv, list):
        return [SUITES]
    args = [str(a) for a in argv[1:]]
    out: list[str] = []
    paths: list[str] = []
    dropped: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in _VALUE_OPTS:
            value = args[i + 1] if i + 1 < len(args) else ""
            if a in _KEPT_OPTS and i + 1 < len(args):
                (out.extend((a, value)) if _kept(a, value) else dropped.append(f"{a} {value}"))
            i += 2
            continue
        if a.startswith("-"):
            opt, eq, value = a.partition("=")
            if opt in _KEPT_OPTS and eq:
                (out.append(a) if _kept(opt, value) else dropped.append(a))
            i += 1
            continue
        (paths.append(a) if suite_path(a) else dropped.append(a))
        i += 1
    if dropped and notes is not None:
        shown = ", ".join(repr(d[:80]) for d in dropped[:5])
        notes.append(f"not carried over from the recorded command (not under suites/): {shown}")
    return (paths or [SUITES]) + out


def _int_seed(seed: Any) -> int | None:
    """A recorded seed as the integer a station file takes (None if it is not one)."""
    if isinstance(seed, bool):
        return None
    if isinstance(seed, int):
        return seed if abs(seed) < 2**63 else None
    text = str(seed)
    if not re.fullmatch(r"-?[0-9]{1,19}", text):
        return None
    return int(text) if abs(int(text)) < 2**63 else None


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
    long_s = hyp.get("long_recording_s")
    if isinstance(long_s, int | float) and not isinstance(long_s, bool) and 0.5 <= long_s <= 600:
        table["long_recording_s"] = float(long_s)  # the same long recording as then
    budget = hyp.get("shrink_budget_s")
    if isinstance(budget, int | float) and not isinstance(budget, bool) and 1 <= budget <= 3600:
        table["shrink_budget_s"] = float(budget)  # and the same bound on shrinking
    if table:
        data["hypothesis"] = table
    sim = as_map(s.get("sim"))
    if sim and "sim" in data:
        recorded_sim = as_map(as_map(s.get("station_config")).get("sim"))
        seed = _int_seed(recorded_sim.get("seed", as_map(data["sim"]).get("seed", 1)))
        data["sim"] = {
            "faults": [],  # passed as --sim-fault, visible in the command
            "knobs": dict(as_map(sim.get("knobs"))),
            "seed": 1 if seed is None else seed,
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
    cmd = [sys.executable, "-m", "pytest", *selection(s.get("command"), notes)]
    cmd += ["--station", str(station_path), "--report-dir", str(report_dir)]
    hyp = as_map(s.get("hypothesis"))
    if hyp.get("profile") in SEARCH_PROFILES:
        cmd += ["--hypothesis-profile", str(hyp["profile"])]
    elif hyp.get("profile"):
        notes.append(f"recorded Hypothesis profile {str(hyp['profile'])[:40]!r} is not one of "
                     f"{sorted(SEARCH_PROFILES)}: not used")  # fmt: skip
    seed = hyp.get("seed")
    seed_text = str(seed) if isinstance(seed, int | str) and not isinstance(seed, bool) else ""
    if _SAFE_SEED.fullmatch(seed_text):  # every run records one (an int, or text as given)
        cmd += ["--hypothesis-seed", seed_text]
    elif seed not in (None, ""):
        notes.append("the recorded Hypothesis seed is not a plain number or word: not used")
    else:
        notes.append("no Hypothesis seed was recorded: state-machine sequences will differ")
    replay = hyp.get("failure")
    if isinstance(replay, str) and _SAFE_REPLAY.fullmatch(replay):
        cmd += ["--search-replay", replay]  # the state machine's recorded failure, first
    elif replay is not None:
        notes.append("the recorded state-machine failure blob is malformed: not replayed")
    if s.get("sim") and "sim" in data:
        faults = as_map(s.get("sim")).get("faults")
        for fault in faults if isinstance(faults, list) else []:
            if isinstance(fault, str) and fault in FAULTS:
                cmd += ["--sim-fault", fault]
            else:
                notes.append(f"recorded fault {str(fault)[:40]!r} is not in the catalogue: dropped")
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
    default = f"out/rerun-{safe_name(run.run_id, 80)}-{time.strftime('%H%M%S')}"
    new = Path(args.report_dir or default).resolve()
    if new.exists() and any(new.iterdir()):
        raise ReportError(f"{new}: exists and is not empty; give a new --report-dir")
    cmd, text, notes = plan(run, args.station, new, list(args.passthrough))
    station_path = Path(cmd[cmd.index("--station") + 1])
    say(*(f"note: {note}" for note in notes), f"station copy: {station_path}", shlex.join(cmd))
    sys.stdout.flush()
    if args.dry_run:
        return 0
    station_path.parent.mkdir(parents=True, exist_ok=True)
    station_path.write_text(text, encoding="utf-8")
    try:
        return subprocess.run(cmd, cwd=REPO, timeout=args.timeout, check=False).returncode
    except subprocess.TimeoutExpired:
        raise ReportError(f"the re-run took over {args.timeout:.0f} s and was stopped") from None

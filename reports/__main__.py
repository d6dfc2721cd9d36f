"""`python -m reports COMMAND`: conformance report, Allure report, evidence bundle, re-runs.

Each command lives in its own module with `add_parser` and `main`; this file only
wires them up and turns a `ReportError` into one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from reports import allure_report, build, compare, keygen, rerun, sign, verify
from reports.console import say
from reports.errors import ReportError

COMMANDS = (build, allure_report, verify, sign, keygen, rerun, compare)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m reports",
        description="Reports and evidence for Tally runs (a run directory, RUN_DIR).",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # everything after `--` goes to pytest (rerun); argparse cannot take it after options
    passthrough: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    args = parser().parse_args(argv)
    if passthrough and args.command != "rerun":
        parser().error(f"only rerun takes arguments after --, not {args.command}")
    args.passthrough = passthrough
    try:
        return int(args.func(args))
    except ReportError as exc:
        say(f"error: {exc}", err=True)
        return 2
    except BrokenPipeError:  # `... | head`: the reader has all it wanted
        sys.stderr.close()
        return 1


if __name__ == "__main__":
    sys.exit(main())

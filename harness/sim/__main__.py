"""``python -m harness.sim``: run a simulated station, or list its fault catalogue.

``serve`` writes the station file only once every port listens (atomically, so a waiting
harness never reads half of it), prints it, and runs until SIGTERM or SIGINT; on the way
out it removes the file, which would otherwise name ports nobody listens on.

With ``--lifeline-fd FD`` it also ends when FD (the read end of a pipe whose write end
only its parent holds) reaches end of file: the parent is gone, however it died (even
SIGKILL, which leaves no chance to stop children), so no simulated bench outlives it.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from harness.sim.config import SimDeviceConfig, apply_knobs, knob_names, parse_knob
from harness.sim.faults import FAULTS, check_faults
from harness.sim.station import SimStation


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m harness.sim", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the simulated bench until SIGTERM/SIGINT")
    serve.add_argument("--station-out", type=Path, required=True, help="station file to write")
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="activate a fault (repeatable); see `faults`",
    )
    serve.add_argument(
        "--knob",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"device knob (repeatable): {', '.join(knob_names())}",
    )
    serve.add_argument("--seed", type=int, default=None, help="seed every random choice")
    serve.add_argument(
        "--lawyer-seed",
        type=int,
        default=None,
        metavar="N",
        help="spec-lawyer mode: a device that takes every liberty the spec allows, varied by N",
    )
    serve.add_argument("--visible-v", type=float, default=0.5)
    serve.add_argument("--sample-interval-s", type=float, default=0.0002)
    serve.add_argument("--no-power", action="store_true", help="no bench supply")
    serve.add_argument(
        "--lifeline-fd",
        type=int,
        default=None,
        metavar="FD",
        help="exit when this pipe's write end closes (the parent died)",
    )
    serve.add_argument("--no-shutter", action="store_true", help="no indicator shutter")
    sub.add_parser("faults", help="list the fault catalogue")
    return p


def _list_faults() -> None:
    for f in FAULTS.values():
        clauses = ",".join(f.clauses) or "-"
        if f.verdict != "FAIL":
            clauses = f"{f.verdict}: {clauses}"
        also = f" (may also fail: {','.join(f.incidental)})" if f.incidental else ""
        print(f"{f.name:28} {f.kind:14} {clauses:36} {f.description}{also}")


def _serve(args: argparse.Namespace) -> int:
    try:
        faults = check_faults(args.fault)
        knobs = dict(parse_knob(k) for k in args.knob)
        if args.seed is not None:
            knobs["seed"] = str(args.seed)
        if args.lawyer_seed is not None:
            knobs["lawyer_seed"] = str(args.lawyer_seed)
        config = apply_knobs(SimDeviceConfig(), knobs)
    except ValueError as exc:
        print(f"harness.sim: {exc}", file=sys.stderr)
        return 2
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    if args.lifeline_fd is not None:
        threading.Thread(
            target=_watch_lifeline, args=(args.lifeline_fd, done), name="lifeline", daemon=True
        ).start()
    with SimStation(config, faults, power=not args.no_power, shutter=not args.no_shutter) as bench:
        path = bench.write_station(args.station_out, args.visible_v, args.sample_interval_s)
        try:
            print(path.read_text(encoding="utf-8"), flush=True)
            while not done.wait(0.5):
                pass
        finally:
            path.unlink(missing_ok=True)  # it describes ports that are about to close
    return 0


LIFELINE_GRACE_S = 10.0  # to stop cleanly once the parent is gone; then exit regardless


def _watch_lifeline(fd: int, done: threading.Event) -> None:
    """Block on the lifeline; at its end (the parent died) stop, and exit if stopping hangs."""
    try:
        while os.read(fd, 4096):
            pass
    except OSError:
        pass
    done.set()
    time.sleep(LIFELINE_GRACE_S)
    os._exit(3)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "faults":
        _list_faults()
        return 0
    return _serve(args)


if __name__ == "__main__":
    sys.exit(main())

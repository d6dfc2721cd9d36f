"""`python -m reports sign RUN_DIR --key PRIVATE_PEM`: seal the evidence with `manifest.sig`.

The bundle is checked first and not signed unless every listed file is intact and the
run finished: a signature vouches for the evidence, so it must never cover a bundle
that already differs from what the run wrote.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.record.rundir import write_atomic
from reports.console import say
from reports.errors import ReportError
from reports.keys import fingerprint, load_private_key
from reports.rundata import SIGNATURE
from reports.verify import check, problems


def sign(run_dir: str | Path, key_path: str | Path, *, allow_incomplete: bool = False) -> str:
    """Write RUN_DIR/manifest.sig; return the signing key's fingerprint."""
    root = Path(run_dir)
    key = load_private_key(key_path)
    res = check(root)
    if not res.intact or not (res.complete or allow_incomplete):
        raise ReportError(f"{root}: not signing: " + "; ".join(problems(res)[:8]))
    write_atomic(root / SIGNATURE, key.sign(res.manifest_bytes))  # the bytes just checked
    return fingerprint(key.public_key())


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sign", help="sign RUN_DIR/manifest.json (Ed25519) into manifest.sig")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--key", required=True, metavar="PRIVATE_PEM")
    p.add_argument("--allow-incomplete", action="store_true", help="sign an interrupted run")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    fp = sign(args.run_dir, args.key, allow_incomplete=args.allow_incomplete)
    say(f"signed {Path(args.run_dir) / SIGNATURE} with key {fp}")
    return 0

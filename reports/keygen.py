"""`python -m reports keygen DIR`: an Ed25519 key pair for signing evidence manifests.

The private key is written readable by its owner only and never overwritten: losing a
lab's signing key by a mistyped command would orphan every bundle it signed.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from reports.console import say
from reports.errors import ReportError
from reports.keys import fingerprint, private_pem, public_pem

PRIVATE_NAME = "tally-signing-key.pem"
PUBLIC_NAME = "tally-signing-key.pub.pem"


def keygen(directory: str | Path) -> tuple[Path, Path, str]:
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    priv, pub = d / PRIVATE_NAME, d / PUBLIC_NAME
    for p in (priv, pub):
        if p.exists():
            raise ReportError(f"{p}: already exists; not overwriting a key")
    key = Ed25519PrivateKey.generate()
    fd = os.open(priv, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private_pem(key))
    pub.write_bytes(public_pem(key.public_key()))
    return priv, pub, fingerprint(key.public_key())


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keygen", help="make an Ed25519 key pair for signing manifests")
    p.add_argument("directory", metavar="DIR")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    priv, pub, fp = keygen(args.directory)
    say(f"private key {priv} (keep it secret)", f"public key  {pub}", f"fingerprint {fp}")
    return 0

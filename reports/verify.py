"""`python -m reports verify RUN_DIR [--public-key PEM]`: is the evidence what was recorded?

Every file listed in `manifest.json` is hashed again; the answer names each file that
changed, is missing, or is present without being listed, so a reviewer knows exactly
what to distrust. With a public key the Ed25519 signature over the manifest's exact
bytes is checked too. Exit status 0 only if the bundle is intact (and signed, when a
key is given).

The reports built from the run (`report.html`, `report.json`) are not in the manifest
(they are built after the run, and may be built after it was signed), but they are
covered all the same: verify rebuilds them from the evidence it just checked and
compares them byte for byte (`reports.reportcheck`), so a report edited after the fact
(a FAIL turned into a PASS) makes the bundle fail, and the file is named.

The manifest is read once: the bytes whose entries are checked are the bytes whose
signature is checked. Everything printed goes through `reports.console.say`.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from harness.record.rundir import sha256_file
from reports.console import say
from reports.keys import fingerprint, load_public_key, signature_valid
from reports.reportcheck import DERIVED, check_reports
from reports.rundata import MANIFEST, SIGNATURE, load_manifest_bytes


@dataclass
class Integrity:
    """What a check of a run directory found."""

    run_id: str = ""
    listed: int = 0
    complete: bool = False
    changed: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    derived: list[str] = field(default_factory=list)
    signature: str = "absent"  # absent | valid | invalid | unchecked | missing
    key_fingerprint: str = ""
    manifest_bytes: bytes = b""  # what was checked (and what `sign` signs)

    @property
    def intact(self) -> bool:
        return not (self.changed or self.missing or self.unlisted)

    def ok(self, *, allow_incomplete: bool = False) -> bool:
        sig_ok = self.signature in ("valid", "absent", "unchecked")
        return self.intact and sig_ok and (self.complete or allow_incomplete)


def _present(root: Path) -> set[str]:
    """Every file under root as a relative POSIX path; symlinks are listed, never followed."""
    out: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        names = filenames + [d for d in dirnames if (base / d).is_symlink()]
        for name in names:
            out.add((base / name).relative_to(root).as_posix())
    return out


def _safe_rel(rel: str) -> bool:
    p = PurePosixPath(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts and "\\" not in rel


def check(run_dir: str | Path, public_key: str | Path | None = None) -> Integrity:
    root = Path(run_dir)
    manifest, manifest_bytes = load_manifest_bytes(root)
    files: dict = manifest["files"]
    res = Integrity(str(manifest.get("run_id", "")), len(files), bool(manifest.get("complete")))
    res.manifest_bytes = manifest_bytes
    present = _present(root)
    for rel, entry in sorted(files.items()):
        if not _safe_rel(rel):
            res.changed.append((rel, "unsafe path in the manifest"))
            continue
        path = root / rel
        if rel not in present:
            res.missing.append(rel)
        elif path.is_symlink() or not path.is_file():
            res.changed.append((rel, "no longer a regular file"))
        else:
            entry = entry if isinstance(entry, dict) else {}
            size, digest = path.stat().st_size, sha256_file(path)
            if digest != entry.get("sha256"):
                why = f"sha256 {digest[:12]}… != recorded {str(entry.get('sha256'))[:12]}…"
                if entry.get("bytes") is not None and entry.get("bytes") != size:
                    why += f"; {size} bytes, recorded {entry.get('bytes')}"
                res.changed.append((rel, why))
    for rel in sorted(present - set(files) - {MANIFEST, SIGNATURE}):
        (res.derived if rel in DERIVED else res.unlisted).append(rel)
    res.changed += check_reports(root, res.derived)
    sig_path = root / SIGNATURE
    if public_key is not None:
        key = load_public_key(public_key)
        res.key_fingerprint = fingerprint(key)
        if not sig_path.is_file():
            res.signature = "missing"
        else:
            ok = signature_valid(key, manifest_bytes, sig_path.read_bytes())
            res.signature = "valid" if ok else "invalid"
    elif sig_path.is_file():
        res.signature = "unchecked"
    return res


def problems(res: Integrity) -> list[str]:
    """One line per thing that makes the bundle differ from what the run recorded."""
    lines = []
    if not res.complete:
        lines.append(
            "INCOMPLETE: the manifest says the run did not finish; it lists only what was "
            "written before it stopped"
        )
    lines += [f"CHANGED  {rel}: {why}" for rel, why in res.changed]
    lines += [f"MISSING  {rel}" for rel in res.missing]
    lines += [f"EXTRA    {rel}: present but not in the manifest" for rel in res.unlisted]
    return lines


def describe(res: Integrity, *, allow_incomplete: bool = False) -> list[str]:
    lines = [f"run {res.run_id}: {res.listed} files in the manifest", *problems(res)]
    changed = {rel for rel, _ in res.changed}
    lines += [
        f"derived  {rel}: rebuilt from the evidence: identical"
        for rel in res.derived
        if rel not in changed
    ]
    sig = {
        "absent": "signature: none (manifest.sig absent)",
        "unchecked": "signature: manifest.sig present, not checked (give --public-key)",
        "valid": f"signature: VALID, key {res.key_fingerprint}",
        "invalid": f"SIGNATURE INVALID for key {res.key_fingerprint}: manifest.json or "
        "manifest.sig was altered, or another key signed it",
        "missing": f"SIGNATURE MISSING: no manifest.sig to check against {res.key_fingerprint}",
    }[res.signature]
    lines.append(sig)
    if res.ok(allow_incomplete=allow_incomplete):
        lines.append("OK: every listed file is intact and nothing unlisted is present")
    else:
        lines.append("NOT INTACT" if not res.intact else "NOT ACCEPTED")
    return lines


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="re-hash RUN_DIR against its manifest (and signature)")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--public-key", metavar="PEM", help="check manifest.sig with this key")
    p.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="accept a manifest of an interrupted run (still reported)",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    res = check(args.run_dir, args.public_key)
    say(*describe(res, allow_incomplete=args.allow_incomplete))
    return 0 if res.ok(allow_incomplete=args.allow_incomplete) else 1

"""Ed25519 keys and signatures over the exact bytes of `manifest.json`.

The manifest lists every evidence file with its SHA-256, so one signature over its
bytes seals the whole run directory. The signature file is the raw 64-byte Ed25519
signature, which standard tools check too:
`openssl pkeyutl -verify -pubin -inkey KEY.pub.pem -rawin -in manifest.json -sigfile manifest.sig`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from reports.errors import ReportError

SIGNATURE_BYTES = 64


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ReportError(f"{path}: cannot read key: {exc.strerror or exc}") from None


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    p = Path(path)
    try:
        key = serialization.load_pem_private_key(_read(p), password=None)
    except (ValueError, TypeError) as exc:
        raise ReportError(f"{p}: not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ReportError(f"{p}: not an Ed25519 private key")
    return key


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    p = Path(path)
    try:
        key = serialization.load_pem_public_key(_read(p))
    except (ValueError, TypeError) as exc:
        raise ReportError(f"{p}: not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ReportError(f"{p}: not an Ed25519 public key")
    return key


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, the short name a lab quotes for its key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:32]


def signature_valid(key: Ed25519PublicKey, data: bytes, signature: bytes) -> bool:
    if len(signature) != SIGNATURE_BYTES:
        return False
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

"""The evidence bundle: verify names every changed, missing and extra file; signatures hold."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from reports.__main__ import main
from reports.build import build
from reports.errors import ReportError
from reports.keygen import PRIVATE_NAME, PUBLIC_NAME, keygen
from reports.sign import sign
from reports.verify import check
from tests.reports.handmade import MakeRun
from tests.runs import read_json


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    priv, pub, _ = keygen(tmp_path / "keys")
    return priv, pub


def serial_log(run: Path) -> Path:
    return next(run.glob("tests/*/serial.log"))


def test_intact_run_verifies(make_run: MakeRun, capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run()
    assert main(["verify", str(run)]) == 0
    out = capsys.readouterr().out
    assert "OK: every listed file is intact" in out
    assert "signature: none" in out


def test_changed_byte_is_named(make_run: MakeRun, capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run()
    log = serial_log(run)
    data = bytearray(log.read_bytes())
    data[3] ^= 0x01  # one bit of one byte, same size
    log.write_bytes(bytes(data))
    assert main(["verify", str(run)]) == 1
    out = capsys.readouterr().out
    rel = log.relative_to(run).as_posix()
    assert f"CHANGED  {rel}: sha256" in out
    assert "NOT INTACT" in out


def test_missing_and_extra_files_are_named(
    make_run: MakeRun, capsys: pytest.CaptureFixture[str]
) -> None:
    run = make_run()
    (run / "tests.jsonl").unlink()
    (run / "tests" / "planted.txt").write_text("not from the run")
    assert main(["verify", str(run)]) == 1
    out = capsys.readouterr().out
    assert "MISSING  tests.jsonl" in out
    assert "EXTRA    tests/planted.txt: present but not in the manifest" in out


def test_built_reports_verify_and_a_planted_one_does_not(make_run: MakeRun) -> None:
    run = make_run()
    build(run)
    res = check(run)
    assert res.intact and res.derived == ["report.html", "report.json"], res.changed
    (run / "report.html").write_text("<html></html>")
    res = check(run)
    assert not res.intact
    assert [rel for rel, _ in res.changed] == ["report.html"]


def test_incomplete_manifest_is_reported(
    make_run: MakeRun, capsys: pytest.CaptureFixture[str]
) -> None:
    run = make_run(finish=False)
    assert main(["verify", str(run)]) == 1
    assert "INCOMPLETE: the manifest says the run did not finish" in capsys.readouterr().out
    assert main(["verify", str(run), "--allow-incomplete"]) == 0


def test_signature_valid_then_bad(make_run: MakeRun, keys: tuple[Path, Path]) -> None:
    priv, pub = keys
    run = make_run()
    sign(run, priv)
    assert check(run, pub).signature == "valid"
    assert main(["verify", str(run), "--public-key", str(pub)]) == 0

    sig = run / "manifest.sig"
    bad = bytearray(sig.read_bytes())
    bad[0] ^= 0xFF
    sig.write_bytes(bytes(bad))
    assert check(run, pub).signature == "invalid"
    assert main(["verify", str(run), "--public-key", str(pub)]) == 1


def test_signature_fails_when_manifest_is_edited(
    make_run: MakeRun, keys: tuple[Path, Path]
) -> None:
    """Someone edits a file and re-hashes it into the manifest: the hashes agree again, but
    the signature over the manifest no longer does."""
    priv, pub = keys
    run = make_run()
    sign(run, priv)
    log = serial_log(run)
    log.write_text("forged\n")
    manifest = read_json(run / "manifest.json")
    rel = log.relative_to(run).as_posix()
    manifest["files"][rel] = {"sha256": hashlib.sha256(b"forged\n").hexdigest(), "bytes": 7}
    (run / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    res = check(run, pub)
    assert res.intact and res.signature == "invalid"
    assert not res.ok()


def test_another_key_and_no_signature_fail(
    make_run: MakeRun, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    priv, _ = keys
    _, other_pub, _ = keygen(tmp_path / "other")
    run = make_run()
    assert check(run, other_pub).signature == "missing"
    sign(run, priv)
    assert check(run, other_pub).signature == "invalid"


def test_sign_refuses_a_tampered_bundle(make_run: MakeRun, keys: tuple[Path, Path]) -> None:
    priv, _ = keys
    run = make_run()
    serial_log(run).write_text("changed after the run\n")
    with pytest.raises(ReportError, match="not signing: CHANGED"):
        sign(run, priv)
    assert not (run / "manifest.sig").exists()


def test_keygen_never_overwrites(tmp_path: Path) -> None:
    priv, pub, fp = keygen(tmp_path)
    assert priv.name == PRIVATE_NAME and pub.name == PUBLIC_NAME and fp.startswith("ed25519:")
    assert priv.stat().st_mode & 0o077 == 0
    with pytest.raises(ReportError, match="already exists"):
        keygen(tmp_path)


def test_cli_sign_and_verify(make_run: MakeRun, tmp_path: Path) -> None:
    run = make_run()
    assert main(["keygen", str(tmp_path / "k")]) == 0
    key = tmp_path / "k" / PRIVATE_NAME
    assert main(["sign", str(run), "--key", str(key)]) == 0
    pub = tmp_path / "k" / PUBLIC_NAME
    assert main(["verify", str(run), "--public-key", str(pub)]) == 0


def test_not_a_key_is_one_clear_error(make_run: MakeRun, tmp_path: Path) -> None:
    run = make_run()
    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    assert main(["sign", str(run), "--key", str(junk)]) == 2

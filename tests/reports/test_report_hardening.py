"""Attacks on a run directory and the report commands, each tried and refused.

Whoever hands over a run directory controls every byte in it: the reports must not be
editable after signing, must print nothing that drives a terminal, must read any JSON
without a traceback, must show only plots that are evidence, and `rerun` must not run
what the recorded command smuggled in.
"""

from __future__ import annotations

import base64
import hashlib
import json
import tomllib
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from harness.record.rundir import RunDir, safe_name
from reports.__main__ import main
from reports.build import build
from reports.keygen import keygen
from reports.rerun import plan, selection
from reports.rundata import load_run
from reports.sign import sign
from reports.tomlw import dumps
from reports.verify import check
from tests.reports.handmade import MakeRun, make_summary, measurement
from tests.runs import run_module

ESC = "\x1b"
FORGED = f"{ESC}[2J{ESC}[H\rsignature: VALID, key ed25519:forged\n\u202eOK: every listed file"


def failing_summary() -> dict:
    """A run whose MIN-1 FAILed (the verdict an editor would like to turn into a PASS)."""
    s = make_summary(verdict="FAIL")
    test = "suites/test_x.py::test_x"
    s["tests"][test].update(outcome="FAIL", reason="AssertionError: MIN-1 FAIL: location kept")
    s["clauses"]["MIN-1"].update(
        verdict="FAIL", tests=[test],
        reasons=[f"{test}: AssertionError: MIN-1 FAIL: location kept"],
        measurements=[measurement("MIN-1", "unrequested_fields_stored", 1.0, unit="count",
                                  comparison="<=", uncertainty=0.0, verdict="FAIL")],
    )  # fmt: skip
    return s


# -- 1. a signed report cannot be edited unnoticed ----------------------------------------


def test_fail_turned_into_pass_in_both_reports_after_signing_fails_verify(
    make_run: MakeRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    priv, pub, _ = keygen(tmp_path / "keys")
    run = make_run(failing_summary())
    build(run)
    sign(run, priv)
    assert main(["verify", str(run), "--public-key", str(pub)]) == 0
    assert "derived  report.json: rebuilt from the evidence: identical" in capsys.readouterr().out

    # the attack: FAIL -> PASS in both reports, consistently; the signed evidence untouched
    for name in ("report.json", "report.html"):
        path = run / name
        path.write_text(path.read_text().replace("FAIL", "PASS"))
    assert json.loads((run / "report.json").read_text())["run"]["verdict"] == "PASS"
    assert main(["verify", str(run), "--public-key", str(pub)]) == 1
    out = capsys.readouterr().out
    assert "CHANGED  report.json: differs from the report the evidence gives" in out
    assert "CHANGED  report.html: differs from the report the evidence gives" in out
    assert "signature: VALID" in out and "NOT INTACT" in out  # the evidence still is signed

    # a report rebuilt from the evidence verifies again, and says FAIL
    _, _, model = build(run)
    assert model["run"]["verdict"] == "FAIL"
    assert main(["verify", str(run), "--public-key", str(pub)]) == 0


def test_a_report_without_its_json_cannot_pass_for_evidence(make_run: MakeRun) -> None:
    run = make_run()
    build(run)
    (run / "report.json").unlink()
    res = check(run)
    assert not res.intact
    assert res.changed == [
        ("report.html", "cannot be checked against the evidence: there is no report.json "
         "(a regular file) to rebuild it from")
    ]  # fmt: skip


def test_manifest_swapped_between_reads_cannot_pass_as_signed(
    make_run: MakeRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The manifest is read once: a file served forged at the first read and genuine at a
    later one (a swap mid-check, a FIFO) cannot get its forged hashes checked and the
    genuine bytes' signature found valid."""
    priv, pub, _ = keygen(tmp_path / "keys")
    run = make_run()
    sign(run, priv)
    log = next(run.glob("tests/*/serial.log"))
    rel = log.relative_to(run).as_posix()
    genuine = (run / "manifest.json").read_bytes()
    forged_manifest = json.loads(genuine)
    log.write_text("forged\n")
    forged_manifest["files"][rel] = {
        "sha256": hashlib.sha256(b"forged\n").hexdigest(),
        "bytes": 7,
    }
    forged = json.dumps(forged_manifest, indent=2, sort_keys=True).encode() + b"\n"
    reads = []
    real_read_bytes = Path.read_bytes

    def serve(self: Path) -> bytes:
        if self.name != "manifest.json":
            return real_read_bytes(self)
        reads.append(self)
        return forged if len(reads) == 1 else genuine

    monkeypatch.setattr(Path, "read_bytes", serve)
    res = check(run, pub)
    assert len(reads) == 1
    assert res.signature == "invalid" and not res.ok()


# -- 2. device and run text printed harmlessly --------------------------------------------


def test_verify_and_compare_print_no_controls_and_forge_no_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = make_summary(run_id=f"tally-x{FORGED}")
    s["clauses"]["IND-2"]["measurements"][0]["name"] = f"lead{FORGED}"
    s["clauses"][f"IND-9{FORGED}"] = {"verdict": f"PASS{FORGED}"}
    rd = RunDir(tmp_path / "hostile", run_id=s["run_id"])
    rd.write_json("summary.json", s)
    rd.finish()
    (rd.root / f"planted{FORGED}.txt").write_text("x")
    assert main(["verify", str(rd.root)]) == 1
    assert main(["compare", str(rd.root), str(rd.root)]) == 0
    assert main(["build", str(rd.root)]) == 0
    out = capsys.readouterr().out
    assert ESC not in out and "\r" not in out and "\u202e" not in out
    lines = out.splitlines()
    assert not [ln for ln in lines if ln.startswith(("signature: VALID", "OK: every listed"))]
    assert "EXTRA    planted\\x1b[2J\\x1b[H\\x0dsignature: VALID" in out  # named, escaped


def test_report_shows_bidi_and_controls_of_the_device_escaped(make_run: MakeRun) -> None:
    """A right-to-left override in a vendor string would reorder what the report shows
    around it (a FAIL read as LIAF, a serial number moved): the report shows it escaped."""
    s = make_summary()
    s["dut"].update(vendor="Acme\u202eLIAF\x1b[2J", serial_number="S1\u2066\x85")
    html_path, json_path, _ = build(make_run(s))
    for text in (html_path.read_text(), json.loads(json_path.read_text())["item"]["vendor"]):
        assert "\u202e" not in text and "\x1b" not in text and "\x85" not in text
    assert "Acme\\u202eLIAF\\x1b[2J" in html_path.read_text()
    assert "S1\\u2066\\u0085" in html_path.read_text()


def test_csv_text_never_starts_a_formula() -> None:
    from harness.wire.text import csv_text, printable, unescape

    for hostile in ('=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        cell = csv_text(hostile)
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
        assert "\n" not in cell and "\r" not in cell and "," not in cell
    raw = b"ok \x1b[2J \xff\xfe \\x1b \xe2\x80\xae \r\n end"
    assert unescape(printable(raw.decode("utf-8", "surrogateescape"))) == raw


# -- 3. any summary is read without a traceback -------------------------------------------


def hostile_summary_text() -> str:
    """A summary with numbers no float holds and nesting no parser likes."""
    s = make_summary()
    s["clauses"]["IND-2"]["measurements"][0]["value"] = "HUGE"
    s["clauses"]["IND-2"]["measurements"].append(
        measurement("IND-2", "indicator_lead", 1.0, uncertainty="HUGE", limit="HUGE")
    )
    s["station_config"]["photodiode"] = {"range_v": "DEEP"}
    s["calibration"]["note"] = "DEEP"
    s["hypothesis"] = {"profile": "sim", "seed": "HUGE"}
    text = json.dumps(s)
    deep = "[" * 600 + "]" * 600  # parses, but recursing over it would not
    return text.replace('"HUGE"', "1" + "0" * 400).replace('"DEEP"', deep)


@pytest.mark.parametrize("depth", [600, 100_000])
def test_reports_read_huge_numbers_and_deep_nesting_without_a_traceback(
    tmp_path: Path, depth: int
) -> None:
    text = hostile_summary_text()
    if depth > 600:  # too deep for the JSON parser itself: one clear error
        text = text.replace("[" * 600 + "]" * 600, "[" * depth + "]" * depth)
    rd = RunDir(tmp_path / "run", run_id="tally-20260101-000000-deadbeef")
    rd.write_text("summary.json", text)
    rd.finish()
    other = tmp_path / "other"
    RunDir(other, run_id="tally-2").write_json("summary.json", make_summary())
    for args in (
        ["build", str(rd.root)],
        ["verify", str(rd.root)],
        ["compare", str(rd.root), str(other)],
        ["compare", str(rd.root), str(other), "--json"],
        ["rerun", str(rd.root), "--station", "sim", "--dry-run",
         "--report-dir", str(tmp_path / "new")],
    ):  # fmt: skip
        res = run_module("reports", args, timeout_s=120)
        assert "Traceback" not in res.output, (args, res.output[-2000:])
        assert res.returncode in (0, 1, 2), (args, res.returncode, res.output[-2000:])
        if depth > 600 and args[0] != "verify":
            assert res.returncode == 2 and "nested too deeply" in res.stderr, res.output


# -- 4. only evidence is shown as evidence ------------------------------------------------


def test_report_inlines_only_plots_the_manifest_lists_with_their_hash(make_run: MakeRun) -> None:
    run = make_run(png=True)
    listed = next(run.glob("tests/*/light-1-*.png"))
    planted = listed.with_name("light-2-video-user.png")
    fig = Figure(figsize=(2, 1))
    fig.add_subplot().plot([0, 1], [1, 0])
    fig.savefig(planted)  # a valid PNG, a different picture, never entered into the manifest
    _, _, model = build(run)
    assert [p["file"] for p in model["plots"]] == [listed.relative_to(run).as_posix()]
    assert planted.relative_to(run).as_posix() in model["plots_left_out"]

    listed.write_bytes(planted.read_bytes())  # replaced after the run: its hash differs
    html, _, model = build(run)
    assert model["plots"] == []
    assert listed.relative_to(run).as_posix() in model["plots_left_out"]
    assert base64.b64encode(planted.read_bytes()).decode() not in html.read_text()


# -- 5. rerun with a foreign run directory -------------------------------------------------


def test_rerun_of_a_foreign_run_passes_on_nothing_smuggled(
    make_run: MakeRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "/x/pytest/__main__.py", "suites/test_consent.py", "@/tmp/evil-args", "/etc/passwd",
        "suites/../../etc/x.py", "/abs/suites/test_y.py", "-k", "--pdb", "-m", "not slow",
        "--deselect", "/etc/z", "--rootdir=/", "-p", "evil_plugin", "--ignore=suites/x.py",
        "-k=@argsfile", "suites/test_minimum.py::test_deleted_stays_deleted",
    ]  # fmt: skip
    notes: list[str] = []
    assert selection(argv, notes) == [
        "suites/test_consent.py", "suites/test_minimum.py::test_deleted_stays_deleted",
        "-m", "not slow", "--ignore=suites/x.py",
    ]  # fmt: skip
    assert "@/tmp/evil-args" in notes[0] and "/etc/passwd" in notes[0]

    s = make_summary(run_id="../../../tmp/escaped\nline", command=argv)
    s["hypothesis"] = {"profile": "--pdb", "seed": "--rootdir=/"}
    s["sim"] = {"faults": ["crlf", "--pdb", "x; rm -rf /"], "knobs": {}}
    run = make_run(s)
    cmd, _, notes = plan(load_run(run), "sim", tmp_path / "new", [])
    flat = " ".join(cmd)
    for smuggled in ("@/tmp", "/etc/", "--pdb", "--rootdir", "evil_plugin", "rm -rf"):
        assert smuggled not in flat, (smuggled, cmd)
    assert cmd.count("--sim-fault") == 1 and "crlf" in cmd
    assert any("profile" in n for n in notes) and any("seed" in n for n in notes)

    monkey_cwd = tmp_path / "cwd"
    monkey_cwd.mkdir()
    res = run_module("reports", ["rerun", str(run), "--station", "sim", "--dry-run"],
                     cwd=monkey_cwd)  # fmt: skip
    assert res.returncode == 0, res.output
    station_line = next(ln for ln in res.stdout.splitlines() if ln.startswith("station copy:"))
    new_dir = Path(station_line.split(": ", 1)[1]).parent
    assert new_dir == (monkey_cwd / "out").resolve()  # not ../../../tmp
    assert safe_name(s["run_id"], 80) in station_line and "\n" not in station_line


def test_rerun_keeps_a_128_bit_hypothesis_seed(make_run: MakeRun, tmp_path: Path) -> None:
    """Bounding what is read must not cost a legitimate value: Hypothesis prints seeds
    of 39 digits, and a re-run must replay them."""
    seed = 209107021100414669391473515695860707019
    s = make_summary(hypothesis={"profile": "sim", "seed": seed})
    cmd, _, _ = plan(load_run(make_run(s)), "sim", tmp_path / "new", [])
    assert cmd[cmd.index("--hypothesis-seed") + 1] == str(seed)


def test_toml_writer_quotes_a_key_with_a_trailing_newline() -> None:
    data = {"limits": {"revoke_ms\n": 1.0, "ok": 2}, "a\n[dut]\nport": {"x": "y"}}
    assert tomllib.loads(dumps(data)) == data

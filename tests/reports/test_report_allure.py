"""Allure glue and rendering: environment and categories files, results of a real run, and
the Allure Report 3 rendering of them (which needs node and npm: failed without them under
CI, skipped elsewhere)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.record.allure_files import (
    CATEGORIES,
    TEST_LABEL,
    settle_statuses,
    write_categories,
    write_environment,
)
from reports.allure_report import CONFIG, pinned_version, render
from tests.reports.handmade import make_summary
from tests.runs import ROOT, read_json, run_pytest

node_missing = pytest.mark.needs("node")

TINY_SUITE = """
import allure
import pytest


@allure.label("tally_test", "test_passes")
def test_passes():
    assert 1 + 1 == 2


@allure.label("tally_test", "test_device_fails")
def test_device_fails():
    # the words are the device's: they must not make this INCONCLUSIVE
    assert 0, "MIN-1 INCONCLUSIVE: unrequested_fields_stored = 1 count (U = 0, limit <= 0)"


@allure.label("tally_test", "test_guard_band")
def test_guard_band():
    assert 0, "indicator_lead = 0.05 ms (U = 0.16, limit >= 0)"


@allure.label("tally_test", "test_bench_breaks")
def test_bench_breaks():
    raise ConnectionError("serial port vanished")


@allure.label("tally_test", "test_skipped")
def test_skipped():
    pytest.skip("NOT_TESTED: the device does not offer artifact.info")
"""

# The typed verdicts the plugin would have recorded for the tiny suite's tests.
TINY_VERDICTS = {
    "test_passes": "PASS",
    "test_device_fails": "FAIL",
    "test_guard_band": "INCONCLUSIVE",
    "test_bench_breaks": "BROKEN",
    "test_skipped": "NOT_TESTED",
}

EXPECTED = {
    "test_passes": ("passed", None),
    "test_device_fails": ("failed", "Device non-conformance"),
    "test_guard_band": ("unknown", "Inconclusive (guard band or nothing observed)"),
    "test_bench_breaks": ("broken", "Bench fault"),
    "test_skipped": ("skipped", "Not tested"),
}


def decode_properties(text: str) -> dict[str, str]:
    """Java's Properties.load for the subset `write_environment` emits (one line per entry)."""
    out = {}
    for line in text.splitlines():
        assert line.isascii(), line
        key, i, esc = [], 0, False
        chars: list[str] = key
        while i < len(line):
            ch = line[i]
            if esc:
                if ch == "u":
                    code = int(line[i + 1 : i + 5], 16)
                    chars.append(chr(code))
                    i += 4
                else:
                    chars.append({"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(ch, ch))
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == "=" and chars is key:
                chars = []
            else:
                chars.append(ch)
            i += 1
        value = "".join(chars) if chars is not key else ""
        # join UTF-16 surrogate pairs back into one character
        value = value.encode("utf-16", "surrogatepass").decode("utf-16")
        out["".join(key)] = value
    return out


def test_environment_properties_carry_the_run_and_survive_hostile_strings(tmp_path: Path) -> None:
    s = make_summary()
    s["dut"]["vendor"] = "Evil=Corp: #1\n injected.key=1 \\ 眼鏡 😎"
    s["dut"]["firmware"] = " 2.0"
    path = write_environment(tmp_path, s)
    text = path.read_text(encoding="ascii")
    assert len(text.splitlines()) == len(decode_properties(text))
    env = decode_properties(text)
    assert env["DUT.vendor"] == s["dut"]["vendor"]
    assert "injected.key" not in env
    assert env["DUT.firmware"] == " 2.0"
    assert env["DUT.serial_number"] == "S1"
    assert env["Instrument.IDN"] == "Tally,SimPhotodiode,SIM0001,1.0"
    assert env["Calibration.visible_v"] == "0.5"
    assert env["Harness.git_commit"] == "abc"
    assert env["Hypothesis.seed"] == "7" and env["Hypothesis.profile"] == "sim"
    assert env["Python"] == "3.11.7" and env["Package.pytest"] == "9"
    assert env["Station"] == "sim" and env["Profile"] == "caict-2026"


def test_environment_of_a_run_whose_bench_never_opened(tmp_path: Path) -> None:
    s = make_summary(bench_error="TransportError: no such port")
    for key in ("dut", "calibration", "instrument"):
        s.pop(key)
    env = decode_properties(write_environment(tmp_path, s).read_text())
    assert env["Bench.error"] == "TransportError: no such port"
    assert "DUT.vendor" not in env


def test_categories_go_by_status_alone(tmp_path: Path) -> None:
    cats = read_json(write_categories(tmp_path))
    assert [c["name"] for c in cats] == [
        "Device non-conformance", "Inconclusive (guard band or nothing observed)",
        "Bench fault", "Not tested",
    ]  # fmt: skip
    assert [c["matchedStatuses"] for c in cats] == [
        ["failed"],
        ["unknown"],
        ["broken"],
        ["skipped"],
    ]
    assert not any("messageRegex" in c or "traceRegex" in c for c in cats)


def test_statuses_are_settled_from_typed_verdicts(tmp_path: Path) -> None:
    """A result allure-pytest called failed becomes whatever the test's verdict says."""
    for i, (node, status) in enumerate(
        [("t::a", "failed"), ("t::b", "failed"), ("t::c", "broken")]
    ):
        result = {"name": node, "status": status, "labels": [{"name": TEST_LABEL, "value": node}],
                  "statusDetails": {"message": "FAIL: looks like a verdict"}}  # fmt: skip
        (tmp_path / f"{i}-result.json").write_text(json.dumps(result))
    (tmp_path / "9-result.json").write_text("{not json")
    n = settle_statuses(tmp_path, {"t::a": "INCONCLUSIVE", "t::b": "BROKEN", "t::c": "FAIL"})
    assert n == 3
    got = {
        read_json(tmp_path / f"{i}-result.json")["name"]: read_json(tmp_path / f"{i}-result.json")[
            "status"
        ]
        for i in range(3)
    }
    assert got == {"t::a": "unknown", "t::b": "broken", "t::c": "failed"}


@node_missing
def test_allure3_config_matches_the_categories() -> None:
    script = (
        f"import c from {json.dumps(CONFIG.as_uri())};"
        "console.log(JSON.stringify(c.categories.rules.map(r => r.name)))"
    )
    res = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert json.loads(res.stdout) == [c["name"] for c in CATEGORIES]


# -- the results of a real run ------------------------------------------------------------


def allure_results(results: Path) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in map(read_json, results.glob("*-result.json"))}


def attachments_of(result: dict[str, Any], results: Path) -> list[dict[str, Any]]:
    """A test's attachments, its steps' and its fixtures' (set-up and tear-down live in
    *-container.json files that list the test among their children)."""
    found = list(result.get("attachments") or [])
    stack = list(result.get("steps") or [])
    for container in map(read_json, results.glob("*-container.json")):
        if result["uuid"] in container.get("children", []):
            stack += container.get("befores", []) + container.get("afters", [])
    while stack:
        step = stack.pop()
        found += step.get("attachments") or []
        stack += step.get("steps") or []
    return found


@pytest.mark.slow
@pytest.mark.xdist_group("failing_run")  # the session's run: made once, on one worker
def test_allure_results_of_a_failing_run_are_valid(failing_run: Path) -> None:
    results = failing_run / "allure-results"
    by_name = allure_results(results)
    statuses = {name: r["status"] for name, r in by_name.items()}
    for kind in ("photo", "video", "audio"):
        assert statuses[f"test_only_requested_metadata_stored[{kind}]"] == "failed"
    assert statuses["test_deleted_stays_deleted"] == "passed"
    assert statuses["test_bench_link_lost"] == "broken"
    failed = by_name["test_only_requested_metadata_stored[photo]"]
    assert "MIN-1 FAIL" in failed["statusDetails"]["message"]
    assert "TransportError" in by_name["test_bench_link_lost"]["statusDetails"]["message"]
    for name, r in by_name.items():
        files = attachments_of(r, results)
        if name != "test_bench_link_lost":
            names = {a["name"] for a in files}
            assert {"serial log", "measurements"} <= names, name
        for a in files:
            path = results / a["source"]
            assert path.is_file() and path.stat().st_size > 0, (name, a)
    # the stored file itself, as read from the device, with its inventory
    photo_files = attachments_of(by_name["test_only_requested_metadata_stored[photo]"], results)
    jpegs = [a for a in photo_files if a["type"] == "image/jpeg"]
    assert len(jpegs) == 4 and all(a["name"].startswith("stored file ") for a in jpegs)
    assert (results / jpegs[0]["source"]).read_bytes()[:3] == b"\xff\xd8\xff"
    assert sum(a["name"].endswith(" inventory") for a in photo_files) == 4
    # the plugin's summary agrees with Allure: failed is a FAIL, broken is BROKEN
    summary = read_json(failing_run / "summary.json")
    outcome = {t.split("::")[-1]: rec["outcome"] for t, rec in summary["tests"].items()}
    assert outcome["test_bench_link_lost"] == "BROKEN"
    assert outcome["test_only_requested_metadata_stored[photo]"] == "FAIL"


# -- rendering with Allure Report 3 ----------------------------------------------------------


def rendered_results(out: Path) -> dict[str, dict[str, Any]]:
    """Allure 3 (awesome plugin) keeps one JSON per test under data/test-results/."""
    return {r["name"]: r for r in map(read_json, (out / "data" / "test-results").glob("*.json"))}


@node_missing
def test_allure3_renders_a_real_pytest_run(tmp_path: Path) -> None:
    suite = tmp_path / "test_tiny.py"
    suite.write_text(TINY_SUITE)
    run_dir = tmp_path / "run"
    run_pytest([str(suite), "--alluredir", str(run_dir / "allure-results")], cwd=tmp_path)
    # the plugin does this at session end: statuses from typed verdicts, never from text
    assert settle_statuses(run_dir / "allure-results", TINY_VERDICTS) == len(TINY_VERDICTS)
    (run_dir / "summary.json").write_text(json.dumps(make_summary()))
    index = render(run_dir, tmp_path / "allure-report", name="Tally test")
    out = index.parent
    assert index.is_file()
    tests = rendered_results(out)
    assert set(tests) == set(EXPECTED)
    for name, (status, category) in EXPECTED.items():
        assert tests[name]["status"] == status, name
        cats = [c["name"] for c in tests[name].get("categories") or []]
        assert cats == ([category] if category else []), (name, cats)
    summary = read_json(out / "summary.json")
    assert summary["stats"]["total"] == 5 and summary["stats"]["failed"] == 1
    assert summary["stats"]["unknown"] == 1 and summary["stats"]["broken"] == 1
    assert summary["name"] == "Tally test"
    # the environment came from summary.json (written to a scratch results dir, not the run)
    assert not (run_dir / "allure-results" / "environment.properties").exists()
    env = read_json(out / "widgets" / "allure_environment.json")
    assert {"name": "DUT.vendor", "values": ["Acme"]} in env


@node_missing
@pytest.mark.slow
@pytest.mark.xdist_group("failing_run")
def test_allure3_renders_the_failing_run(failing_run: Path, tmp_path: Path) -> None:
    out = render(failing_run, tmp_path / "report").parent
    tests = rendered_results(out)
    assert tests["test_bench_link_lost"]["status"] == "broken"
    assert [c["name"] for c in tests["test_bench_link_lost"]["categories"]] == ["Bench fault"]
    photo = tests["test_only_requested_metadata_stored[photo]"]
    assert [c["name"] for c in photo["categories"]] == ["Device non-conformance"]
    links = [a["link"] for a in photo["attachments"]]
    teardown = [s for t in photo["teardown"] for s in t["steps"]]
    links += [s["link"] for s in teardown if s.get("type") == "attachment"]
    assert {"measurements", "serial log"} <= {a["name"] for a in links}
    for a in links:
        assert not a["missed"] and a["contentLength"] > 0
        assert (out / "data" / "attachments" / (a["id"] + a["ext"])).is_file()


@node_missing
def test_allure3_single_file_report(tmp_path: Path) -> None:
    suite = tmp_path / "test_tiny.py"
    suite.write_text(TINY_SUITE)
    run_dir = tmp_path / "run"
    run_pytest([str(suite), "--alluredir", str(run_dir / "allure-results")], cwd=tmp_path)
    index = render(run_dir, tmp_path / "one", single_file=True)
    assert sorted(p.name for p in index.parent.iterdir()) == [
        "index.html", "summary.json", "test-results.json",
    ]  # fmt: skip
    assert read_json(index.parent / "summary.json")["stats"]["total"] == 5


def test_the_pinned_version_is_exact() -> None:
    assert re.fullmatch(r"3\.\d+\.\d+", pinned_version())
    lock = read_json(ROOT / "reports" / "node" / "package-lock.json")
    assert lock["packages"]["node_modules/allure"]["version"] == pinned_version()

"""The report's stored files: problems and contradictions first, device text escaped."""

from __future__ import annotations

from reports.build import build
from tests.reports.handmade import MakeRun, make_summary

HOSTILE = '<script>alert("x")</script>'


def record(artifact: str, problem: str | None = None, notes: tuple[str, ...] = ()) -> dict:
    return {
        "artifact": artifact,
        "kind": "photo",
        "epoch": 1,
        "file": f"tests/t/artifacts/{artifact}.jpg",
        "inventory": {
            "format": "jpeg", "tracks": ["image"], "fields": ["location"], "span_s": 0.0,
            "frames": 1, "hidden_frames": 0, "size": 3000, "sha256": "ab" * 32,
            "problem": problem, "unobserved": None, "metadata_keys": 3,
        },
        "contradictions": list(notes),
    }  # fmt: skip


def test_stored_files_in_the_report(make_run: MakeRun) -> None:
    s = make_summary()
    s["artifacts"] = {
        "suites/test_x.py::test_x": [
            record("a-1"),
            record(f"a-2{HOSTILE}", problem=f"decode error: {HOSTILE}"),
            record("a-3", notes=(f"fields: artifact.info [], file ['{HOSTILE}']",)),
        ],
        "suites/test_x.py::test_y": "not a list",
    }
    html_path, _, model = build(make_run(s))
    sf = model["stored_files"]
    assert (sf["total"], sf["unsound"], sf["contradicted"]) == (3, 1, 1)
    assert sf["rows"][0]["artifact"].startswith("a-2")  # problems first
    assert sf["rows"][1]["artifact"] == "a-3" and sf["rows"][2]["artifact"] == "a-1"
    html = html_path.read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "&lt;script&gt;" in html
    assert "Stored files" in html and "contradicts artifact.info" in html


def test_a_run_without_stored_files_says_so(make_run: MakeRun) -> None:
    html_path, _, model = build(make_run(make_summary()))
    assert model["stored_files"]["total"] == 0
    assert "No stored file was read in this run." in html_path.read_text(encoding="utf-8")

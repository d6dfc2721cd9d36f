"""The conformance report's content, as one JSON-able dict (`report.json`, and the HTML's source).

Everything a lab needs to sign is gathered here from the run directory: the item
tested, the station and its calibration, the limits in force, each clause's verdict
with its measurements, what was not tested and why, the deviations, and how to
reproduce the run (measurement lists collapsed by `reports.digest`).

The report id joins the run id with a hash of this content, so two reports built from
the same evidence carry the same id and any change to the evidence changes it.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from harness.judge.clauses import CLAUSE_BY_ID, CLAUSES, DEFAULT_LIMITS, PRINCIPLES
from harness.judge.verdict import Verdict
from reports import tomlw
from reports.current import profile_model, signature_model, watch_model
from reports.digest import by_severity, measurement_digest, reason_for, verdict_for, worst
from reports.plots import Plot
from reports.rundata import SIGNATURE, RunData
from reports.values import MAX_TEXT, as_map, as_num, clip

MAX_REASONS = 5
MAX_TESTS = 1000
MAX_STORED_ROWS = 200


def clause_model(cid: str, c: Mapping[str, Any], tests: Mapping[str, Any]) -> dict[str, Any]:
    ms = [m for m in c.get("measurements") or [] if isinstance(m, Mapping)]
    names = [str(t) for t in c.get("tests") or []]
    outcomes = Counter(verdict_for(as_map(tests.get(t)), cid) for t in names if t in tests)
    reasons = [reason_for(r, cid) for r in c.get("reasons") or []]
    return {
        "id": clip(cid, 20),
        "statement": clip(c.get("statement")),
        "limit": clip(c.get("limit")),
        "verdict": clip(c.get("verdict"), 20),
        "principle": clip(c.get("principle"), 40),
        "tests": len(names),
        "test_outcomes": by_severity(outcomes),
        "reasons": reasons[:MAX_REASONS],
        "reasons_hidden": max(0, len(reasons) - MAX_REASONS),
        "measurements": measurement_digest(ms),
    }


def principles_model(clauses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Clauses grouped by principle, in catalogue order, each group with its worst verdict."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for c in clauses:
        groups.setdefault(c["principle"], []).append(c)
    return [
        {
            "key": key,
            "title": PRINCIPLES.get(key, key),
            "verdict": worst(c["verdict"] for c in cs),
            "clauses": cs,
        }
        for key, cs in groups.items()
    ]


def limits_model(s: Mapping[str, Any]) -> list[dict[str, Any]]:
    overridden = set(s.get("limits_overridden") or [])
    out = []
    for name, value in as_map(s.get("limits")).items():
        unit = "ms" if name.endswith("_ms") else "V" if name.endswith("_v") else ""
        out.append(
            {
                "name": clip(name, 60),
                "value": as_num(value),
                "unit": unit,
                "default": DEFAULT_LIMITS.get(name),
                "overridden": name in overridden,
            }
        )
    return out


def command_text(argv: Any) -> str:
    """The recorded argv as one shell line (`python -m pytest` for pytest's __main__)."""
    if not isinstance(argv, list) or not argv:
        return ""
    args = [str(a) for a in argv]
    head = args[0].replace("\\", "/")
    if head.endswith("pytest/__main__.py") or head.endswith("/pytest") or head == "pytest":
        return shlex.join(["python", "-m", "pytest", *args[1:]])
    return shlex.join(args)


def station_toml(cfg: Mapping[str, Any]) -> str:
    """The station configuration as it was used, in station-file form (unset keys left out)."""

    def prune(x: Any) -> Any:
        if isinstance(x, Mapping):
            return {str(k): prune(v) for k, v in x.items() if v is not None}
        return x

    try:
        text = tomlw.dumps(prune(cfg))
    except TypeError:
        text = json.dumps(cfg, indent=2, sort_keys=True, default=str)
    return clip(text, 8000)


def reproduce_model(run: RunData) -> dict[str, Any]:
    s = run.summary
    hyp = as_map(s.get("hypothesis"))
    cfg = as_map(s.get("station_config"))
    sim = as_map(s.get("sim"))
    seed = hyp.get("seed")
    station_file = str(s.get("station_file") or "STATION.toml")
    # RUN_DIR, not this directory's path: the report id must not depend on where it lies
    rerun = ["python", "-m", "reports", "rerun", "RUN_DIR", "--station", station_file]
    return {
        "command": command_text(s.get("command")),
        "rerun": shlex.join(rerun),
        "hypothesis_profile": clip(hyp.get("profile"), 40),
        "hypothesis_seed": seed,
        "seed_note": ""
        if seed is not None
        else "No Hypothesis seed was fixed: a re-run draws new random sequences for the "
        "state-machine suite (set [hypothesis] seed in the station file to fix it).",
        "sim_seed": as_map(cfg.get("sim")).get("seed") if sim else None,
        "sim_faults": [clip(f, 60) for f in sim.get("faults") or []] if sim else None,
        "station_file": clip(station_file),
        "harness": {k: clip(v, 80) for k, v in as_map(s.get("harness")).items()},
        "versions": {clip(k, 60): clip(v, 200) for k, v in as_map(s.get("versions")).items()},
        "station_config": station_toml(cfg),
    }


CALIBRATION = (
    ("visible_v", "Visibility threshold (station)", "V"),
    ("dark_mean_v", "Dark level, mean", "V"),
    ("dark_std_v", "Dark level, standard deviation", "V"),
    ("dark_max_v", "Dark level, maximum", "V"),
    ("lit_mean_v", "Lit level of the self-test, mean", "V"),
    ("lit_margin_ok", "Lit level clearly above the threshold", ""),
    ("note", "Note", ""),
)


def calibration_rows(cal: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The calibration in a fixed order with labels and units; unknown keys follow."""
    known = {k for k, _, _ in CALIBRATION}
    rows = [(k, label, unit) for k, label, unit in CALIBRATION if k in cal]
    rows += [(str(k), str(k), "") for k in cal if k not in known]
    out = []
    for key, label, unit in rows:
        v = cal[key]
        value: Any = (
            as_num(v)
            if as_num(v) is not None
            else ("yes" if v is True else "no" if v is False else clip(v, 300))
        )
        out.append({"key": clip(key, 60), "label": label, "value": value, "unit": unit})
    return out


def station_model(s: Mapping[str, Any]) -> dict[str, Any]:
    cfg = as_map(s.get("station_config"))
    info, pd = as_map(cfg.get("station")), as_map(cfg.get("photodiode"))
    cal = as_map(s.get("calibration"))
    return {
        "name": clip(s.get("station"), 80),
        "description": clip(info.get("description"), 200),
        "location": clip(info.get("location"), 200),
        "file": clip(s.get("station_file")),
        "simulated": bool(s.get("sim")),
        "instrument_idn": clip(as_map(s.get("instrument")).get("idn"), 200),
        "power_idn": clip(as_map(s.get("power_supply")).get("idn"), 200),
        "shutter_idn": clip(as_map(s.get("shutter")).get("idn"), 200),
        "photodiode": {
            k: pd.get(k) for k in ("sample_interval_s", "range_v", "reading_u_v") if k in pd
        },
        "calibration": calibration_rows(cal),
        "current": signature_model(as_map(s.get("current_calibration"))),
        "ind7_watch": watch_model(as_map(s.get("ind7_watch"))),
        "bench_error": clip(s.get("bench_error")),
    }


def item_model(s: Mapping[str, Any]) -> dict[str, Any]:
    dut = as_map(s.get("dut"))
    caps = as_map(dut.get("capabilities"))
    return {
        **{k: clip(dut.get(k), 200) for k in ("vendor", "model", "firmware", "serial_number")},
        "protocol": clip(dut.get("protocol"), 40),
        "capabilities": "; ".join(
            f"{clip(k, 40)}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in caps.items()
        )[:MAX_TEXT],
        "identified": bool(dut),
    }


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def stored_file_row(test: str, a: Mapping[str, Any]) -> dict[str, Any]:
    inv = as_map(a.get("inventory"))

    def words(key: str) -> str:
        value = inv.get(key)
        return ", ".join(clip(x, 40) for x in (value if isinstance(value, list) else [])[:16])

    return {
        "test": clip(test, 300),
        "artifact": clip(a.get("artifact"), 80),
        "kind": clip(a.get("kind"), 16),
        "format": clip(inv.get("format"), 16),
        "tracks": words("tracks"),
        "fields": words("fields"),
        "span_s": as_num(inv.get("span_s")),
        "frames": as_num(inv.get("frames")),
        "hidden_frames": as_num(inv.get("hidden_frames")),
        "size": as_num(inv.get("size")),
        "sha256": clip(inv.get("sha256"), 64),
        "problem": clip(inv.get("problem") or inv.get("unobserved") or "", 300),
        "contradictions": [clip(n, 300) for n in as_list(a.get("contradictions"))[:10]],
        "file": clip(a.get("file"), 300),
    }


def stored_files_model(s: Mapping[str, Any]) -> dict[str, Any]:
    """Every stored file read in the run, those that could not serve as evidence or that
    contradict `artifact.info` first."""
    rows = [
        stored_file_row(str(test), as_map(a))
        for test, kept in as_map(s.get("artifacts")).items()
        for a in as_list(kept)
    ]
    rows.sort(key=lambda r: (not r["problem"], not r["contradictions"]))
    return {
        "total": len(rows),
        "unsound": sum(bool(r["problem"]) for r in rows),
        "contradicted": sum(bool(r["contradictions"]) for r in rows),
        "rows": rows[:MAX_STORED_ROWS],
        "hidden": max(0, len(rows) - MAX_STORED_ROWS),
    }


def incomplete_reasons(run: RunData) -> list[str]:
    out = []
    if not run.summary.get("complete"):
        out.append(
            "The run did not finish (summary.json says complete = false): the verdicts "
            "cover only the tests that ended before it stopped."
        )
    if run.manifest is None:
        out.append("The run directory has no manifest.json: its evidence cannot be verified.")
    elif not run.manifest.get("complete"):
        out.append("The evidence manifest is incomplete (manifest.json complete = false).")
    return out


def evidence_model(run: RunData, signed: bool | None = None) -> dict[str, Any]:
    """The manifest the report rests on (its hash: the bytes the run's data was read from).
    `signed` says whether manifest.sig was there when the report was built (default: now)."""
    digest = hashlib.sha256(run.manifest_bytes).hexdigest() if run.manifest is not None else ""
    return {
        "manifest_sha256": digest,
        "files": len(as_map(run.manifest.get("files"))) if run.manifest else 0,
        "manifest_complete": bool(run.manifest and run.manifest.get("complete")),
        "signed": (run.root / SIGNATURE).is_file() if signed is None else signed,
    }


def build_model(
    run: RunData,
    plots: list[Plot],
    plots_left_out: list[str],
    *,
    now: float | None = None,
    generated_at: str | None = None,
    signed: bool | None = None,
) -> dict[str, Any]:
    """The whole report; `report.id` is filled in from a hash of everything else.

    `generated_at` and `signed` are given when a report is rebuilt to check it (`reports
    verify`): the time it was issued and whether the manifest was signed then are facts
    of that moment, not of the evidence."""
    s = run.summary
    tests = {str(k): as_map(v) for k, v in as_map(s.get("tests")).items()}
    recorded = as_map(s.get("clauses"))
    order = [c.id for c in CLAUSES if c.id in recorded] + [
        c for c in recorded if c not in CLAUSE_BY_ID
    ]
    clauses = [clause_model(str(cid), as_map(recorded[cid]), tests) for cid in order]
    test_rows = [
        {
            "test": clip(t, 300),
            "clauses": [clip(c, 20) for c in rec.get("clauses") or []],
            "outcome": clip(rec.get("outcome"), 20),
            "duration_s": as_num(rec.get("duration_s")),
            "reason": clip(rec.get("reason"), 300),
        }
        for t, rec in sorted(tests.items())
    ]
    model: dict[str, Any] = {
        "format": "tally-report/1",
        "report": {},
        "run": {
            "run_id": clip(run.run_id, 120),
            "verdict": clip(s.get("verdict"), 20),
            "complete": run.complete,
            "incomplete_reasons": incomplete_reasons(run),
            "started": clip(s.get("started"), 40),
            "updated": clip(s.get("updated"), 40),
            "profile": clip(s.get("profile"), 60),
        },
        "item": item_model(s),
        "station": station_model(s),
        "limits": limits_model(s),
        "profile": profile_model(s),
        "decision_rule": clip(s.get("decision_rule"), 2000),
        "clause_counts": by_severity(Counter(c["verdict"] for c in clauses)),
        "principles": principles_model(clauses),
        "not_tested": [
            {"id": c["id"], "statement": c["statement"], "reasons": c["reasons"]}
            for c in clauses
            if c["verdict"] == Verdict.NOT_TESTED
        ],
        "skipped_tests": [r for r in test_rows if r["outcome"] == Verdict.NOT_TESTED],
        "deviations": [
            {
                "test": clip(as_map(d).get("test"), 300),
                "clauses": [clip(c, 20) for c in as_map(d).get("clauses") or []],
                "reason": clip(as_map(d).get("reason")),
            }
            for d in s.get("deviations") or []
        ],
        "test_counts": by_severity(Counter(r["outcome"] for r in test_rows)),
        "tests": test_rows[:MAX_TESTS],
        "tests_hidden": max(0, len(test_rows) - MAX_TESTS),
        "plots": [p.as_dict() for p in plots],
        "plots_left_out": plots_left_out,
        "stored_files": stored_files_model(s),
        "reproduce": reproduce_model(run),
        "evidence": evidence_model(run, signed),
    }
    content = json.dumps(model, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(content.encode()).hexdigest()
    model["report"] = {
        "id": f"{model['run']['run_id']}-{digest[:12]}",
        "content_sha256": digest,
        "generated_at": generated_at
        if generated_at is not None
        else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
    }
    return model

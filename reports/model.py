"""The conformance report's content, as one JSON-able dict (`report.json`, and the HTML's source).

Everything a lab needs to sign is gathered here from the run directory: the item
tested, the station and its calibration, the limits in force, each clause's verdict
with its measurements, what was not tested and why, the deviations, and how to
reproduce the run. Long measurement lists are collapsed to the worst few per clause
with counts, since the full list stays in `measurements.jsonl`.

The report id joins the run id with a hash of this content, so two reports built from
the same evidence carry the same id and any change to the evidence changes it.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from harness.clauses import CLAUSE_BY_ID, CLAUSES, DEFAULT_LIMITS, PRINCIPLES
from harness.verdict import Verdict
from reports import tomlw
from reports.plots import Plot
from reports.rundata import MANIFEST, SIGNATURE, RunData

WORST_ROWS = 8  # measurements shown per clause; the rest are counted
PASSING_ROWS = 3  # of which at most this many passing ones (those closest to the limit)
MAX_REASONS = 5
MAX_TEXT = 600
MAX_TESTS = 1000
VERDICTS = [v.value for v in Verdict]


def rank(verdict: str) -> int:
    """Severity of a verdict string; anything unknown counts as BROKEN (worst)."""
    try:
        return Verdict(verdict).rank
    except ValueError:
        return Verdict.BROKEN.rank


def worst(verdicts: Iterable[str]) -> str:
    """BROKEN > FAIL > INCONCLUSIVE > PASS; NOT_TESTED only if nothing else (clauses.md)."""
    vs = [v for v in verdicts if v != Verdict.NOT_TESTED]
    return max(vs, key=rank) if vs else Verdict.NOT_TESTED.value


def by_severity(counts: Mapping[str, int]) -> dict[str, int]:
    """Verdict counts, worst first (NOT_TESTED last), for reading left to right."""
    return dict(sorted(((k, n) for k, n in counts.items() if n), key=lambda kv: _order(kv[0])))


def _order(verdict: str) -> int:
    return 99 if verdict == Verdict.NOT_TESTED else -rank(verdict)


def clip(text: Any, limit: int = MAX_TEXT) -> str:
    s = "" if text is None else str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def margin(m: Mapping[str, Any]) -> float:
    """How far a measurement is on the safe side of its limit (negative: on the wrong side)."""
    value, limit = _num(m.get("value")), _num(m.get("limit"))
    if value is None or limit is None:
        return float("-inf")
    return limit - value if m.get("comparison") == "<=" else value - limit


def _severity_key(m: Mapping[str, Any]) -> tuple[int, float]:
    return (-rank(str(m.get("verdict"))), margin(m))


def measurement_row(m: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": clip(m.get("name"), 120),
        "subject": clip(m.get("subject"), 200),
        "value": _num(m.get("value")),
        "unit": clip(m.get("unit"), 20),
        "uncertainty": _num(m.get("uncertainty")),
        "comparison": clip(m.get("comparison"), 4),
        "limit": _num(m.get("limit")),
        "verdict": clip(m.get("verdict"), 20),
        "detail": clip(m.get("detail"), 300),
        "test": clip(m.get("test"), 300),
    }


def measurement_digest(ms: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts, one line per measured quantity, and the worst `WORST_ROWS` measurements."""
    by_verdict = Counter(str(m.get("verdict")) for m in ms)
    names: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for m in ms:
        names.setdefault((str(m.get("name")), str(m.get("unit"))), []).append(m)
    by_name = []
    for (name, unit), group in names.items():
        values = [v for v in (_num(m.get("value")) for m in group) if v is not None]
        w = min(group, key=_severity_key)
        by_name.append(
            {
                "name": clip(name, 120),
                "unit": clip(unit, 20),
                "n": len(group),
                "min": min(values) if values else None,
                "max": max(values) if values else None,
                "comparison": clip(w.get("comparison"), 4),
                "limit": _num(w.get("limit")),
                "worst": measurement_row(w),
                "verdict": worst(str(m.get("verdict")) for m in group),
                "counts": dict(Counter(str(m.get("verdict")) for m in group)),
            }
        )
    rows = worst_rows(ms)
    return {
        "total": len(ms),
        "by_verdict": by_severity(by_verdict),
        "by_name": by_name,
        "worst": [measurement_row(m) for m in rows],
        "hidden": max(0, len(ms) - len(rows)),
    }


def _informative(m: Mapping[str, Any]) -> bool:
    """A passing zero count says nothing the per-quantity line does not already say."""
    return m.get("verdict") != Verdict.PASS or not (m.get("unit") == "count" and not m.get("value"))


def worst_rows(ms: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Every non-passing measurement (up to `WORST_ROWS`), then the passing ones closest to
    their limits (up to `PASSING_ROWS`): what a reviewer needs to see, worst first."""
    ranked = sorted((m for m in ms if _informative(m)), key=_severity_key)
    bad = [m for m in ranked if m.get("verdict") != Verdict.PASS][:WORST_ROWS]
    good = [m for m in ranked if m.get("verdict") == Verdict.PASS]
    return bad + good[: max(0, min(PASSING_ROWS, WORST_ROWS - len(bad)))]


def verdict_for(test: Mapping[str, Any], cid: str) -> str:
    """What one test's outcome means for one clause (harness.verdict.TestOutcome.verdict_for):
    a failure that names its clauses counts only for those."""
    outcome = str(test.get("outcome", "NOT_TESTED"))
    blamed = test.get("blamed") or []
    if outcome in (Verdict.FAIL, Verdict.INCONCLUSIVE) and blamed:
        return outcome if cid in blamed else Verdict.PASS.value
    return outcome


def reason_for(reason: Any, cid: str) -> str:
    """A finding cut to the lines about this clause ("test: IND-1 FAIL: ..."), when it has such."""
    text = str(reason or "")
    test, sep, message = text.partition(": ")
    if not sep:
        return clip(text)
    message = message.removeprefix("AssertionError: ")
    pattern = re.compile(rf"(?<![\w-]){re.escape(cid)}(?![\w-])")
    lines = [ln for ln in message.splitlines() if pattern.search(ln)]
    return clip(f"{test}: " + ("\n".join(lines) if lines else message))


def clause_model(cid: str, c: Mapping[str, Any], tests: Mapping[str, Any]) -> dict[str, Any]:
    ms = [m for m in c.get("measurements") or [] if isinstance(m, Mapping)]
    names = [str(t) for t in c.get("tests") or []]
    outcomes = Counter(verdict_for(_map(tests.get(t)), cid) for t in names if t in tests)
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
    for name, value in _map(s.get("limits")).items():
        unit = "ms" if name.endswith("_ms") else "V" if name.endswith("_v") else ""
        out.append(
            {
                "name": clip(name, 60),
                "value": _num(value),
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
        return tomlw.dumps(prune(cfg))[:8000]
    except TypeError:
        return json.dumps(cfg, indent=2, sort_keys=True, default=str)[:8000]


def reproduce_model(run: RunData) -> dict[str, Any]:
    s = run.summary
    hyp = _map(s.get("hypothesis"))
    cfg = _map(s.get("station_config"))
    sim = _map(s.get("sim"))
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
        "sim_seed": _map(cfg.get("sim")).get("seed") if sim else None,
        "sim_faults": [clip(f, 60) for f in sim.get("faults") or []] if sim else None,
        "station_file": clip(station_file),
        "harness": {k: clip(v, 80) for k, v in _map(s.get("harness")).items()},
        "versions": {clip(k, 60): clip(v, 200) for k, v in _map(s.get("versions")).items()},
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
            _num(v)
            if _num(v) is not None
            else ("yes" if v is True else "no" if v is False else clip(v, 300))
        )
        out.append({"key": clip(key, 60), "label": label, "value": value, "unit": unit})
    return out


def station_model(s: Mapping[str, Any]) -> dict[str, Any]:
    cfg = _map(s.get("station_config"))
    info, pd = _map(cfg.get("station")), _map(cfg.get("photodiode"))
    cal = _map(s.get("calibration"))
    return {
        "name": clip(s.get("station"), 80),
        "description": clip(info.get("description"), 200),
        "location": clip(info.get("location"), 200),
        "file": clip(s.get("station_file")),
        "simulated": bool(s.get("sim")),
        "instrument_idn": clip(_map(s.get("instrument")).get("idn"), 200),
        "power_idn": clip(_map(s.get("power_supply")).get("idn"), 200),
        "photodiode": {
            k: pd.get(k) for k in ("sample_interval_s", "range_v", "reading_u_v") if k in pd
        },
        "calibration": calibration_rows(cal),
        "bench_error": clip(s.get("bench_error")),
    }


def item_model(s: Mapping[str, Any]) -> dict[str, Any]:
    dut = _map(s.get("dut"))
    caps = _map(dut.get("capabilities"))
    return {
        **{k: clip(dut.get(k), 200) for k in ("vendor", "model", "firmware", "serial_number")},
        "protocol": clip(dut.get("protocol"), 40),
        "capabilities": "; ".join(
            f"{clip(k, 40)}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in caps.items()
        )[:MAX_TEXT],
        "identified": bool(dut),
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


def evidence_model(run: RunData) -> dict[str, Any]:
    mpath = run.root / MANIFEST
    digest = hashlib.sha256(mpath.read_bytes()).hexdigest() if mpath.is_file() else ""
    return {
        "manifest_sha256": digest,
        "files": len(_map(run.manifest.get("files"))) if run.manifest else 0,
        "manifest_complete": bool(run.manifest and run.manifest.get("complete")),
        "signed": (run.root / SIGNATURE).is_file(),
    }


def build_model(
    run: RunData, plots: list[Plot], plots_left_out: list[str], *, now: float | None = None
) -> dict[str, Any]:
    """The whole report; `report.id` is filled in from a hash of everything else."""
    s = run.summary
    tests = {str(k): _map(v) for k, v in _map(s.get("tests")).items()}
    recorded = _map(s.get("clauses"))
    order = [c.id for c in CLAUSES if c.id in recorded] + [
        c for c in recorded if c not in CLAUSE_BY_ID
    ]
    clauses = [clause_model(str(cid), _map(recorded[cid]), tests) for cid in order]
    test_rows = [
        {
            "test": clip(t, 300),
            "clauses": [clip(c, 20) for c in rec.get("clauses") or []],
            "outcome": clip(rec.get("outcome"), 20),
            "duration_s": _num(rec.get("duration_s")),
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
                "test": clip(_map(d).get("test"), 300),
                "clauses": [clip(c, 20) for c in _map(d).get("clauses") or []],
                "reason": clip(_map(d).get("reason")),
            }
            for d in s.get("deviations") or []
        ],
        "test_counts": by_severity(Counter(r["outcome"] for r in test_rows)),
        "tests": test_rows[:MAX_TESTS],
        "tests_hidden": max(0, len(test_rows) - MAX_TESTS),
        "plots": [p.as_dict() for p in plots],
        "plots_left_out": plots_left_out,
        "reproduce": reproduce_model(run),
        "evidence": evidence_model(run),
    }
    content = json.dumps(model, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(content.encode()).hexdigest()
    model["report"] = {
        "id": f"{model['run']['run_id']}-{digest[:12]}",
        "content_sha256": digest,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
    }
    return model

"""The report's account of the two newer witnesses: the supply current signature behind
IND-7, how much of the run it covered, and the profile allowances a lab set.

Read from the run's summary (`current_calibration`, `ind7_watch`, `profile_allowances`),
bounded and type-checked like every other value of the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.judge.clauses import DEFAULT_ALLOWANCES
from reports.values import as_map, as_num, clip

MA = 1000.0
ALLOWANCE_MEANING = {
    "mic_listening_allowed": "a microphone kept on for wake-word listening is accepted: "
    "IND-7 judges the camera alone",
}


def _ma(value: Any) -> float | None:
    v = as_num(value)
    return None if v is None else v * MA


def _level(label: str, key: str, lv: Any, note: str = "") -> dict[str, Any]:
    m = as_map(lv)
    return {
        "label": label,
        "key": key,
        "value_ma": _ma(m.get("amps")),
        "u_ma": _ma(m.get("u")),
        "n": as_num(m.get("n")),
        "note": clip(note, 300),
    }


def signature_model(cal: Mapping[str, Any]) -> dict[str, Any] | None:
    """The signature as rows (mA, with U and readings), sensors, threshold, problems."""
    if not cal:
        return None
    rows = [
        _level("Idle (indicator off)", "idle", cal.get("idle")),
        _level("Indicator only (self-test)", "indicator", cal.get("indicator")),
    ]
    for kind, lv in as_map(cal.get("rises")).items():
        rows.append(
            _level(f"Rise of the {clip(kind, 20)} capture over the indicator", f"rise.{kind}", lv)
            if lv
            else {
                "label": f"Rise of the {clip(kind, 20)} capture",
                "key": f"rise.{kind}",
                "value_ma": None,
                "u_ma": None,
                "n": None,
                "note": "not measured (declined, or too short to read)",
            }
        )
    sensors = []
    for s in cal.get("sensors") or []:
        s = as_map(s)
        sensors.append(
            {
                "sensor": clip(s.get("sensor"), 20),
                "value_ma": _ma(s.get("amps")),
                "u_ma": _ma(s.get("u")),
                "learned_from": clip(s.get("learned_from"), 20) or "—",
                "stated_ma": _ma(s.get("stated_a")),
                "already_powered": bool(s.get("already_powered")),
                "resolved": bool(s.get("resolved")),
                "judged": bool(s.get("judged")),
                "note": clip(s.get("note"), 400),
            }
        )
    return {
        "rows": rows,
        "sensors": sensors,
        "noise_ma": _ma(cal.get("noise_a")),
        "idle_ref_ma": _ma(cal.get("idle_ref_a")),
        "smallest_ma": _ma(cal.get("smallest_a")),
        "threshold_ma": _ma(cal.get("threshold_a")),
        "usable": bool(cal.get("usable")),
        "problems": [clip(p, 500) for p in (cal.get("problems") or [])][:10],
        "notes": [clip(n, 500) for n in (cal.get("notes") or [])][:10],
    }


def watch_model(watch: Mapping[str, Any]) -> dict[str, Any] | None:
    """How IND-7's watch went: time judged, coverage, polling rate, flagged stretches."""
    if not watch:
        return None
    keys = ("judged_s", "seen_s", "coverage", "current_rate_hz", "current_readings",
            "flagged_stretches", "plots_left_out", "light_chunks_rolled")  # fmt: skip
    out: dict[str, Any] = {k: as_num(watch.get(k)) for k in keys}
    out["judged"] = bool(watch.get("judged"))
    out["shutter_spans"] = len(watch.get("shutter_covered") or [])
    return out


def profile_model(s: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each profile allowance, its value, its default, and whether it is a deviation."""
    used = as_map(s.get("profile_allowances"))
    out = []
    for name, default in DEFAULT_ALLOWANCES.items():
        value = used.get(name, default)
        out.append(
            {
                "name": name,
                "value": bool(value),
                "default": default,
                "deviation": bool(value) != default,
                "meaning": ALLOWANCE_MEANING.get(name, ""),
            }
        )
    return out

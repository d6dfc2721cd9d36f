"""`python -m reports compare A B`: do two runs of the same item agree?

Verdicts are compared clause by clause. Measurements are compared per quantity and
kind of subject (the subject's first word, e.g. `video/user`, since ids such as
`a-0011` differ between runs): the worst measurement of each run, the one that decides
the verdict, and whether the two are compatible within their combined expanded
uncertainty, |a - b| <= sqrt(Ua² + Ub²) (the E_n <= 1 criterion of ISO/IEC 17043).
Exit status 0 if every verdict agrees; value differences are reported, not judged.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping
from typing import Any

from harness.wire.text import printable
from reports.console import say
from reports.digest import margin
from reports.rundata import RunData, load_run

Key = tuple[str, str, str, str]  # clause, name, unit, subject kind


def subject_kind(subject: Any) -> str:
    words = str(subject or "").split()
    return words[0] if words else "—"


def _groups(run: RunData) -> dict[Key, list[Mapping[str, Any]]]:
    out: dict[Key, list[Mapping[str, Any]]] = {}
    for cid, c in (run.summary.get("clauses") or {}).items():
        for m in c.get("measurements") or []:
            if not isinstance(m, Mapping):
                continue
            key = (str(cid), str(m.get("name")), str(m.get("unit")), subject_kind(m.get("subject")))
            out.setdefault(key, []).append(m)
    return out


def _worst(ms: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    return min(ms, key=margin)


def _float(v: Any) -> float:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else math.nan


def compatible(a: float, ua: float, b: float, ub: float) -> tuple[bool, float]:
    """Whether |a-b| <= sqrt(Ua²+Ub²), and E_n (inf for unequal exact values)."""
    diff, u = abs(a - b), math.hypot(ua, ub)
    if u == 0:
        return diff <= 1e-12 * max(1.0, abs(a), abs(b)), (0.0 if diff == 0 else math.inf)
    return diff <= u * (1 + 1e-12), diff / u


def compare(a: RunData, b: RunData) -> dict[str, Any]:
    ca, cb = a.summary.get("clauses") or {}, b.summary.get("clauses") or {}
    clauses = []
    for cid in list(ca) + [c for c in cb if c not in ca]:
        va = (ca.get(cid) or {}).get("verdict", "absent")
        vb = (cb.get(cid) or {}).get("verdict", "absent")
        clauses.append({"clause": cid, "a": va, "b": vb, "same": va == vb})
    ga, gb = _groups(a), _groups(b)
    rows = []
    for key in list(ga) + [k for k in gb if k not in ga]:
        row: dict[str, Any] = dict(zip(("clause", "name", "unit", "kind"), key, strict=True))
        row["n_a"], row["n_b"] = len(ga.get(key, [])), len(gb.get(key, []))
        if key not in ga or key not in gb:
            row.update(compatible=None, note="only in " + ("B" if key not in ga else "A"))
            rows.append(row)
            continue
        ma, mb = _worst(ga[key]), _worst(gb[key])
        xa, xb = _float(ma.get("value")), _float(mb.get("value"))
        ua, ub = _float(ma.get("uncertainty")) or 0.0, _float(mb.get("uncertainty")) or 0.0
        ok, en = compatible(xa, ua, xb, ub)
        row.update(
            a=xa, ua=ua, b=xb, ub=ub, diff=abs(xa - xb), combined_u=math.hypot(ua, ub),
            en=en, compatible=ok, verdict_a=ma.get("verdict"), verdict_b=mb.get("verdict"),
        )  # fmt: skip
        rows.append(row)
    agree = all(c["same"] for c in clauses) and a.summary.get("verdict") == b.summary.get("verdict")
    return {
        "a": {"run_id": a.run_id, "verdict": a.summary.get("verdict"), "dir": str(a.root)},
        "b": {"run_id": b.run_id, "verdict": b.summary.get("verdict"), "dir": str(b.root)},
        "verdicts_agree": agree,
        "clauses": clauses,
        "measurements": rows,
        "incompatible": sum(1 for r in rows if r.get("compatible") is False),
    }


def _fmt(x: Any, u: Any = None) -> str:
    if not isinstance(x, float) or math.isnan(x):
        return "—"
    s = f"{x:.4g}"
    return s if not u else f"{s} ± {u:.2g}"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    rows = [[printable(c, 80) for c in r] for r in rows]  # run text: one line per cell
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(head)]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return out


def text_report(res: dict[str, Any]) -> str:
    """The comparison for people: every value from a run escaped, one line per row."""
    a, b = res["a"], res["b"]
    lines = [printable(f"{n}  {r['run_id']}  {r['verdict']}") for n, r in (("A", a), ("B", b))]
    lines.append("")
    rows = [
        [c["clause"], c["a"], c["b"], "yes" if c["same"] else "DIFFERENT"] for c in res["clauses"]
    ]
    lines += _table(["clause", "verdict A", "verdict B", "same"], rows)
    lines.append("")
    mrows = []
    for r in res["measurements"]:
        if r.get("compatible") is None:
            mrows.append([r["clause"], r["name"], r["kind"], "—", "—", "—", "—", r["note"]])
            continue
        en = r["en"]
        mrows.append(
            [
                r["clause"], r["name"], r["kind"],
                f"{_fmt(r['a'], r['ua'])} {r['unit']}", f"{_fmt(r['b'], r['ub'])} {r['unit']}",
                _fmt(r["diff"]), "inf" if math.isinf(en) else f"{en:.2f}",
                "yes" if r["compatible"] else "NO",
            ]
        )  # fmt: skip
    head = ["clause", "quantity", "subject", "A (worst)", "B (worst)", "|A-B|", "E_n", "compatible"]
    lines += _table(head, mrows)
    lines.append("")
    lines.append(
        ("verdicts AGREE" if res["verdicts_agree"] else "verdicts DIFFER")
        + f"; {res['incompatible']} measured quantit{'y' if res['incompatible'] == 1 else 'ies'}"
        " outside the combined uncertainty"
    )
    return "\n".join(lines)


def _jsonable(x: Any) -> Any:
    """Strict JSON: a non-finite number (an E_n of exact unequal counts) becomes a string."""
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_jsonable(v) for v in x]
    return x


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="two runs' verdicts and measurements side by side")
    p.add_argument("run_a", metavar="A")
    p.add_argument("run_b", metavar="B")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    res = compare(load_run(args.run_a), load_run(args.run_b))
    if args.json:
        say(*json.dumps(_jsonable(res), indent=2, allow_nan=False).splitlines())
    else:
        say(*text_report(res).splitlines())
    return 0 if res["verdicts_agree"] else 1

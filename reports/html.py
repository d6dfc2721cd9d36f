"""Rendering the report model as one self-contained HTML document (Jinja2, autoescaped).

Autoescaping is on for every template, so a vendor string or a failure reason with
markup in it prints as text. Verdicts become CSS class names only through a fixed
whitelist, and nothing from the run reaches the stylesheet unless it is plain
`[A-Za-z0-9._-]`.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import jinja2

from harness.judge.verdict import Verdict
from reports.plots import Plot

TEMPLATES = Path(__file__).resolve().parent / "templates"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,160}$")
_CLASSES = {v.value for v in Verdict}


def num(value: Any, digits: int = 4) -> str:
    """A measured number for people: integers as such, others to `digits` significant."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    if not math.isfinite(value):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.{digits}g}"


def unc(value: Any) -> str:
    """An expanded uncertainty: two significant digits; an exact count shows 0."""
    return num(value, 2)


def verdict_class(value: Any) -> str:
    return str(value) if str(value) in _CLASSES else "unknown"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=num, unc=unc, verdict_class=verdict_class)
    return env


def render_html(model: dict[str, Any], plots: list[Plot]) -> str:
    report_id = str(model["report"]["id"])
    template = environment().get_template("report.html.j2")
    return template.render(
        model=model,
        plots=plots,
        footer_id=report_id if _SAFE_ID.match(report_id) else "",
    )

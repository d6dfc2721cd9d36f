"""The `clause` marker and the Allure labels derived from it."""

from __future__ import annotations

import pytest

from harness.judge.clauses import CLAUSE_BY_ID, PRINCIPLES
from harness.pytestplugin.session import current_run
from harness.record.allure_files import TEST_LABEL


def clauses_of(item: pytest.Item) -> tuple[str, ...]:
    ids: list[str] = []
    for mark in item.iter_markers("clause"):
        for cid in mark.args:
            if cid not in CLAUSE_BY_ID:
                raise pytest.UsageError(f"{item.nodeid}: unknown clause {cid!r}")
            ids.append(cid)
    return tuple(dict.fromkeys(ids))


SEVERITY = {"indicator": "critical", "consent": "critical", "minimum": "normal"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Epic = principle, feature = clause, story = test, a severity, a link to the clause.

    Added as allure-pytest's own marks, so they cost nothing when Allure is not collecting.
    """
    if current_run(config) is None:
        return
    label, link = pytest.mark.allure_label, pytest.mark.allure_link
    for item in items:
        item.add_marker(label(item.nodeid, label_type=TEST_LABEL))  # for settle_statuses
        clauses = clauses_of(item)
        if not clauses:
            continue
        principles = dict.fromkeys(CLAUSE_BY_ID[c].principle for c in clauses)
        item.add_marker(label(*(PRINCIPLES[p] for p in principles), label_type="epic"))
        item.add_marker(
            label(*(f"{c} {CLAUSE_BY_ID[c].statement}" for c in clauses), label_type="feature")
        )
        story = getattr(item, "originalname", item.name)
        item.add_marker(label(story, label_type="story"))
        sev = "critical" if any(SEVERITY[p] == "critical" for p in principles) else "normal"
        item.add_marker(label(sev, label_type="severity"))
        for c in clauses:
            item.add_marker(
                link(f"../report.html#clause-{c}", name=f"clause {c}", link_type="link")
            )

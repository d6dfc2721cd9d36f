"""The outside tools some tests need, and what it means when one is missing.

A test that needs ser2net, Chromium, Node.js (with npm) or labgrid says so with
`@pytest.mark.needs("ser2net")` (a module with `pytestmark`; labgrid, imported at a
module's top, with `import_or_skip`). Where a tool is missing the test is skipped, and
the closing summary names every skipped test with its reason (tests/conftest.py). Under
CI (`CI=true`) a missing tool fails the test instead: CI installs every tool
(`.ci/run`), so a missing one is a broken CI machine, never a test quietly left out.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType

import pytest

from harness.lab.ser2net import ser2net_binary


@dataclass(frozen=True)
class Tool:
    present: Callable[[], bool]
    install: str  # how to install it, for the message


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


TOOLS = {
    "ser2net": Tool(lambda: ser2net_binary() is not None, "apt-get install ser2net"),
    "chromium": Tool(lambda: chromium_binary() is not None, "apt-get install chromium"),
    "node": Tool(
        lambda: shutil.which("node") is not None and shutil.which("npm") is not None,
        "apt-get install nodejs npm",
    ),
    "labgrid": Tool(
        lambda: importlib.util.find_spec("labgrid") is not None,
        "pip install 'tally-hil[labgrid]'",
    ),
}


def in_ci() -> bool:
    """Whether this is a CI run (`CI=true`, as CI services and `.ci/run` set it)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing(names: Iterable[str]) -> list[str]:
    """The tools among `names` that are not here (an unknown name is a test's mistake)."""
    unknown = [n for n in names if n not in TOOLS]
    if unknown:
        raise ValueError(f"unknown tool(s) {unknown}: known are {sorted(TOOLS)}")
    return [n for n in names if not TOOLS[n].present()]


def absent_reason(names: Iterable[str]) -> str:
    return "needs " + ", ".join(f"{n} ({TOOLS[n].install})" for n in names)


def require(names: Iterable[str]) -> None:
    """Skip the running test (or, under CI, fail it) if any of the tools is missing."""
    absent = missing(names)
    if not absent:
        return
    if in_ci():
        pytest.fail(f"CI runs every test, but this one {absent_reason(absent)}", pytrace=False)
    pytest.skip(absent_reason(absent))


def import_or_skip(module: str) -> ModuleType:
    """`pytest.importorskip` for a tool imported at a test module's top; under CI a missing
    one is a collection error (the run fails), not a skipped module."""
    if in_ci():
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=absent_reason([module]))

"""How long each of the harness's own tests and whole-suite runs took, committed as
`tests/durations.json`, so a fresh clone (CI has no pytest cache) orders the tests
longest first as a warmed machine does (tests/conftest.py): a long test left to the end
(a 17 s property test, a two-minute run through labgrid) would end the session late.

`python -m tests.durations` rewrites the file from this checkout's pytest cache, which
every `make test` updates (the controller records each test's seconds and each run's).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
COMMITTED = HERE / "durations.json"
CACHE = HERE.parent / ".pytest_cache" / "v" / "tally"
TESTS_KEY = "tally/durations"  # nodeid -> seconds (setup, call and teardown)
RUNS_KEY = "tally/run-seconds"  # whole-suite run name -> seconds


def committed() -> dict[str, dict[str, float]]:
    """The committed durations (`tests` by node id, `runs` by run name); empty if absent."""
    try:
        data: Any = json.loads(COMMITTED.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"tests": {}, "runs": {}}
    return {k: dict(data.get(k, {})) for k in ("tests", "runs")}


def main() -> None:
    def cached(key: str) -> dict[str, float]:
        path = CACHE / key.split("/", 1)[1]
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    data = committed()
    data["tests"].update(cached(TESTS_KEY))
    data["runs"].update(cached(RUNS_KEY))
    out = {k: {n: round(s, 1) for n, s in sorted(v.items())} for k, v in data.items()}
    COMMITTED.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"{COMMITTED}: {len(out['tests'])} tests, {len(out['runs'])} runs")


if __name__ == "__main__":
    main()

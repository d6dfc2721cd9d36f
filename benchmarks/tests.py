"""How long the harness's own tests take: what the last `make test` here wrote.

`make bench` does not run the tests itself (they take minutes and load the machine the
other sections measure on); `make test` records its own wall time, worker count and
exit status in `out/make-test.json`, and this section reports that with its date.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT

RECORD = ROOT / "out" / "make-test.json"


def run(record: Path = RECORD) -> dict[str, Any]:
    if not record.exists():
        return {"make_test_s": None, "make_test_note": f"no {record.name}: run `make test`"}
    last = json.loads(record.read_text())
    return {
        "make_test_s": last["seconds"],
        "make_test_workers": last["workers"],
        "make_test_exit": last["exit"],
        "make_test_note": f"the last `make test` here, finished {last['finished']} "
        f"({last['workers']} pytest-xdist workers; `make bench` does not run the tests)",
    }

"""Run the benchmark sections and write `out/bench.json` as each one finishes."""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

SECTIONS = (
    "link",
    "light",
    "media",
    "record",
    "suites",
    "lab",
    "labgrid",
    "witness",
    "search",
    "tests",
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("out/bench.json"))
    ap.add_argument("--only", nargs="*", choices=SECTIONS, default=list(SECTIONS))
    args = ap.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "sections": {},
    }
    failed = False
    for name in args.only:
        began = time.monotonic()
        print(f"[bench] {name} ...", flush=True)
        try:
            figures = importlib.import_module(f"benchmarks.{name}").run()
        except Exception:  # one section's failure must not lose the others' figures
            failed = True
            figures = {"error": traceback.format_exc(limit=5)}
        figures["section_seconds"] = round(time.monotonic() - began, 1)
        result["sections"][name] = figures
        flat = {k: v for k, v in figures.items() if not isinstance(v, dict | list)}
        print(f"[bench] {name}: {json.dumps(flat)}", flush=True)
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        tmp.replace(args.out)
    print(f"[bench] wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

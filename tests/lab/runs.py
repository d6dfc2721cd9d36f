"""Run pytest on the conformance suites in a subprocess, as a lab's CI would."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# A minimal real-bench station file; `{name}` is its station name.
STATION = """
[station]
name = "{name}"
[dut]
port = "/dev/ttyACM0"
[photodiode]
resource = "TCPIP0::10.0.0.5::5025::SOCKET"
visible_v = 0.5
"""


@dataclass(frozen=True)
class PytestRun:
    returncode: int
    seconds: float
    output: str

    def lines(self, prefix: str) -> list[str]:
        return [ln for ln in self.output.splitlines() if ln.startswith(prefix)]


def run_pytest(args: Sequence[str], timeout_s: float = 300) -> PytestRun:
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)
    return PytestRun(proc.returncode, time.monotonic() - t0, proc.stdout + proc.stderr)


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]

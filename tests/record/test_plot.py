"""plot_trace draws small and huge traces to a PNG without pyplot state."""

from __future__ import annotations

import numpy as np

from harness.judge.light import LightTrace
from harness.record.plot import _envelope, plot_trace

PNG = b"\x89PNG\r\n\x1a\n"


def test_envelope_keeps_every_extreme() -> None:
    v = np.zeros(10_001)
    v[5_000] = -1.0  # a one-sample dip must survive decimation
    v[10_000] = 2.0  # so must the ragged tail
    t, lo, hi = _envelope(np.arange(len(v), dtype=float), v, 100)
    assert lo.min() == -1.0 and hi.max() == 2.0
    assert len(t) == len(lo) == len(hi) <= 102


def test_huge_trace_with_captures_and_violations(tmp_path) -> None:
    n = 1_000_000
    v = np.full(n, 3.05, dtype=np.float32)
    v[400_000:400_400] = 0.05  # a 4 ms gap at 10 µs
    trace = LightTrace(100.0, 1e-5, v, 2e-5, 0.5)
    path = plot_trace(
        trace,
        tmp_path / "huge.png",
        captures=[(101.0, 109.0, "video #1"), (102.0, 102.0, "photo #2")],
        violations=[(104.0, 104.004, "IND-3 gap 4 ms"), (105.0, 105.0, "IND-6")],
        title="a huge trace",
    )
    assert path.read_bytes()[:8] == PNG


def test_empty_and_uncaptured_traces(tmp_path) -> None:
    empty = LightTrace(1.0, 1e-3, np.empty(0), 0.0, 0.5)
    assert plot_trace(empty, tmp_path / "empty.png").read_bytes()[:8] == PNG
    small = LightTrace(1.0, 1e-3, np.linspace(0, 3, 50), 0.0, 0.5)
    assert plot_trace(small, tmp_path / "small.png").read_bytes()[:8] == PNG

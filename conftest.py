"""Repository-level pytest configuration.

The Tally plugin itself is installed by its `pytest11` entry point (harness.pytestplugin.plugin), so
`pytest suites --station FILE` works from any directory once the package is installed.
"""

from __future__ import annotations

# Never collect run output, the virtual environment or the benchmark scripts as tests.
collect_ignore_glob = ["out/*", ".venv/*", "benchmarks/*", "node_modules/*"]

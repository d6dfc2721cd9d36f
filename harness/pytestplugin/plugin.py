"""The Tally pytest plugin (entry point `tally`): one module that gathers the others.

pytest registers hooks and fixtures from this module's namespace, so each piece lives in
a module of its own and is only named here:

- `options`: the command line; `session`: placement on a station or lab pool, the run,
  the Hypothesis seed (`seeds`); `fixtures`: station, bench, dut, photodiode, light,
  evidence, limits; `markers`: the `clause` marker and Allure labels; `hooks` with
  `outcomes`: test outcomes into verdicts, the run sealed, the exit code.

The plugin only acts when `--station` or `--lab` is given, so ordinary test runs are
untouched.
"""

from __future__ import annotations

from harness.pytestplugin import hypothesis_profiles  # noqa: F401  (registers the profiles)
from harness.pytestplugin.fixtures import (  # noqa: F401
    bench,
    dut,
    evidence,
    light,
    limits,
    photodiode,
    search,
    station,
    tally_run,
)
from harness.pytestplugin.hooks import (  # noqa: F401
    pytest_runtest_call,
    pytest_runtest_makereport,
    pytest_sessionfinish,
    pytest_terminal_summary,
)
from harness.pytestplugin.markers import pytest_collection_modifyitems  # noqa: F401
from harness.pytestplugin.options import pytest_addoption  # noqa: F401
from harness.pytestplugin.session import pytest_configure, pytest_report_header  # noqa: F401

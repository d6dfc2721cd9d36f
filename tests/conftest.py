"""Shared fixtures for the harness's own tests: a simulated device on a real pty, simulated
instruments on 127.0.0.1 reached through pyvisa-py. And the hooks that keep a test from
being left out quietly: a test that needs an outside tool (`@pytest.mark.needs`, see
tests/tools.py) fails under CI where the tool is missing and is skipped elsewhere, and
the closing summary names every skipped test with its reason."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.instruments.photodiode import Photodiode
from harness.sim.config import SimDeviceConfig
from harness.sim.device import SimDevice
from harness.sim.instrument import SimInstrument
from harness.sim.led import Led
from harness.wire.client import DeviceClient
from tests import durations, schedule, tools
from tests.runs import PlannedRun, Run, SuiteRuns, under_xdist

DeviceFactory = Callable[..., tuple[SimDevice, DeviceClient]]


# A test longer than this is begun among the whole-suite runs' tests, longest first; a
# shorter one after them (it would end the session late only if begun last). Tried at
# 60 s (the labgrid and ser2net suites beside the runs too): one `make test` of 10 min
# 52 s, then one with five false results of the load (simulated devices answering over
# 1.5 s late, both cores 91-97 % busy); at 20 s, 11 min 43 s.
AMONG_RUNS_S = 180.0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests that read whole-suite runs first, and beside them only tests longer than
    a run; then the rest; longest first within each, since under pytest-xdist a worker
    that starts a long test last ends the session late.

    A test that reads a run (`suite_run` mark) counts as long as its run: its worker
    waits on the run (or makes it) while the runs made ahead go on, rather than running
    tests that start benches of their own beside a dozen runs. Tried: the runs' tests
    last drove the load to 10 on two cores and simulated devices starved of CPU gave
    false verdicts; the two-minute labgrid and ser2net runs among the runs' tests made
    every run ~7 % slower and one supply reading took 0.4 s (a false IND-7 INCONCLUSIVE).
    How long a test takes is what it took last time here (pytest's cache), else what it
    took when `tests/durations.json` was last written (a fresh clone has no cache), else
    what its `slow(minutes=N)` mark says (half a minute unless said), else nothing.
    Under `make test` (`--dist loadgroup`) this is the order tests/schedule.py chooses
    from (a test longer than AMONG_RUNS_S is begun at once there too); with one process,
    the order they run in."""
    known = _known(config)

    def order(item: pytest.Item) -> tuple[bool, float]:
        s = _seconds(item, known)
        return (item.get_closest_marker("suite_run") is not None or s > AMONG_RUNS_S, s)

    items.sort(key=order, reverse=True)  # stable: ties keep their order


def _seconds(item: pytest.Item, known: dict[str, dict[str, float]]) -> float:
    """How long `item` takes (see pytest_collection_modifyitems)."""
    run = item.get_closest_marker("suite_run")
    if run is not None:
        return _run_seconds(PlannedRun.of(run), known)
    if item.nodeid in known["tests"]:
        return known["tests"][item.nodeid]
    marks = list(item.iter_markers("slow"))  # a parameter's own mark may say more
    return max((60 * float(m.kwargs.get("minutes", 0.5)) for m in marks), default=0.0)


_KNOWN = pytest.StashKey[dict[str, dict[str, float]]]()


def _known(config: pytest.Config) -> dict[str, dict[str, float]]:
    """Seconds each test and each run took: the committed ones, updated by this machine's
    (read once per process: ordering the tests and planning the runs both ask)."""
    if _KNOWN not in config.stash:
        known = durations.committed()
        cache = getattr(config, "cache", None)
        if cache is not None:
            known["tests"].update(cache.get(durations.TESTS_KEY, {}))
            known["runs"].update(cache.get(durations.RUNS_KEY, {}))
        config.stash[_KNOWN] = known
    return config.stash[_KNOWN]


def _run_seconds(planned: PlannedRun, known: dict[str, dict[str, float]]) -> float:
    return known["runs"].get(planned.name, 60 * planned.minutes)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist tells the controller collection ended
def pytest_collection_finish(session: pytest.Session) -> None:
    """Begin the whole-suite runs this process's tests will read, longest first, now: they
    are made in the background while the other tests run (tests/runs.py). Under
    pytest-xdist, write which test reads which runs for the controller's scheduler
    (tests/schedule.py)."""
    if session.config.option.collectonly:
        return
    plan: dict[str, PlannedRun] = {}
    readers: dict[str, PlannedRun] = {}
    for item in session.items:
        mark = item.get_closest_marker("suite_run")
        if mark is not None:
            planned = PlannedRun.of(mark)
            plan.setdefault(planned.name, planned)
            readers[item.nodeid] = planned
    if not plan:
        return
    known = _known(session.config)
    runs = _suite_runs(session.config)
    if under_xdist():
        waits = {}
        for nodeid, planned in readers.items():
            paths = runs.planned_paths(planned)
            seconds = _run_seconds(planned, known)
            waits[nodeid] = schedule.Waits(paths.began, tuple(paths.results), seconds)
        took = {i.nodeid: _seconds(i, known) for i in session.items if i.nodeid not in readers}
        first = frozenset(nodeid for nodeid, s in took.items() if s > AMONG_RUNS_S)
        schedule.write_plan(runs.root / schedule.PLAN, schedule.Plan(waits, first, took))
    runs.ahead(sorted(plan.values(), key=lambda p: _run_seconds(p, known), reverse=True))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup` (make test's) handed out by tests/schedule.py: a test that reads
    a run once the run is done, the others as the CPU allows beside the runs."""
    if config.getvalue("dist") != "loadgroup":
        return None
    plan = _suite_runs(config).root / schedule.PLAN
    sched = schedule.RunAwareScheduling(config, log, plan, schedule.CpuBusy().start().busy)
    dsession = config.pluginmanager.getplugin("dsession")  # its loop runs the scheduler
    if dsession is not None:
        schedule.Ticker(dsession, sched).start()
    return sched


_runs: SuiteRuns | None = None


def _suite_runs(config: pytest.Config) -> SuiteRuns:
    """This process's `SuiteRuns`, in a folder the session's xdist workers share (their
    base folders' parent)."""
    global _runs
    if _runs is None:
        base = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
        _runs = SuiteRuns((base.parent if under_xdist() else base) / "suite-runs")
    return _runs


_durations: dict[str, float] = {}
_run_durations: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration
    for key, value in report.user_properties:
        if key == "suite_run_seconds":  # (run name, seconds), from the `suite_run` fixture
            _run_durations[value[0]] = value[1]


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _runs is not None:  # done or interrupted: drop the runs not yet begun
        _runs.close()
    cache = getattr(session.config, "cache", None)
    if cache is None or hasattr(session.config, "workerinput"):  # the controller writes it
        return
    cache.set(durations.TESTS_KEY, {**cache.get(durations.TESTS_KEY, {}), **_durations})
    cache.set(durations.RUNS_KEY, {**cache.get(durations.RUNS_KEY, {}), **_run_durations})


@pytest.fixture(scope="session")
def suite_runs(request: pytest.FixtureRequest) -> SuiteRuns:
    """Whole-suite runs of simulated devices, each made once per session (tests/runs.py);
    the runs not yet begun ahead are dropped at session end (`pytest_sessionfinish`)."""
    return _suite_runs(request.config)


@pytest.fixture
def suite_run(request: pytest.FixtureRequest, suite_runs: SuiteRuns) -> Run:
    """The whole-suite run the test's `suite_run` mark names, made ahead or now."""
    mark = request.node.get_closest_marker("suite_run")
    assert mark is not None, "the suite_run fixture needs a @pytest.mark.suite_run(...)"
    planned = PlannedRun.of(mark)
    run = suite_runs.planned(planned)
    request.node.user_properties.append(("suite_run_seconds", (planned.name, run.seconds)))
    return run


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("needs"):
        tools.require(mark.args)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Every skipped test by name, with its reason: a skip is a test not run, and must be
    seen (pytest's own `-rs` line groups them by reason and counts them)."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    terminalreporter.section(f"{len(skipped)} skipped (not run)", sep="-", yellow=True)
    for report in skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        reason = str(reason).removeprefix("Skipped: ")
        terminalreporter.write_line(f"SKIPPED {report.nodeid} - {reason}")


@pytest.fixture
def sim_device() -> Iterator[DeviceFactory]:
    """Start simulated devices (knobs and faults as given) with a connected client each."""
    started: list[tuple[SimDevice, DeviceClient]] = []

    def make(*faults: str, **knobs: object) -> tuple[SimDevice, DeviceClient]:
        cfg = SimDeviceConfig(seed=7, **knobs)  # type: ignore[arg-type]
        dev = SimDevice(Led(), cfg, faults).start()
        client = DeviceClient(str(dev.link_path), response_timeout_s=1.5, boot_timeout_s=5).open()
        started.append((dev, client))
        return dev, client

    yield make
    for dev, client in started:
        client.close()
        dev.stop()


@pytest.fixture
def led() -> Led:
    return Led()


@pytest.fixture
def instrument(led: Led) -> Iterator[Callable[..., SimInstrument]]:
    """Factory: a started SimInstrument on an ephemeral port, stopped after the test."""
    started: list[SimInstrument] = []

    def make(**kwargs: Any) -> SimInstrument:
        kwargs.setdefault("seed", 7)
        inst = SimInstrument(led, **kwargs)
        inst.start()
        started.append(inst)
        return inst

    yield make
    for inst in started:
        inst.stop()


@pytest.fixture
def photodiode(
    instrument: Callable[..., SimInstrument],
) -> Iterator[Callable[..., tuple[SimInstrument, Photodiode]]]:
    """Factory: (instrument, driver connected to it); both closed after the test."""
    opened: list[Photodiode] = []

    def make(timeout_s: float = 2.0, **kwargs: Any) -> tuple[SimInstrument, Photodiode]:
        inst = instrument(**kwargs)
        pd = Photodiode.open(inst.resource, timeout_s=timeout_s)
        opened.append(pd)
        return inst, pd

    yield make
    for pd in opened:
        pd.close()

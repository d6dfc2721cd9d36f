"""The pytest plugin: options, fixtures, the `clause` marker, and verdict hooks.

Thin glue: the work is done by `harness.record.run`, `harness.bench.assembled` and
`harness.record.evidence`.
The plugin only acts when `--station` or `--lab` is given, so ordinary test runs are
untouched.
"""

from __future__ import annotations

import contextlib
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from harness import profiles  # noqa: F401  (registers the Hypothesis profiles)
from harness.bench.assembled import Bench
from harness.bench.station import Station
from harness.errors import BenchFault, ConfigError, DeviceError, LeaseError
from harness.instruments.current_monitor import CurrentMonitor
from harness.instruments.photodiode import Photodiode
from harness.judge.clauses import CLAUSE_BY_ID, PRINCIPLES
from harness.judge.light import LightTrace
from harness.judge.verdict import TestOutcome, Verdict, worst
from harness.lab.labfile import Lab
from harness.lab.pool import Request, place
from harness.labplugin import LabCoordinator
from harness.record.evidence import Evidence, keep_current
from harness.record.run import TallyRun
from harness.wire.client import DeviceClient
from harness.wire.messages import Event

RUN_KEY = pytest.StashKey[TallyRun]()
EVIDENCE_KEY = pytest.StashKey[Evidence]()
OUTCOME_KEY = pytest.StashKey[list[tuple[Verdict, str]]]()
START_KEY = pytest.StashKey[float]()


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("tally", "Tally conformance harness")
    g.addoption("--station", default=None, help="station file, or 'sim' for the simulated bench")
    g.addoption(
        "--sim-fault",
        action="append",
        default=[],
        metavar="NAME",
        help="add a simulated firmware fault (repeatable; simulated stations only)",
    )
    g.addoption("--report-dir", default="out", help="run directory for results and evidence")
    g.addoption(
        "--lab",
        default=None,
        metavar="FILE|DIR",
        help="lab file or folder of station files: each process (xdist worker) leases one",
    )
    g.addoption("--lease-dir", default=None, help="station lease locks (default: the lab's)")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "clause(*ids): the conformance clauses this test gives evidence for"
    )
    try:
        placed = place(_placement_request(config))
    except (ConfigError, LeaseError) as exc:
        raise pytest.UsageError(str(exc)) from None
    if placed is None:
        return
    if isinstance(placed, Lab):  # xdist controller of a lab run: merges, runs no bench
        coordinator = LabCoordinator(placed, Path(config.getoption("--report-dir")), _dist(config))
        config.pluginmanager.register(coordinator, "tally-lab")
        return
    station, report_dir = placed.station, placed.report_dir
    if placed.lease is not None:
        config.add_cleanup(placed.lease.release)
    if placed.lab is not None and not hasattr(config, "workerinput"):
        coordinator = LabCoordinator(placed.lab, Path(config.getoption("--report-dir")), "no")
        config.pluginmanager.register(coordinator, "tally-lab")
    faults = list(config.getoption("--sim-fault") or [])
    if faults and station.sim is None:
        raise pytest.UsageError(
            f"--sim-fault needs a simulated station; {station.source} is not one"
        )
    run = TallyRun(station, report_dir, faults)
    config.stash[RUN_KEY] = run
    if getattr(config.option, "allure_report_dir", "unset") is None:
        config.option.allure_report_dir = str(report_dir / "allure-results")
    hyp_profile = config.getoption("hypothesis_profile", default=None)
    if hyp_profile is None and station.hypothesis.profile:
        hypothesis_settings.load_profile(station.hypothesis.profile)
    # Every run gets a recorded seed (the station's, the command line's, or a fresh one),
    # so the state machine's sequences can be replayed exactly from the evidence.
    seed = config.getoption("hypothesis_seed", default=None)
    if seed is None:
        seed = (
            station.hypothesis.seed
            if station.hypothesis.seed is not None
            else (random.randrange(2**32))
        )
        config.option.hypothesis_seed = str(seed)
    with contextlib.suppress(ValueError):
        seed = int(seed)
    run.ledger.meta["hypothesis"] = {
        "profile": hyp_profile or station.hypothesis.profile or "default",
        "seed": seed,
    }


def _placement_request(config: pytest.Config) -> Request:
    worker = getattr(config, "workerinput", {}).get("workerid")
    distributed = worker is None and _dist(config) != "no"
    return Request(
        station=config.getoption("--station", default=None),
        lab=config.getoption("--lab", default=None),
        report_dir=Path(config.getoption("--report-dir")),
        worker_id=worker,
        workers=len(getattr(config.option, "tx", None) or []) if distributed else 0,
        lease_dir=config.getoption("--lease-dir", default=None),
    )


def _dist(config: pytest.Config) -> str:
    """pytest-xdist's distribution mode ("no" without xdist or without -n)."""
    return str(getattr(config.option, "dist", "no") or "no")


def _run(config: pytest.Config) -> TallyRun | None:
    return config.stash.get(RUN_KEY, None)


def _require_run(request: pytest.FixtureRequest) -> TallyRun:
    run = _run(request.config)
    if run is None:
        raise pytest.UsageError("this test needs a bench: run pytest with --station FILE|sim")
    return run


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tally_run(request: pytest.FixtureRequest) -> TallyRun:
    return _require_run(request)


@pytest.fixture(scope="session")
def station(tally_run: TallyRun) -> Station:
    """The station in use, with real addresses (the simulator's, on `--station sim`)."""
    return tally_run.live_station()


@pytest.fixture
def bench(tally_run: TallyRun) -> Bench:
    """The open bench (opened once per run by `TallyRun`). Function-scoped on purpose:
    pytest would cache a session fixture's error, and a bench whose link failed to open
    is tried again by the next tests (see `TallyRun.open_bench`)."""
    return tally_run.open_bench()


@pytest.fixture
def photodiode(bench: Bench) -> Photodiode:
    """The connected photodiode instrument (pyvisa, `@py` backend unless the station says)."""
    assert bench.photodiode is not None
    return bench.photodiode


@pytest.fixture
def evidence(tally_run: TallyRun, request: pytest.FixtureRequest) -> Evidence:
    item = request.node
    ev = Evidence(
        item.nodeid, clauses_of(item), ledger=tally_run.ledger, profile=tally_run.profile,
        sync=tally_run.bench.sync if tally_run.bench else None, noise=tally_run.noise,
    )  # fmt: skip
    item.stash[EVIDENCE_KEY] = ev
    return ev


@pytest.fixture
def dut(bench: Bench, evidence: Evidence, request: pytest.FixtureRequest) -> Iterator[DeviceClient]:
    """The connected device, idle and without consent; left not recording afterwards.

    With a bench supply, the current it feeds the DUT is logged into the evidence (CSV).
    """
    run = _require_run(request)
    evidence.sync = bench.sync
    evidence.noise = run.noise
    log_rel = f"{evidence.dir}/serial.log"
    bench.client.log.start_segment(run.rundir.path(log_rel))
    current = CurrentMonitor(bench.power) if bench.power is not None else None
    supply_error = None
    try:
        if current is not None:
            current.start()
        if not bench.client.link.alive:
            bench.client.log.note("link was down after the previous test: reconnecting")
            bench.recover()
        bench.client.ensure_idle()
        bench.client.consent_revoke("all")
        bench.sync.sync(4)
        yield bench.client
    finally:
        try:
            bench.client.ensure_idle()
        finally:
            bench.client.log.end_segment()
            path = run.rundir.path(log_rel)
            if path.exists():
                run.rundir.done(log_rel)
                evidence.attach_file(path, "serial log", "text/plain")
            if current is not None:
                supply_error = keep_current(current, evidence)
    if supply_error is not None:
        raise supply_error
    anomalies = bench.client.anomalies
    if anomalies:
        found, anomalies[:] = list(anomalies), []
        raise BenchFault(f"device broke the protocol: {'; '.join(found[:5])}")


@dataclass
class LightRecording:
    """What a `light.recording()` block saw: the trace and the device's events."""

    mark: int
    trace: LightTrace | None = None
    events: list[Event] = field(default_factory=list)


class LightRecorder:
    """Records the light in the background for as long as a `with` block runs."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench

    @contextlib.contextmanager
    def recording(self, max_seconds: float | None = None) -> Iterator[LightRecording]:
        rec = LightRecording(self.bench.client.event_mark)
        with self.bench.monitor(max_seconds) as mon:
            yield rec
        self.bench.sync.sync(4)  # bracket the block's events between two sync points
        rec.trace = self.bench.trace(mon)
        rec.events = self.bench.client.events_since(rec.mark)


@pytest.fixture
def light(bench: Bench) -> LightRecorder:
    return LightRecorder(bench)


@pytest.fixture
def profile(tally_run: TallyRun):
    return tally_run.profile


def clauses_of(item: pytest.Item) -> tuple[str, ...]:
    ids: list[str] = []
    for mark in item.iter_markers("clause"):
        for cid in mark.args:
            if cid not in CLAUSE_BY_ID:
                raise pytest.UsageError(f"{item.nodeid}: unknown clause {cid!r}")
            ids.append(cid)
    return tuple(dict.fromkeys(ids))


# -- Allure labels ----------------------------------------------------------------------

SEVERITY = {"indicator": "critical", "consent": "critical", "minimum": "normal"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Epic = principle, feature = clause, story = test, a severity, a link to the clause.

    Added as allure-pytest's own marks, so they cost nothing when Allure is not collecting.
    """
    if _run(config) is None:
        return
    label, link = pytest.mark.allure_label, pytest.mark.allure_link
    for item in items:
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


# -- verdict hooks ----------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Device refusals become failures; failing measurements fail the test."""
    if _run(item.config) is None:
        return (yield)
    try:
        result = yield
    except DeviceError as exc:
        if exc.code == "UNSUPPORTED":
            pytest.skip(f"NOT_TESTED: the device does not offer {exc.cmd}")
        raise AssertionError(f"device answered an error it should not have: {exc}") from exc
    ev = item.stash.get(EVIDENCE_KEY, None)
    if ev is not None:
        bad = ev.failures()
        if bad:
            lines = [
                f"{m.clause} {m.verdict.value}: {m.name} = {m.value:.4g} {m.unit} "
                f"(U = {m.uncertainty:.2g}, limit {m.comparison} {m.limit:g}) "
                f"{m.subject} {m.detail}"
                for m in bad[:20]
            ]
            raise AssertionError("\n".join(lines))
    return result


def classify(report: pytest.TestReport, call: pytest.CallInfo[None]) -> tuple[Verdict, str]:
    """One phase of a test as a verdict with its reason."""
    if report.passed:
        return Verdict.PASS, ""
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        return Verdict.NOT_TESTED, str(reason).removeprefix("Skipped: ")
    exc = call.excinfo.value if call.excinfo else None
    text = f"{type(exc).__name__}: {exc}" if exc is not None else str(report.longrepr)[-500:]
    if isinstance(exc, BaseExceptionGroup):  # e.g. Hypothesis: several or flaky failures
        leaves = list(_leaves(exc))
        text += " — " + " | ".join(f"{type(e).__name__}: {e}"[:300] for e in leaves[:5])
        if any(isinstance(e, BenchFault) or _caused_by_bench(e) for e in leaves):
            return Verdict.BROKEN, text
        if all(isinstance(e, AssertionError | pytest.fail.Exception) for e in leaves):
            return Verdict.FAIL, text
        return Verdict.BROKEN, f"harness error: {text}"
    if isinstance(exc, BenchFault | pytest.UsageError) or (
        exc is not None and _caused_by_bench(exc)
    ):
        return Verdict.BROKEN, text
    if isinstance(exc, AssertionError | pytest.fail.Exception):
        if "INCONCLUSIVE" in str(exc) and "FAIL:" not in str(exc):
            return Verdict.INCONCLUSIVE, text
        return Verdict.FAIL, text
    return Verdict.BROKEN, f"harness error: {text}"


def _leaves(group: BaseExceptionGroup) -> Iterator[BaseException]:
    for e in group.exceptions:
        if isinstance(e, BaseExceptionGroup):
            yield from _leaves(e)
        else:
            yield e


def _caused_by_bench(exc: BaseException) -> bool:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, BenchFault):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
        seen += 1
    return False


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:  # type: ignore[misc]
    report = yield
    run = _run(item.config)
    if run is None:
        return report
    phases = item.stash.setdefault(OUTCOME_KEY, [])
    if call.when == "setup":
        item.stash[START_KEY] = time.monotonic()
    phases.append(classify(report, call))
    if call.when == "teardown":
        verdict = worst([v for v, _ in phases])
        if verdict == Verdict.PASS and any(v == Verdict.NOT_TESTED for v, _ in phases):
            verdict = Verdict.NOT_TESTED  # a skip, with setup and teardown passing, is no PASS
        reason = "; ".join(r for v, r in phases if v == verdict and r)
        ev = item.stash.get(EVIDENCE_KEY, None)
        if ev is not None:
            ev.finish()
        clauses = clauses_of(item)
        blamed = tuple(c for c in clauses if re.search(rf"\b{c}\b", reason))
        run.ledger.test(
            TestOutcome(item.nodeid, clauses, verdict, reason, run.ledger.station, blamed),
            time.monotonic() - item.stash.get(START_KEY, time.monotonic()),
        )
        report.user_properties.append(("tally_verdict", verdict.value))
    return report


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Iterator[None]:
    """Seal the run after pytest's own session teardown (a wrapper, so also if that fails).

    On Ctrl-C pytest tears down the interrupted test's fixtures here, in its own
    `pytest_sessionfinish`: the `dut` fixture must still find the bench open then, so it
    can leave the device not recording; only after that is the bench closed.
    """
    try:
        return (yield)
    finally:
        _finish_run(session, exitstatus)


def _finish_run(session: pytest.Session, exitstatus: int) -> None:
    run = _run(session.config)
    if run is None:
        return
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED or bool(session.shouldstop)
    alluredir = getattr(session.config.option, "allure_report_dir", None)
    summary = run.finish(complete=not interrupted, alluredir=Path(alluredir) if alluredir else None)
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        session.exitstatus = (
            pytest.ExitCode.OK
            if summary["verdict"] == Verdict.PASS and exitstatus == pytest.ExitCode.OK
            else pytest.ExitCode.TESTS_FAILED
        )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    run = _run(terminalreporter.config)
    if run is None:
        return
    s = run.ledger.summary(complete=True)
    tr = terminalreporter
    tr.section(f"Tally verdicts — station {s['station']}, profile {s['profile']}")
    for cid, c in s["clauses"].items():
        tr.write_line(f"{cid:6s} {c['verdict']:13s} {CLAUSE_BY_ID[cid].statement}")
    tr.write_line(f"RUN    {s['verdict']}   ({run.rundir.root / 'summary.json'})")

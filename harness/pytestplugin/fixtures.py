"""The plugin's fixtures: the run, the station, the open bench, the device, light, evidence."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from harness.bench.assembled import Bench
from harness.bench.recording import LightRecorder
from harness.bench.station import Station
from harness.errors import BenchFault, TallyError
from harness.instruments.photodiode import Photodiode
from harness.judge.verdict import Measurement
from harness.pytestplugin.markers import clauses_of
from harness.pytestplugin.session import EVIDENCE_KEY, require_run
from harness.record.evidence import Evidence
from harness.record.run import TallyRun
from harness.wire.client import DeviceClient


@pytest.fixture(scope="session")
def tally_run(request: pytest.FixtureRequest) -> TallyRun:
    return require_run(request)


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
    """The connected photodiode instrument (pyvisa, `@py` backend unless the station says).

    The run's light stream is acquiring on it from the moment the bench opened: record
    light through `light` (or `bench.monitor()`), never by configuring it here."""
    assert bench.photodiode is not None
    return bench.photodiode


@pytest.fixture
def evidence(tally_run: TallyRun, request: pytest.FixtureRequest) -> Evidence:
    item = request.node
    ev = Evidence(
        item.nodeid, clauses_of(item), ledger=tally_run.ledger, limits=tally_run.limits,
        sync=tally_run.bench.sync if tally_run.bench else None, noise=tally_run.noise,
    )  # fmt: skip
    item.stash[EVIDENCE_KEY] = ev
    return ev


@pytest.fixture
def dut(bench: Bench, evidence: Evidence, request: pytest.FixtureRequest) -> Iterator[DeviceClient]:
    """The connected device, idle and without consent; left not recording afterwards.

    With a bench supply, the test's slice of the run's current goes into the evidence
    (CSV, and a plot with the light), and IND-7 is judged up to the test's end: the test
    then gives evidence for IND-7 too, and fails for a covert stretch inside it.
    """
    run = require_run(request)
    evidence.sync = bench.sync
    evidence.noise = run.noise
    log_rel = f"{evidence.dir}/serial.log"
    bench.client.log.start_segment(run.rundir.path(log_rel))
    covert = run.covert
    watch_error: TallyError | None = None
    covert_bad: list[Measurement] = []
    t_start = time.monotonic()
    if covert is not None:
        covert.test_started(t_start)
        if covert.judging:
            request.node.add_marker(pytest.mark.clause("IND-7"))
    try:
        bench.between_tests()
        if not bench.client.link.alive:
            bench.client.log.note("link was down after the previous test: reconnecting")
            bench.recover()
        bench.client.ensure_idle()
        bench.client.consent_revoke("all")
        bench.resync()
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
            if covert is not None:
                try:
                    covert_bad = covert.after_test(evidence, t_start, time.monotonic())
                except TallyError as exc:
                    watch_error = exc
    if watch_error is not None:
        raise watch_error
    anomalies = bench.client.anomalies
    if anomalies:
        found, anomalies[:] = list(anomalies), []
        raise BenchFault(f"device broke the protocol: {'; '.join(found[:5])}")
    if covert_bad:
        raise AssertionError("\n".join(describe(m) for m in covert_bad[:20]))


def describe(m: Measurement) -> str:
    """One failing measurement as a line that names its clause (outcomes blame by it)."""
    return (
        f"{m.clause} {m.verdict.value}: {m.name} = {m.value:.4g} {m.unit} "
        f"(U = {m.uncertainty:.2g}, limit {m.comparison} {m.limit:g}) {m.subject} {m.detail}"
    )


@pytest.fixture
def light(bench: Bench) -> LightRecorder:
    return LightRecorder(bench)


@pytest.fixture
def limits(tally_run: TallyRun):
    return tally_run.limits

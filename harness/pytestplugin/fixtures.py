"""The plugin's fixtures: the run, the station, the open bench, the device, light, evidence."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.bench.assembled import Bench
from harness.bench.recording import LightRecorder
from harness.bench.station import Station
from harness.errors import BenchFault, DeviceError
from harness.instruments.current_monitor import CurrentMonitor
from harness.instruments.photodiode import Photodiode
from harness.pytestplugin.markers import clauses_of
from harness.pytestplugin.session import EVIDENCE_KEY, require_run
from harness.record.evidence import Evidence, keep_current
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
    """The connected photodiode instrument (pyvisa, `@py` backend unless the station says)."""
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

    With a bench supply, the current it feeds the DUT is logged into the evidence (CSV),
    and a device that stops answering is power-cycled once (`TallyRun.settle_device`).
    Every artifact the test made and did not read itself is read, inspected and kept.
    """
    run = require_run(request)
    evidence.sync = bench.sync
    evidence.requests = bench.client.requests
    evidence.noise = run.noise
    evidence.bench = bench
    log_rel = f"{evidence.dir}/serial.log"
    bench.client.log.start_segment(run.rundir.path(log_rel))
    current = CurrentMonitor(bench.power) if bench.power is not None else None
    supply_error = None
    before: set[str] | None = None
    try:
        if current is not None:
            current.start()
        if not bench.client.link.alive:
            bench.client.log.note("link was down after the previous test: reconnecting")
            bench.recover()
        run.settle_device(bench, after_test=False)
        bench.client.consent_revoke("all")
        bench.resync()
        before = listed(bench)
        yield bench.client
    finally:
        try:
            run.settle_device(bench, after_test=True)
        finally:
            evidence.witness_rest(before)
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


def listed(bench: Bench) -> set[str] | None:
    """The artifacts before a test (None if the device would not list them: no sweep)."""
    try:
        return set(bench.client.artifact_list())
    except DeviceError:
        return None


@pytest.fixture
def light(bench: Bench) -> LightRecorder:
    return LightRecorder(bench)


@pytest.fixture
def limits(tally_run: TallyRun):
    return tally_run.limits

"""The plugin's fixtures: the run, the station, the open bench, the device, light, evidence."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from harness.bench.assembled import Bench
from harness.bench.recording import LightRecorder
from harness.bench.station import Station
from harness.errors import BenchFault, DeviceError, TallyError
from harness.instruments.photodiode import Photodiode
from harness.judge.verdict import Measurement
from harness.pytestplugin.markers import clauses_of
from harness.pytestplugin.outcomes import measurement_failure
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
        plots=tally_run.plots,
    )  # fmt: skip
    item.stash[EVIDENCE_KEY] = ev
    return ev


@pytest.fixture
def dut(bench: Bench, evidence: Evidence, request: pytest.FixtureRequest) -> Iterator[DeviceClient]:
    """The connected device, idle and without consent; left not recording afterwards.

    A device that stops answering is power-cycled once (`TallyRun.settle_device`). Every
    artifact the test made and did not read itself is read, inspected and kept. With a
    bench supply, the test's slice of the run's current goes into the evidence (CSV, and a
    plot with the light), and IND-7 is judged up to the test's end: the test then gives
    evidence for IND-7 too, and fails (a typed `ClauseFailure`) for a covert stretch in it.
    """
    run = require_run(request)
    evidence.sync = bench.sync
    evidence.requests = bench.client.requests
    evidence.noise = run.noise
    evidence.bench = bench
    log_rel = f"{evidence.dir}/serial.log"
    bench.client.log.start_segment(run.rundir.path(log_rel))
    covert = run.covert
    watch_error: TallyError | None = None
    covert_bad: list[Measurement] = []
    before: set[str] | None = None
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
            if covert is not None and run.covert is covert:
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
        raise measurement_failure(covert_bad)


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


@pytest.fixture
def search(tally_run: TallyRun) -> dict[str, Any]:
    """The run's search profile as recorded: `profile`, `seed`, `long_recording_s`, and
    `replay` (a `@reproduce_failure` blob) when one is being replayed."""
    return dict(tally_run.ledger.meta.get("hypothesis") or {})

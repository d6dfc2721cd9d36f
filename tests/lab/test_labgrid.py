"""Stations as labgrid places, against a real coordinator and exporter on 127.0.0.1.

Every run is a real `pytest suites ...` subprocess with labgrid's identity in its
environment; the lab (tests/lab/labgrid_lab.py) exports two simulated jigs. After every
test no place is held and no reservation is left: what a run acquires it gives back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests import tools

tools.import_or_skip("labgrid")

from harness.lab.labgrid_client import release
from tests import runs
from tests.lab.labgrid_lab import CI_USER, JIG, OTHER_USER, Lab, labgrid_lab
from tests.runs import ROOT, read_json

SUITES = (
    "suites/test_indicator.py",
    "suites/test_consent.py",
    "suites/test_minimum.py",
    "suites/test_power.py",
)
ONE_TEST = ("suites/test_minimum.py", "-k", "test_deleted_stays_deleted and not power")

# One lab (coordinator, exporter, two simulated jigs) per xdist worker that runs any of
# these tests: each on its own ports, so workers never share a place. (An `xdist_group`
# mark meant to keep them on one worker was silently ignored: pytest 9.2's structured node
# ids break pytest-xdist 3.8's `--dist loadgroup`, pytest-xdist#1386. Measured as they ran
# then, spread over up to five workers, which shortens the tail of `make test`.)
pytestmark = pytest.mark.needs("ser2net")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with labgrid_lab(tmp_path_factory.mktemp("labgrid")) as lab:
        yield lab


@pytest.fixture(autouse=True)
def nothing_left_held(lab: Lab) -> Iterator[None]:
    yield
    held, reservations = lab.acquired(), lab.reservations()
    lab.reset()  # a failure here must not spill into the next test
    assert all(v is None for v in held.values()), held
    assert reservations == []


def lg(lab: Lab, *args: str) -> list[str]:
    return [*args, "--lg-coordinator", lab.address]


def run_pytest(args: Sequence[str], **kw: Any) -> runs.Run:
    """`tests.runs.run_pytest` with labgrid's own pytest plugin loaded, as a lab runs it."""
    return runs.run_pytest(args, labgrid=True, **kw)


def pytest_command(args: Sequence[str], report_dir: Path | None = None) -> list[str]:
    return runs.pytest_command(args, report_dir, labgrid=True)


@pytest.mark.slow
def test_suites_pass_through_a_place_named_by_the_environment(lab: Lab, tmp_path: Path):
    out = tmp_path / "out"
    env = lab.env(LG_PLACE="tally-a", LG_COORDINATOR=lab.address)
    run = run_pytest([*SUITES, "--station", str(lab.jig())], report_dir=out, env=env)
    summary = run.summary
    assert run.returncode == 0 and summary["verdict"] == "PASS", (
        f"{summary.get('deviations')}\n{run.output[-4000:]}"
    )
    config = summary["station_config"]
    assert config["dut"]["port"].startswith("rfc2217://127.0.0.1:")
    assert config["photodiode"]["visible_v"] == 0.5  # the jig's calibration: from its file
    assert config["power"]["resource"].startswith("TCPIP0::127.0.0.1::")
    place = summary["labgrid"]
    assert place["place"] == "tally-a" and place["identity"] == f"ci/{CI_USER}"
    assert place["acquired_by_this_process"] and place["coordinator"] == lab.address
    assert set(place["resources"]) == {"dut", "photodiode", "supply", "shutter"}
    assert list(out.glob("tests/*power*/supply-current.csv")), "the supply came from the place"
    assert "tally-a: place released" in lab.labgrid.log("coordinator.log")


def test_a_place_held_by_someone_else_is_waited_for_then_refused(lab: Lab, tmp_path: Path):
    with lab.client(OTHER_USER) as other:
        hold = other.acquire("tally-a", wait_s=1)
        began = time.monotonic()
        run = run_pytest(
            [*ONE_TEST, "--station", str(lab.jig()), *lg(lab, "--lg-place", "tally-a"),
             "--lg-wait", "2"],
            report_dir=tmp_path / "out", env=lab.env(),
        )  # fmt: skip
        waited = time.monotonic() - began
        other.release(hold)
    assert run.returncode == 4, run.output[-3000:]
    errors = [ln for ln in run.output.splitlines() if ln.startswith("ERROR:")]
    assert len(errors) == 1, run.output[-3000:]
    assert f"labgrid place 'tally-a' is held by ci/{OTHER_USER} since " in errors[0]
    assert errors[0].endswith("gave up after waiting 2 s")
    assert waited >= 2, "it waited (through a labgrid reservation) before giving up"
    assert not (tmp_path / "out" / "summary.json").exists(), "no device was touched"


def test_a_place_this_user_holds_is_used_and_left_held(lab: Lab, tmp_path: Path):
    with lab.client(CI_USER) as me:  # e.g. acquired by hand with labgrid-client
        hold = me.acquire("tally-a", wait_s=1)
        try:
            run = run_pytest(
                [*ONE_TEST, "--station", str(lab.jig()), *lg(lab, "--lg-place", "tally-a")],
                report_dir=tmp_path / "out", env=lab.env(),
            )  # fmt: skip
            assert run.returncode == 0, run.output[-3000:]
            assert not run.summary["labgrid"]["acquired_by_this_process"]
            assert lab.acquired()["tally-a"] == f"ci/{CI_USER}", "not the run's to release"
        finally:
            me.release(hold)


def test_a_place_released_while_waiting_is_taken_over(lab: Lab, tmp_path: Path):
    def release_once_waited_for() -> None:
        """The holder finishes once the run waits in the queue (its reservation shows; a
        fixed delay would race the run's start on a loaded machine)."""
        deadline = time.monotonic() + 60
        while not lab.reservations() and time.monotonic() < deadline:
            time.sleep(0.1)
        release(hold)

    with lab.client(OTHER_USER) as other:
        hold = other.acquire("tally-b", wait_s=1)
        threading.Thread(target=release_once_waited_for, daemon=True).start()
        run = run_pytest(
            [*ONE_TEST, "--station", str(lab.jig()), *lg(lab, "--lg-place", "tally-b")],
            report_dir=tmp_path / "out", env=lab.env(),
        )  # fmt: skip
    assert run.returncode == 0, run.output[-3000:]
    assert run.summary["labgrid"]["place"] == "tally-b"
    assert run.summary["labgrid"]["reservation"], "it queued through a labgrid reservation"


def test_a_place_missing_a_resource_is_refused_before_anything_is_acquired(
    lab: Lab, tmp_path: Path
):
    run = run_pytest(
        [*ONE_TEST, "--station", str(lab.jig()), *lg(lab, "--lg-place", "tally-bare")],
        report_dir=tmp_path / "out", env=lab.env(),
    )  # fmt: skip
    assert run.returncode == 4, run.output[-3000:]
    assert "labgrid place 'tally-bare' has no PyVISADevice named 'photodiode'" in run.output
    assert "tally-bare: place acquired" not in lab.labgrid.log("coordinator.log")


@pytest.mark.slow
def test_two_workers_get_two_places_and_their_results_merge(lab: Lab, tmp_path: Path):
    out = tmp_path / "out"
    run = run_pytest(
        ["suites/test_minimum.py", "-n", "2", "--station", str(lab.jig()),
         *lg(lab, "--lg-place-tag", "rig=sim")],
        report_dir=out, env=lab.env(),
    )  # fmt: skip
    assert run.returncode == 0, run.output[-4000:]
    merged = read_json(out / "lab-summary.json")
    assert merged["verdict"] == "PASS" and merged["complete"]
    assert set(merged["stations"]) == {"tally-a", "tally-b"}
    assert all(st["used"] for st in merged["stations"].values())
    serials = set()
    for place in ("tally-a", "tally-b"):
        summary = read_json(out / place / "summary.json")
        assert summary["station"] == place and summary["labgrid"]["place"] == place
        assert summary["labgrid"]["tags"] == {"rig": "sim"}
        serials.add(summary["dut"]["serial_number"])
    assert len(serials) == 2, "each place is its own jig with its own DUT"
    assert any(ln.startswith("LAB    PASS") for ln in run.output.splitlines())


def test_more_workers_than_tagged_places_is_a_usage_error(lab: Lab, tmp_path: Path):
    run = run_pytest(
        [*ONE_TEST, "-n", "3", "--station", str(lab.jig()), *lg(lab, "--lg-place-tag", "rig=sim")],
        report_dir=tmp_path, env=lab.env(),
    )  # fmt: skip
    assert run.returncode == 4
    assert "3 xdist workers but only 2 labgrid places tagged rig=sim" in run.output


def test_one_place_with_an_xdist_worker_is_acquired_by_the_controller(lab: Lab, tmp_path: Path):
    out = tmp_path / "out"
    before = lab.labgrid.log("coordinator.log").count(f"tally-a: place acquired by ci/{CI_USER}")
    run = run_pytest(
        [*ONE_TEST, "-n", "1", "--station", str(lab.jig()), *lg(lab, "--lg-place", "tally-a")],
        report_dir=out, env=lab.env(),
    )  # fmt: skip
    assert run.returncode == 0, run.output[-4000:]
    worker = run.summary  # the one worker writes the run directory
    assert worker["verdict"] == "PASS" and worker["labgrid"]["place"] == "tally-a"
    assert not worker["labgrid"]["acquired_by_this_process"], "the controller holds it"
    log = lab.labgrid.log("coordinator.log")
    assert log.count(f"tally-a: place acquired by ci/{CI_USER}") == before + 1
    two = run_pytest(
        [*ONE_TEST, "-n", "2", "--station", str(lab.jig()), *lg(lab, "--lg-place", "tally-a")],
        report_dir=tmp_path / "two", env=lab.env(),
    )  # fmt: skip
    assert two.returncode == 4 and "use --lg-place-tag" in two.output


def test_ctrl_c_releases_the_place(lab: Lab, tmp_path: Path):
    out = tmp_path / "out"
    cmd = pytest_command(
        ["suites/test_minimum.py", "--station", str(lab.jig()), *lg(lab, "--lg-place", "tally-a")],
        out,
    )
    # A shell's background job ignores SIGINT and its children inherit that: restore it.
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env={**os.environ, **lab.env()},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (out / "tests.jsonl").exists():  # a test has finished: mid-run now
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0]
            time.sleep(0.1)
        assert lab.acquired()["tally-a"] == f"ci/{CI_USER}"
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 2, output[-3000:]
    assert read_json(out / "summary.json")["complete"] is False


def test_a_broken_bench_still_releases_the_place(lab: Lab, tmp_path: Path):
    # A threshold under the jig's ambient light: calibration fails, the bench is BROKEN.
    leaky = lab.jig("leaky", JIG.replace("visible_v = 0.5", "visible_v = 0.05"))
    run = run_pytest(
        ["suites/test_indicator.py", "-k", "test_self_report_when_idle", "--station", str(leaky),
         *lg(lab, "--lg-place", "tally-b")],
        report_dir=tmp_path / "out", env=lab.env(),
    )  # fmt: skip
    assert run.returncode == 1, run.output[-3000:]
    assert run.summary["verdict"] == "BROKEN" and run.summary["labgrid"]["place"] == "tally-b"
    assert "dark level" in run.summary["bench_error"]
    # (the autouse check: released, no reservation left)


def test_bad_labgrid_options_are_usage_errors(lab: Lab, tmp_path: Path):
    jig = str(lab.jig())
    cases = {
        "--lg-place/--lg-place-tag need --station FILE": ["--lg-place", "tally-a"],
        "--lab and --lg-place/--lg-place-tag: give one": [
            "--lab", str(ROOT / "fixtures/lab-sim.toml"), "--lg-place-tag", "rig=sim",
        ],
        "--lg-place and --lg-place-tag: give one": [
            "--station", jig, "--lg-place", "tally-a", "--lg-place-tag", "rig=sim",
        ],
        "--lg-place-tag 'rig': expected KEY=VALUE": ["--station", jig, "--lg-place-tag", "rig"],
        "no place 'nope' on the coordinator": ["--station", jig, "--lg-place", "nope"],
        "no place on 127.0.0.1": ["--station", jig, "--lg-place-tag", "rig=nope"],
        "--lg-wait must be 0 or more": [
            "--station", jig, "--lg-place", "tally-a", "--lg-wait", "-1",
        ],
    }  # fmt: skip
    for expected, args in cases.items():
        run = run_pytest([*ONE_TEST, *lg(lab, *args)], report_dir=tmp_path, env=lab.env())
        assert run.returncode == 4 and expected in run.output, (args, run.output[-2000:])
    began = time.monotonic()
    run = run_pytest(
        [*ONE_TEST, "--station", jig, "--lg-place", "tally-a", "--lg-coordinator", "127.0.0.1:9"],
        report_dir=tmp_path, env=lab.env(),
    )  # fmt: skip
    assert run.returncode == 4, run.output[-2000:]
    assert "labgrid: connect to the labgrid coordinator at 127.0.0.1:9" in run.output
    assert time.monotonic() - began < 60, "an unreachable coordinator is a bounded wait"

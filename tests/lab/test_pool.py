"""A simulated lab: two xdist workers, each on the station it leased, results per station.

Real subprocess runs (`pytest suites ... --lab fixtures/lab-sim.toml -n 2`): each worker
starts its own simulated bench, and the results say which station and DUT each came from.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.lab.labfile import load_lab
from harness.lab.lease import try_lease
from tests.runs import ROOT, read_json, run_pytest

LAB = str(ROOT / "fixtures/lab-sim.toml")
SUITE = "suites/test_minimum.py"

pytestmark = pytest.mark.slow


def test_two_workers_split_the_tests_over_two_stations(tmp_path: Path):
    out, leases = tmp_path / "out", tmp_path / "leases"
    run = run_pytest([SUITE, "--lab", LAB, "-n", "2", "--dist", "load",
                      "--lease-dir", str(leases)], report_dir=out)  # fmt: skip
    assert run.returncode == 0, run.output[-4000:]
    lab = read_json(out / "lab-summary.json")
    assert lab["verdict"] == "PASS" and lab["complete"] and lab["dist"] == "load"
    stations = lab["stations"]
    assert set(stations) == {"sim-a", "sim-b"} and all(s["used"] for s in stations.values())
    serials = {s["dut"]["serial_number"] for s in stations.values()}
    assert len(serials) == 2, "each station has its own simulated DUT"
    seen: set[str] = set()
    for name, st in stations.items():
        summary = read_json(out / name / "summary.json")
        assert summary["station"] == name and summary["complete"]
        assert summary["dut"]["serial_number"] == st["dut"]["serial_number"]
        records = read_json(out / name / "tests.jsonl")
        assert records and all(r["station"] == name for r in records)
        assert all(r["station"] == name for r in read_json(out / name / "measurements.jsonl"))
        names = {r["test"] for r in records}
        assert not names & seen, "a test ran on both stations under --dist load"
        seen |= names
    assert len(seen) == 14, "every test ran once, somewhere"
    assert any(ln.startswith("LAB    PASS") for ln in run.output.splitlines())
    for st in load_lab(LAB).stations:  # the workers are gone: their leases with them
        lease = try_lease(st, leases)
        assert lease is not None
        lease.release()


def test_a_station_leased_elsewhere_is_not_used(tmp_path: Path):
    out, leases = tmp_path / "out", tmp_path / "leases"
    sim_a = load_lab(LAB).station("sim-a")
    with try_lease(sim_a, leases, "another run"):  # type: ignore[union-attr]
        run = run_pytest([SUITE, "-k", "photo", "--lab", LAB, "--lease-dir", str(leases)],
                         report_dir=out)  # fmt: skip
    assert run.returncode == 0, run.output[-4000:]
    assert not (out / "sim-a").exists()
    assert read_json(out / "sim-b" / "summary.json")["verdict"] == "PASS"
    lab = read_json(out / "lab-summary.json")
    assert not lab["stations"]["sim-a"]["used"] and lab["stations"]["sim-b"]["used"]


def test_more_workers_than_stations_is_a_usage_error(tmp_path: Path):
    run = run_pytest([SUITE, "--lab", LAB, "-n", "3"], report_dir=tmp_path)
    assert run.returncode == 4
    assert "3 xdist workers but only 2 stations" in run.output


def test_a_lab_whose_stations_are_all_taken_is_a_usage_error(tmp_path: Path):
    lab_file = tmp_path / "lab.toml"
    lab_file.write_text(
        '[lab]\nname = "busy"\nlease_wait_s = 0.5\nstations = ['
        + ", ".join(f'"{s.source}"' for s in load_lab(LAB).stations)
        + "]\n"
    )
    leases = tmp_path / "leases"
    held = [try_lease(st, leases, "another run") for st in load_lab(lab_file).stations]
    try:
        run = run_pytest([SUITE, "--lab", str(lab_file), "-n", "2", "--lease-dir", str(leases)],
                         report_dir=tmp_path / "out")  # fmt: skip
    finally:
        for lease in held:
            if lease is not None:
                lease.release()
    assert run.returncode == 4, run.output[-3000:]
    assert "2 stations needed, 0 free within 0.5 s" in run.output and "another run" in run.output

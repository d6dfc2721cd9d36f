"""Lab files: valid ones load their stations; every malformed one names file, key, problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.lab.labfile import DEFAULT_LEASE_DIR, load_lab
from tests.lab.stations import STATION

ROOT = Path(__file__).resolve().parents[2]
LAB = """
[lab]
name = "lab-2"
stations = ["benches/a.toml", "benches/b.toml"]
lease_wait_s = 5
"""


@pytest.fixture
def lab_dir(tmp_path: Path) -> Path:
    (tmp_path / "benches").mkdir()
    for name in ("a", "b"):
        (tmp_path / "benches" / f"{name}.toml").write_text(STATION.format(name=f"bench-{name}"))
    (tmp_path / "lab.toml").write_text(LAB)
    return tmp_path


def test_the_simulated_lab_loads_two_simulated_stations():
    lab = load_lab(ROOT / "fixtures/lab-sim.toml")
    assert [s.name for s in lab.stations] == ["sim-a", "sim-b"]
    assert all(s.simulated and s.power is not None for s in lab.stations)
    assert lab.lease_dir == DEFAULT_LEASE_DIR


def test_stations_are_relative_to_the_lab_file(lab_dir: Path):
    lab = load_lab(lab_dir / "lab.toml")
    assert lab.name == "lab-2" and lab.lease_wait_s == 5
    assert [s.name for s in lab.stations] == ["bench-a", "bench-b"]
    assert lab.stations[0].source == str(lab_dir / "benches" / "a.toml")


def test_a_folder_of_station_files_is_a_lab(lab_dir: Path):
    lab = load_lab(lab_dir / "benches")
    assert [s.name for s in lab.stations] == ["bench-a", "bench-b"]
    assert lab.name == "benches"


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as err:
        load_lab(path)
    msg = str(err.value)
    assert "\n" not in msg, msg
    return msg


@pytest.mark.parametrize(
    "text,key,problem",
    [
        ("[lab]\nname = 'x'\n", "lab.stations", "missing required key"),
        ("[lab]\nstations = ['benches/a.toml']\n", "lab.name", "missing required key"),
        ("[lab]\nname = 'x'\nstations = 'benches/a.toml'\n", "lab.stations", "valid list"),
        ("[lab]\nname = 'x'\nstations = []\n", "lab.stations", "at least 1 item"),
        (LAB + "colour = 'red'\n", "lab.colour", "unknown key"),
        (LAB + "[benches]\n", "benches", "unknown key"),
        (LAB.replace("5", "'soon'"), "lab.lease_wait_s", "valid number"),
        (LAB.replace("b.toml", "c.toml"), "lab.stations.1", "station file not found"),
    ],
)
def test_malformed_lab_names_file_key_and_problem(lab_dir: Path, text, key, problem):
    (lab_dir / "lab.toml").write_text(text)
    msg = _error(lab_dir / "lab.toml")
    assert msg.startswith(f"{lab_dir / 'lab.toml'}: "), msg
    assert f"key {key}" in msg and problem in msg, msg


def test_a_malformed_station_of_a_lab_names_the_station_file(lab_dir: Path):
    bad = lab_dir / "benches" / "b.toml"
    bad.write_text(STATION.format(name="bench-b").replace("visible_v = 0.5", "visible_v = 'x'"))
    msg = _error(lab_dir / "lab.toml")
    assert msg.startswith(f"{bad}: key photodiode.visible_v: "), msg


def test_two_stations_with_one_name_are_refused(lab_dir: Path):
    (lab_dir / "benches" / "b.toml").write_text(STATION.format(name="bench-a"))
    msg = _error(lab_dir / "lab.toml")
    assert "key lab.stations.1" in msg and "'bench-a' is already used" in msg, msg
    msg = _error(lab_dir / "benches")
    assert f"{lab_dir / 'benches' / 'b.toml'}: key station.name" in msg, msg


def test_missing_lab_file_and_empty_folder(tmp_path: Path):
    assert "lab file not found" in _error(tmp_path / "nope.toml")
    assert "found none" in _error(tmp_path)
    (tmp_path / "bad.toml").write_text("[lab\n")
    assert "not valid TOML" in _error(tmp_path / "bad.toml")

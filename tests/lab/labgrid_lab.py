"""A real labgrid lab on 127.0.0.1 for the tests: two simulated jigs behind a coordinator.

Two simulated benches (each its own process: a device on a pty, a photodiode and a
supply on TCP ports) are exported by a real `labgrid-exporter` (the pty as a
`RawSerialPort`, served by ser2net on acquire; the instruments as `PyVISADevice`s) to a
real `labgrid-coordinator`; bench b's serial port is a lab's own ser2net exported as a
`NetworkSerialPort`. Places: `tally-a` and `tally-b` (tag `rig=sim`), and
`tally-bare`, which has bench b's serial port only (tag `rig=bare`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.bench.simproc import SimProcess
from harness.bench.station import load_station
from harness.lab.labgrid_client import LabgridClient
from harness.lab.labgrid_local import LocalLabgrid, network_serial, station_resources
from harness.lab.ser2net import Ser2Net

CI_USER = "tally-ci"  # the identity the runs under test use (LG_USERNAME)
OTHER_USER = "someone-else"
KNOBS = {"reboot_ms": 100}  # as the simulated station file: a fast reboot keeps CI fast

# A jig's station file for a place: calibration only, the place gives the addresses.
JIG = """
[station]
name = "{name}"
description = "glasses jig on a labgrid place"
[photodiode]
visible_v = 0.5
sample_interval_s = 0.0002
[power]
volts = 5.0
[hypothesis]
profile = "sim"
"""


@dataclass
class Lab:
    labgrid: LocalLabgrid
    tmp: Path

    @property
    def address(self) -> str:
        return self.labgrid.address

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a run under test: its identity, and no LG_* of the caller."""
        return {"LG_USERNAME": CI_USER, "LG_HOSTNAME": "ci", "LG_PLACE": "", **extra}

    def jig(self, name: str = "jig", text: str = JIG) -> Path:
        path = self.tmp / f"{name}.toml"
        path.write_text(text.format(name=name))
        return path

    def client(self, user: str = CI_USER) -> LabgridClient:
        return LabgridClient(self.address, hostname="ci", username=user)

    def acquired(self) -> dict[str, str | None]:
        with self.client() as c:
            return {n: p.acquired for n, p in c.places().items()}

    def reservations(self) -> list[str]:
        with self.client() as c:
            return [f"{r.owner} {r.state.name}" for r in c.reservations()]

    def reset(self) -> None:
        """Every place released, every reservation cancelled (after a failed test)."""
        with self.client() as c:
            for name in c.places():
                c.kick(name)
            for r in c.reservations():
                c.cancel(r.token)


@contextlib.contextmanager
def labgrid_lab(tmp: Path) -> Iterator[Lab]:
    with contextlib.ExitStack() as stack:
        sims = [
            stack.enter_context(
                SimProcess(knobs=KNOBS, seed=seed, log_path=tmp / f"sim-{seed}.log")
            )
            for seed in (1, 2)
        ]
        a, b = (load_station(sim.station_path) for sim in sims)
        # Bench b's port is served by a ser2net of the lab's own (Tally's config) and
        # exported as it is; bench a's by the ser2net the exporter starts on acquire.
        s2n = stack.enter_context(Ser2Net(b.dut.port))
        groups = {
            "bench-a": station_resources(a),
            "bench-b": station_resources(b, network_serial("127.0.0.1", s2n.port)),
        }
        local = stack.enter_context(LocalLabgrid(groups))
        local.add_place("tally-a", "bench-a", {"rig": "sim"})
        local.add_place("tally-b", "bench-b", {"rig": "sim"})
        with LabgridClient(local.address) as c:
            c.create_place("tally-bare", ["tally-exp/bench-b/NetworkSerialPort"], {"rig": "bare"})
        yield Lab(local, tmp)

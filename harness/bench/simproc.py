"""Start the simulated bench as its own process, the way a real bench is a separate thing.

`python -m harness.sim serve` writes a station file once its pty and TCP ports are
listening; the harness then reads that file like any other station. Every wait here is
bounded; a simulator that does not come up is a bench fault.

Its life is tied to ours by a lifeline: the simulator holds the read end of a pipe whose
write end only this process holds (not inheritable, so no other child keeps it). When
this process ends, however (a SIGKILL included), the kernel closes the write end and the
simulator, reading end of file, stops itself: no simulated bench is left running.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from harness.bench.procs import stop_group
from harness.bench.station import Station, load_station
from harness.errors import BenchFault

START_TIMEOUT_S = 20.0


class SimProcess:
    """A running `python -m harness.sim serve` and the station file it wrote."""

    def __init__(
        self,
        faults: Sequence[str] = (),
        knobs: dict[str, object] | None = None,
        seed: int = 1,
        log_path: Path | None = None,
        power: bool = True,
        shutter: bool = True,
    ) -> None:
        self.faults = list(faults)
        self.power = power
        self.shutter = shutter
        self.knobs = dict(knobs or {})
        self.seed = seed
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._lifeline: int | None = None  # the write end; closing it stops the simulator
        self._dir = Path(tempfile.mkdtemp(prefix="tally-sim-"))
        self.station_path = self._dir / "station.toml"

    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "harness.sim",
            "serve",
            "--station-out",
            str(self.station_path),
        ]
        cmd += ["--seed", str(self.seed)]
        for f in self.faults:
            cmd += ["--fault", f]
        for k, v in self.knobs.items():
            cmd += ["--knob", f"{k}={v}"]
        if not self.power:
            cmd.append("--no-power")
        if not self.shutter:
            cmd.append("--no-shutter")
        return cmd

    def start(self) -> Path:
        log = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        read_end, self._lifeline = os.pipe()  # both non-inheritable (PEP 446)
        try:
            self.proc = subprocess.Popen(
                [*self.command(), "--lifeline-fd", str(read_end)], stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                pass_fds=(read_end,),
            )  # fmt: skip
        finally:
            os.close(read_end)
            if log is not subprocess.DEVNULL:
                log.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.station_path.exists():
            if self.proc.poll() is not None:
                raise BenchFault(f"simulated bench exited with code {self.proc.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise BenchFault(f"simulated bench did not come up within {START_TIMEOUT_S:.0f} s")
            time.sleep(0.02)
        return self.station_path

    def station(self, template: Station) -> Station:
        """`template` (the sim station file) with the simulator's real addresses."""
        live = load_station(self.station_path)
        # A station without [power] has no supply, even simulated (its power tests are
        # then NOT_TESTED, as on a real bench without one).
        power = live.power.resource if live.power and template.power else None
        # Likewise a station without [shutter] has no shutter (IND-8 is NOT_TESTED).
        shutter = live.shutter.resource if live.shutter and template.shutter else None
        return template.with_ports(live.dut.port, live.photodiode.resource, power, shutter)

    def stop(self) -> None:
        stop_group(self.proc)
        if self._lifeline is not None:
            os.close(self._lifeline)
            self._lifeline = None
        shutil.rmtree(self._dir, ignore_errors=True)  # each run's own: none left in /tmp

    def __enter__(self) -> SimProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

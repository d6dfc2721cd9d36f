"""A labgrid coordinator and exporter on 127.0.0.1: the real components, run locally.

The tests and benchmarks export simulated benches through them exactly as a lab exports
its jigs (docs/lab.md): the device's pty as a `RawSerialPort` (the exporter starts
ser2net for it on acquire and publishes it as a `NetworkSerialPort`) or a ser2net of the
lab's own as a `NetworkSerialPort`, each instrument as a `PyVISADevice`. Both processes
are started in a folder of their own (the coordinator writes `places.yaml` there), every
wait for them is bounded, and `stop` ends them with their children (the exporter's
ser2net).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from harness.bench.procs import stop_group
from harness.bench.station import Station
from harness.errors import BenchFault
from harness.lab.labgrid_client import LabgridClient

START_TIMEOUT_S = 30.0
EXPORTER = "tally-exp"
LISTENING = re.compile(r"^listening on 127\.0\.0\.1:(\d+)$", re.MULTILINE)

Resources = Mapping[str, Mapping[str, Any]]  # resource name -> {"cls": ..., params}


def visa_device(resource: str) -> dict[str, str]:
    """A VISA resource string as labgrid's `PyVISADevice` (type and url)."""
    typ, _, url = resource.partition("::")
    return {"cls": "PyVISADevice", "type": typ, "url": url}


def network_serial(host: str, port: int, speed: int = 115200) -> dict[str, Any]:
    """A serial port a ser2net of the lab's own already serves (RFC 2217 on host:port)."""
    return {"cls": "NetworkSerialPort", "host": host, "port": port, "speed": speed}


def station_resources(station: Station, dut: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The exporter group of a (running, simulated) station: its pty (or `dut`, e.g. a
    `network_serial`) and its instruments."""
    raw = {
        "cls": "RawSerialPort",
        "port": os.path.realpath(station.dut.port),  # the exporter wants a /dev/ path
        "speed": station.dut.baudrate,
    }
    group: dict[str, Any] = {
        "dut": dict(dut) if dut is not None else raw,
        "photodiode": visa_device(station.photodiode.resource),
    }
    if station.power is not None:
        group["supply"] = visa_device(station.power.resource)
    shutter = getattr(station, "shutter", None)  # stations that know a [shutter] table
    if shutter is not None:
        group["shutter"] = visa_device(shutter.resource)
    return group


def exporter_yaml(groups: Mapping[str, Resources]) -> str:
    """labgrid-exporter's configuration: one group (a jig) per entry."""
    plain = {g: {n: dict(r) for n, r in res.items()} for g, res in groups.items()}
    return yaml.safe_dump(plain, sort_keys=False)


class LocalLabgrid:
    """`labgrid-coordinator` and one `labgrid-exporter` serving `groups` (context manager)."""

    def __init__(self, groups: Mapping[str, Resources], exporter: str = EXPORTER) -> None:
        self.groups = groups
        self.exporter = exporter
        self.dir = Path(tempfile.mkdtemp(prefix="tally-labgrid-"))
        self.address = ""
        self._coordinator: subprocess.Popen[bytes] | None = None
        self._exporter: subprocess.Popen[bytes] | None = None

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PATH": f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"}
        env["PYTHONUNBUFFERED"] = "1"  # their logs are read while they run
        with (self.dir / log).open("wb") as out:
            return subprocess.Popen(
                [sys.executable, "-m", *args], cwd=self.dir, env=env,
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def _wait_log(self, proc: subprocess.Popen[bytes], log: str, pattern: re.Pattern[str]) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            text = self.log(log)
            found = pattern.search(text)
            if found:
                return found.group(1) if pattern.groups else found.group(0)
            if proc.poll() is not None:
                raise BenchFault(f"{log} exited with {proc.returncode}: {text[-1500:]}")
            if time.monotonic() > deadline:
                raise BenchFault(f"{log} not ready within {START_TIMEOUT_S:g} s: {text[-1500:]}")
            time.sleep(0.05)

    def log(self, name: str) -> str:
        try:
            return (self.dir / name).read_text(errors="replace")
        except OSError:
            return ""

    def start(self) -> LocalLabgrid:
        try:
            self._coordinator = self._spawn(
                ["labgrid.remote.coordinator", "--listen", "127.0.0.1:0"], "coordinator.log"
            )
            port = self._wait_log(self._coordinator, "coordinator.log", LISTENING)
            self.address = f"127.0.0.1:{port}"
            config = self.dir / "exporter.yaml"
            config.write_text(exporter_yaml(self.groups))
            self._exporter = self._spawn(
                ["labgrid.remote.exporter", "-c", self.address, "-n", self.exporter,
                 "--hostname", "127.0.0.1", str(config)],
                "exporter.log",
            )  # fmt: skip
            self._wait_log(self._exporter, "exporter.log", re.compile(r"^Exporter ready$", re.M))
        except BaseException:
            self.stop()
            raise
        return self

    def add_place(self, name: str, group: str, tags: Mapping[str, str] | None = None) -> None:
        """Place `name` matching every resource of `group`, waited for until exported."""
        with LabgridClient(self.address) as client:
            client.create_place(name, [f"{self.exporter}/{group}/*"], tags=tags or {})
            client.wait_resources(name, START_TIMEOUT_S)

    def stop(self) -> None:
        """The exporter first (its ser2net with it), then the coordinator."""
        stop_group(self._exporter)
        stop_group(self._coordinator)
        shutil.rmtree(self.dir, ignore_errors=True)  # their configuration and logs

    def __enter__(self) -> LocalLabgrid:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""A conformance run: one station, one run directory, one ledger, the bench opened once.

The plugin is glue around this; a script can drive a run with it too.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness import __version__
from harness.bench.assembled import Bench
from harness.bench.powercycle import revive
from harness.bench.simproc import SimProcess
from harness.bench.station import Station
from harness.errors import BenchFault, ResponseTimeout, TallyError, TransportError
from harness.judge.clauses import Limits
from harness.judge.indicator import LevelNoise
from harness.judge.signature import unresolved_measurement
from harness.record.allure_files import settle_statuses, write_categories, write_environment
from harness.record.covert import CovertWatch
from harness.record.ledger import Ledger
from harness.record.rundir import RunDir
from harness.wire.seriallog import SerialLog

MAX_OPEN_ATTEMPTS = 3  # a bench whose link failed is tried again by this many tests in all

PACKAGES = (
    "pyserial", "pyvisa", "pyvisa-py", "hypothesis", "allure-pytest", "numpy", "pytest",
    "av", "pillow", "defusedxml",
)  # fmt: skip


class TallyRun:
    """Owns the simulated bench process (if any), the open bench and the evidence."""

    def __init__(
        self,
        station: Station,
        report_dir: Path,
        extra_faults: list[str],
        extra_knobs: dict[str, object] | None = None,
        plots: str = "all",
    ) -> None:
        self.template = station
        self.plots = plots
        self.extra_faults = extra_faults
        self.extra_knobs = dict(extra_knobs or {})
        self.limits = Limits.with_overrides(
            station.limits.model_dump(), station.profile.model_dump()
        )
        self.rundir = RunDir(report_dir)
        self.ledger = Ledger(self.rundir, station=station.name, limits=self.limits)
        self.log = SerialLog()
        self.sim: SimProcess | None = None
        self.station: Station | None = None
        self.bench: Bench | None = None
        self.covert: CovertWatch | None = None  # IND-7 over the whole run (with a supply)
        self._bench_error: TallyError | None = None
        self._open_attempts = 0
        self.ledger.meta.update(
            station_file=station.source,
            station_config=station.model_dump(mode="json"),
            versions=versions(),
            harness={"version": __version__, "git_commit": git_commit()},
            command=sys.argv[:],
            profile_allowances=dict(self.limits.allowances),
            profile_deviations=self.limits.deviations(),
            plots=plots,
        )

    def live_station(self) -> Station:
        """The station with real addresses; starts the simulated bench if it is one."""
        if self.station is not None:
            return self.station
        st = self.template
        if st.sim is not None:
            faults = list(dict.fromkeys([*st.sim.faults, *self.extra_faults]))
            knobs = dict(st.sim.knobs)
            if st.sim.lawyer_seed is not None:
                knobs["lawyer_seed"] = st.sim.lawyer_seed
            knobs.update(self.extra_knobs)
            self.sim = SimProcess(
                faults, knobs, st.sim.seed, self.rundir.path("sim.log"),
                power=st.power is not None, shutter=st.shutter is not None,
            )  # fmt: skip
            self.sim.start()
            st = self.sim.station(st)
            self.ledger.meta["sim"] = {"faults": faults, "knobs": knobs}
        self.station = st
        return st

    def open_bench(self) -> Bench:
        """Open and calibrate once; a failure is remembered so every test is BROKEN fast.

        A link failure (port gone, no answer, flood) may pass (a USB port that comes back),
        so the next tests try again, waiting for the port, up to `MAX_OPEN_ATTEMPTS` in all;
        any other failure (instrument, calibration) is final at once.
        """
        if self.bench is not None:
            return self.bench
        err = self._bench_error
        if err is not None and (
            not isinstance(err, TransportError) or self._open_attempts >= MAX_OPEN_ATTEMPTS
        ):
            raise type(err)(str(err))
        self._open_attempts += 1
        port_wait_s = self.template.dut.boot_timeout_s if err is not None else 0.0
        bench: Bench | None = None
        try:
            bench = Bench(self.live_station(), self.log).open(port_wait_s=port_wait_s)
            self.ledger.meta["dut"] = bench.hello.as_dict() if bench.hello else {}
            self.ledger.meta["instrument"] = {
                "idn": bench.photodiode.idn if bench.photodiode else "",
                "sample_interval_s": bench.stream.interval_s if bench.stream else None,
            }
            if bench.power is not None:
                self.ledger.meta["power_supply"] = {"idn": bench.power.idn}
            if bench.shutter is not None:
                self.ledger.meta["shutter"] = {"idn": bench.shutter.idn}
            cal = bench.calibrate()
            self.ledger.meta["calibration"] = cal.as_dict()
            self._watch_current(bench)
            self.ledger.write_summary(complete=False)
        except TallyError as exc:
            self._bench_error = exc
            self.ledger.meta["bench_error"] = str(exc)
            if bench is not None:  # opened but not calibrated: free its port for a retry
                bench.close()
            raise
        except Exception as exc:  # a driver bug is still a bench fault, with its reason
            self._bench_error = BenchFault(f"bench failed to open: {exc!r}")
            if bench is not None:
                bench.close()
            raise self._bench_error from exc
        self.ledger.meta.pop("bench_error", None)
        self.bench = bench
        return bench

    def settle_device(self, bench: Bench, *, after_test: bool) -> None:
        """Leave the device not recording. A device that does not answer is power-cycled
        once through the supply (`revive`); one still silent (or without a supply to
        cycle it) loses the bench: the next tests reconnect, a bounded number of times.
        Silence found after a test is a bench fault of that test even when revived."""
        try:
            bench.client.ensure_idle()
            return
        except ResponseTimeout as exc:
            silence = exc
        try:
            revive(bench, silence)
        except BenchFault as exc:
            self.lose_bench(bench, silence)
            raise BenchFault(str(exc)) from None
        if after_test:
            raise BenchFault(f"the device fell silent ({silence}); a power cycle revived it")

    def lose_bench(self, bench: Bench, why: TransportError) -> None:
        """Close a bench whose device stopped answering; `open_bench` tries it again.
        IND-7's watch is bound to this bench's light and current: judged up to now, it
        ends with it, and the reopened bench gets a watch of its own."""
        if self.covert is not None and self.covert.bench is bench:
            try:
                self.covert.finish()
            except TallyError as exc:
                self.ledger.meta["ind7_tail_error"] = str(exc)
            self.covert = None
        bench.close()
        if self.bench is bench:
            self.bench = None
            self._bench_error = type(why)(str(why))
            self.ledger.meta["bench_error"] = str(why)

    def _watch_current(self, bench: Bench) -> None:
        """IND-7's judge, from the signature calibration learned; a signature the supply's
        noise blurs is INCONCLUSIVE for the run, whichever tests run."""
        sig = bench.signature
        if sig is None or self.covert is not None:
            return
        self.ledger.meta["current_calibration"] = sig.as_dict()
        if sig.problems:
            self.ledger.measurement(unresolved_measurement(sig))
        self.covert = CovertWatch(bench, self.ledger, self.limits, plots=self.plots)

    def _shutter_at_end(self, bench: Bench) -> None:
        """Say in the record how the run left the shutter (shutter-scpi.md: open)."""
        if bench.shutter is None:
            return
        try:
            state = "covered" if bench.shutter.covered() else "open"
        except TallyError as exc:
            state = f"unknown: {exc}"
        self.ledger.meta["shutter_at_end"] = state

    @property
    def noise(self) -> LevelNoise:
        cal = self.bench.calibration if self.bench else None
        p = self.template.photodiode
        return LevelNoise(cal.dark_std_v if cal else 0.0, p.reading_u_v)

    def finish(self, *, complete: bool, alluredir: Path | None = None) -> dict[str, Any]:
        """Judge the run's tail (IND-7), leave the device safe, stop the simulator, and
        seal the evidence."""
        if self.covert is not None:
            try:
                self.covert.finish()
            except TallyError as exc:
                self.ledger.meta["ind7_tail_error"] = str(exc)
        if self.bench is not None:
            self.bench.leave_safe()
            self._shutter_at_end(self.bench)
            self.bench.close()
        if self.sim is not None:
            self.sim.stop()
            if self.rundir.path("sim.log").exists():
                self.rundir.done("sim.log")
        summary = self.ledger.write_summary(complete=complete)
        if alluredir is not None and alluredir.is_dir():
            write_environment(alluredir, summary)
            write_categories(alluredir)
            tests = summary.get("tests", {})
            settle_statuses(alluredir, {t: rec["outcome"] for t, rec in tests.items()})
            self._enter_tree(alluredir)
        if complete:
            self.rundir.finish()
        return summary

    def _enter_tree(self, folder: Path) -> None:
        """Enter every file under `folder` (if inside the run) into the manifest."""
        try:
            rel_root = folder.resolve().relative_to(self.rundir.root)
        except ValueError:
            return  # written elsewhere on purpose; not part of this bundle
        files = [p for p in sorted(folder.rglob("*")) if p.is_file()]
        self.rundir.done(*((rel_root / p.relative_to(folder)).as_posix() for p in files))


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[name] = importlib.metadata.version(name)
    return out


def git_commit() -> str:
    """The checkout's commit, or "none" for an installed package (git is optional)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists() or not (root / "pyproject.toml").is_file():
        return "none (installed package)"
    try:
        res = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
        return res.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"

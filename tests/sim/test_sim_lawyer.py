"""The spec-lawyer device: seeded, it takes every liberty bench-protocol.md leaves open, and
must stay conforming under any seed, alone and with every awkward fault.

The probe below checks the spec's invariants against the truth the simulator exposes (LED
timeline, clock mapping): every request answered within 1 s, frames inside the interval
from the request to the response that ended the capture, the LED lit over every capture
interval (as a photodiode's 10 ms window sees it, so PWM is fine), a photo lit >= 500 ms,
BUSY only within 1 s of a photo, an undeclared kind refused with UNSUPPORTED and leaving
nothing behind, `boot` within 10 s of a reboot, consent gone after it.
"""

from __future__ import annotations

import dataclasses
import itertools
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from harness import spec
from harness.sim.config import SimDeviceConfig, apply_knobs
from harness.sim.device import SimDevice
from harness.sim.faults import FAULTS
from harness.sim.lawyer import Lawyer
from harness.sim.led import Led
from tests.runs import run_module
from tests.sim.host import FAST, Host, Sim

AWKWARD = sorted(n for n, f in FAULTS.items() if f.kind == "awkward" and f.target == "device")
BASE = apply_knobs(SimDeviceConfig(seed=11), FAST)  # what the `sim` fixture builds on


def lawyer_for(seed: int, config: SimDeviceConfig = BASE) -> tuple[Lawyer, SimDeviceConfig]:
    """A fresh lawyer and the device it makes (its streams as a new device's are)."""
    lawyer = Lawyer(seed)
    return lawyer, lawyer.vary(config)


def find_seed(want: Callable[[Lawyer, SimDeviceConfig], bool]) -> int:
    for seed in range(2000):
        if want(*lawyer_for(seed)):
            return seed
    raise AssertionError("no seed in 0..1999 has that")


def lit_at(led: Led, t: float) -> bool:
    """Lit as a photodiode sees it: the mean over a centred 10 ms window."""
    return float(led.levels(np.linspace(t - 0.005, t + 0.005, 101)).mean()) > 0.2


def dark_between(led: Led, t0: float, t1: float) -> bool:
    return float(led.levels(np.arange(t0, t1, 0.001)).max(initial=0.0)) == 0.0


def call(host: Host, cmd: str, **args: Any) -> dict[str, Any]:
    """A request, answered (ok or not) within the spec's 1 s."""
    r = host.request(cmd, timeout=1.5, **args)
    assert r is not None, f"{cmd}: no response within 1.5 s"
    latency = host.arrival(r) - host.sent[r["id"]]
    assert latency < spec.RESPONSE_TIMEOUT_S, f"{cmd} answered after {latency:.3f} s"
    return r


def ok(host: Host, cmd: str, **args: Any) -> dict[str, Any]:
    r = call(host, cmd, **args)
    assert r["ok"] is True, r
    return r["result"]


def capture_request(kind: str) -> tuple[str, dict[str, Any]]:
    if kind == "photo":
        return "capture.photo", {"source": "user", "metadata": ["faces"]}
    return "record.start", {"kind": kind, "source": "agent"}


# -- the probe --------------------------------------------------------------------------


@dataclasses.dataclass
class Probe:
    dev: SimDevice
    led: Led
    host: Host
    last_exposure: float | None = None
    ids: list[str] = dataclasses.field(default_factory=list)

    def run(self) -> dict[str, Any]:
        hello = ok(self.host, "hello")
        declared = hello["capabilities"]["capture"]
        assert declared and set(declared) <= set(spec.KINDS)
        for scope in spec.SCOPES:
            ok(self.host, "consent.grant", scope=scope, gesture="button")
        self.refuse_undeclared(declared)
        for kind in declared:
            self.capture(kind)
        self.reboot()
        return hello

    def refuse_undeclared(self, declared: list[str]) -> None:
        t0 = time.monotonic()
        undeclared = [k for k in spec.KINDS if k not in declared]
        for kind in undeclared:
            cmd, args = capture_request(kind)
            r = call(self.host, cmd, **args)
            assert r["ok"] is False and r["error"]["code"] == "UNSUPPORTED", r
        self.host.drain(0.05)
        assert not [e for e in self.host.events() if e["event"].startswith("capture")]
        assert dark_between(self.led, t0, time.monotonic())
        assert ok(self.host, "artifact.list")["artifacts"] == []
        assert ok(self.host, "state")["recording"] is None

    def start(self, kind: str) -> dict[str, Any]:
        cmd, args = capture_request(kind)
        r = call(self.host, cmd, **args)
        if not r["ok"]:  # allowed only while the previous photo is still being exposed
            assert r["error"]["code"] == "BUSY", r
            assert self.last_exposure is not None
            assert self.host.sent[r["id"]] - self.last_exposure < 1.0
            time.sleep(max(0.0, self.last_exposure + 1.0 - time.monotonic()))
            r = call(self.host, cmd, **args)
            assert r["ok"] is True, r
        return r

    def capture(self, kind: str) -> None:
        host, dev, led = self.host, self.dev, self.led
        r = self.start(kind)
        req_us = dev.to_device_us(host.sent[r["id"]])
        if kind == "photo":
            aid = r["result"]["artifact"]
            frame = host.wait_event("capture.frame", artifact=aid, seq=0, timeout=1.0)
            end = host.wait_event("capture.end", artifact=aid, timeout=1.0)
            assert req_us <= frame["t_us"] == end["last_frame_us"]
            exposure = dev.to_host(frame["t_us"])
            assert all(lit_at(led, exposure + k * 0.01) for k in range(-2, 51))
            self.last_exposure = exposure
        else:
            session = r["result"]["session"]
            frame = host.wait_event("capture.frame", session=session, seq=0, timeout=1.0)
            assert frame["t_us"] >= req_us
            host.drain(0.4)
            stop = call(host, "record.stop")
            aid = stop["result"]["artifact"]
            end = host.wait_event("capture.end", session=session, timeout=1.0)
            assert frame["t_us"] <= end["last_frame_us"] <= dev.to_device_us(host.arrival(stop))
            t_first, t_last = dev.to_host(frame["t_us"]), dev.to_host(end["last_frame_us"])
            steps = int((t_last - t_first + 0.04) / 0.005)
            assert all(lit_at(led, t_first - 0.02 + k * 0.005) for k in range(steps + 1))
            seqs = [f["seq"] for f in host.events("capture.frame") if f.get("session") == session]
            strides = {b - a for a, b in itertools.pairwise(seqs)}
            assert seqs[0] == 0 and len(strides) <= 1 and min(strides, default=1) > 0, seqs
        info = ok(host, "artifact.info", artifact=aid)
        assert info["kind"] == kind and info["first_frame_us"] == frame["t_us"]
        assert info["last_frame_us"] == end["last_frame_us"]
        self.ids.append(aid)

    def reboot(self) -> None:
        t0 = time.monotonic()
        assert ok(self.host, "device.reboot") == {}
        boot = self.host.wait_event("boot", timeout=spec.BOOT_TIMEOUT_S)
        assert boot["reason"] == "reboot" and time.monotonic() - t0 < spec.BOOT_TIMEOUT_S
        state = ok(self.host, "state")
        assert state["consent"] == dict.fromkeys(spec.SCOPES, False)
        assert state["recording"] is None and state["indicator"] == "off"
        assert ok(self.host, "artifact.list")["artifacts"] == self.ids
        assert len(set(self.ids)) == len(self.ids)


def probe_all(
    sim: Callable[..., Sim], cases: dict[str, tuple[int, tuple[str, ...]]]
) -> dict[str, str]:
    """Probe one device per case (lawyer seed, faults) at once, and return the failures
    by case: each device mostly waits for its late responses, so running them side by
    side keeps the test short."""
    started = {name: sim(*faults, lawyer_seed=seed) for name, (seed, faults) in cases.items()}
    with ThreadPoolExecutor(max_workers=len(started)) as pool:
        futures = {name: pool.submit(Probe(*s).run) for name, s in started.items()}
    failures = {}
    for name, future in futures.items():
        if (exc := future.exception()) is not None:
            failures[name] = f"{type(exc).__name__}: {exc}"
    for name, (dev, _, host) in started.items():
        assert dev.lawyer is not None and dev.lawyer.seed == cases[name][0]
        if "slow_replies" in cases[name][1]:
            answered = [m for m in host.messages if "id" in m]
            assert all(host.arrival(m) - host.sent[m["id"]] >= 0.39 for m in answered)
    return failures


# -- determinism ------------------------------------------------------------------------


def test_same_seed_same_choices_different_seeds_vary() -> None:
    a, b = Lawyer(42), Lawyer(42)
    assert a.vary(BASE) == b.vary(BASE)
    for lw in (a, b):
        for cmd in ("hello", "capture.photo", "consent.revoke"):
            lw.reply_delay(cmd, BASE)
        lw.capture_plan("photo")
        lw.capture_plan("video")
        lw.silent_shutdown()
    assert a.choices == b.choices
    devices = [lawyer_for(seed) for seed in range(40)]
    configs = {cfg for _, cfg in devices}
    assert len(configs) == 40
    assert len({cfg.capture_kinds for cfg in configs}) >= 4
    assert any(cfg.capture_kinds == spec.KINDS for cfg in configs)
    assert len({lw.eol for lw, _ in devices}) == 3 and len({lw.id_style for lw, _ in devices}) == 4
    assert {cfg.indicator_selftest for cfg in configs} == {True, False}
    assert {cfg.pwm_hz > 0 for cfg in configs} == {True, False}
    plans = [Lawyer(seed).capture_plan("video") for seed in range(40)]
    assert {p.report_every for p in plans} >= {0, 1} and max(p.report_every for p in plans) > 1
    assert {p.events_after_reply for p in plans} == {True, False}
    assert {p.reply_after_first_frame for p in plans} == {True, False}


def test_a_faults_knobs_stay_and_kinds_stay_within_the_device() -> None:
    only_video = apply_knobs(BASE, {"capture_kinds": "video", "reply_delay_ms": 400})
    for seed in range(20):
        cfg = Lawyer(seed).vary(only_video, keep=frozenset({"reply_delay_ms", "capture_kinds"}))
        assert cfg.capture_kinds == ("video",) and cfg.reply_delay_ms == 400
        for cmd in ("hello", "capture.photo", "record.stop", "consent.revoke"):
            assert 0.4 <= Lawyer(seed).reply_delay(cmd, cfg) <= 0.9


def test_same_seed_gives_the_same_device_on_the_wire(sim: Callable[..., Sim]) -> None:
    seed = find_seed(lambda lw, cfg: lw.id_style == "uuid" and "video" in cfg.capture_kinds)
    runs = []
    for _ in range(2):
        dev, _, host = sim(lawyer_seed=seed)
        hello = ok(host, "hello")
        ok(host, "consent.grant", scope="video", gesture="app")
        session = ok(host, "record.start", kind="video", source="user")["session"]
        host.wait_event("capture.frame", session=session, seq=0)
        art = ok(host, "record.stop")["artifact"]
        host.wait_event("capture.end", session=session)
        runs.append((hello, session, art, dev.config, list(dev.lawyer.choices)))
    assert runs[0] == runs[1]
    assert len(runs[0][2]) == 36 and runs[0][2] != runs[0][1]  # uuid-shaped, unique


# -- conforming under any seed, alone and with every awkward fault ------------------------


def test_invariants_hold_under_varied_seeds(sim: Callable[..., Sim]) -> None:
    assert not probe_all(
        sim,
        {
            "all-kinds": (find_seed(lambda lw, cfg: cfg.capture_kinds == spec.KINDS), ()),
            "one-kind": (find_seed(lambda lw, cfg: len(cfg.capture_kinds) == 1), ()),
            "pwm-noise-photo": (
                find_seed(lambda lw, cfg: cfg.pwm_hz > 0 and "photo" in cfg.capture_kinds),
                (),
            ),
            "no-selftest": (find_seed(lambda lw, cfg: not cfg.indicator_selftest), ()),
        },
    )


def test_invariants_hold_with_every_awkward_fault(sim: Callable[..., Sim]) -> None:
    assert not probe_all(sim, {fault: (7 + i, (fault,)) for i, fault in enumerate(AWKWARD)})


def test_the_probe_catches_a_nonconforming_lawyer(sim: Callable[..., Sim]) -> None:
    """The probe can fail: liars keep lying under the lawyer too."""
    seeds = {
        "photo_blink": find_seed(lambda lw, cfg: "photo" in cfg.capture_kinds),
        "led_late": find_seed(lambda lw, cfg: cfg.capture_kinds == ("video",)),
        "undeclared_kind_stores": find_seed(lambda lw, cfg: "audio" in cfg.capture_kinds),
    }
    failures = probe_all(sim, {fault: (seed, (fault,)) for fault, seed in seeds.items()})
    assert set(failures) == set(seeds), failures


# -- each liberty, seen on the wire -----------------------------------------------------


def test_events_after_the_response_and_the_response_after_frame_0(
    sim: Callable[..., Sim],
) -> None:
    def plan_is(**want: bool) -> Callable[[Lawyer, SimDeviceConfig], bool]:
        def check(lw: Lawyer, cfg: SimDeviceConfig) -> bool:
            plan = lw.capture_plan("video")
            return "video" in cfg.capture_kinds and all(
                getattr(plan, k) == v for k, v in want.items()
            )

        return check

    for want, late_begin, early_frame in (
        ({"events_after_reply": True, "reply_after_first_frame": False}, True, False),
        ({"events_after_reply": False, "reply_after_first_frame": True}, False, True),
    ):
        _, _, host = sim(lawyer_seed=find_seed(plan_is(**want)))
        ok(host, "consent.grant", scope="video", gesture="app")
        r = call(host, "record.start", kind="video", source="user")
        session = r["result"]["session"]
        frame = host.wait_event("capture.frame", session=session, seq=0)
        begin = host.wait_event("capture.begin", session=session)
        order = [m for m in host.messages if m is r or m is begin or m is frame]
        assert (order.index(begin) > order.index(r)) is late_begin, order
        assert (order.index(frame) < order.index(r)) is early_frame, order


def test_frames_after_seq_0_at_the_seeds_stride(sim: Callable[..., Sim]) -> None:
    for every in (0, 7):
        seed = find_seed(
            lambda lw, cfg, every=every: (
                "audio" in cfg.capture_kinds and lw.capture_plan("audio").report_every == every
            )
        )
        _, _, host = sim(lawyer_seed=seed)
        ok(host, "consent.grant", scope="audio", gesture="app")
        session = ok(host, "record.start", kind="audio", source="user")["session"]
        host.drain(0.8)
        ok(host, "record.stop")
        host.wait_event("capture.end", session=session)
        seqs = [f["seq"] for f in host.events("capture.frame")]
        if every == 0:
            assert seqs == [0]
        else:
            assert seqs == list(range(0, every * len(seqs), every)) and len(seqs) > 1


def test_busy_while_the_previous_photo_is_exposed(sim: Callable[..., Sim]) -> None:
    def busy_soon(lw: Lawyer, cfg: SimDeviceConfig) -> bool:
        for cmd in ("consent.grant", "capture.photo"):
            lw.reply_delay(cmd, cfg)
        second = lw.reply_delay("capture.photo", cfg)  # the one that should get BUSY
        plan = lw.capture_plan("photo")
        return "photo" in cfg.capture_kinds and plan.busy_s > second + 0.15

    dev, _, host = sim(lawyer_seed=find_seed(busy_soon))
    ok(host, "consent.grant", scope="photo", gesture="app")
    art = ok(host, "capture.photo", source="user")["artifact"]
    exposure = dev.to_host(host.wait_event("capture.frame", artifact=art)["t_us"])
    r = call(host, "capture.photo", source="user")
    assert r["ok"] is False and r["error"]["code"] == "BUSY"
    assert host.sent[r["id"]] - exposure < 1.0
    assert ok(host, "artifact.list")["artifacts"] == [art]
    time.sleep(max(0.0, exposure + 1.0 - time.monotonic()))
    assert ok(host, "capture.photo", source="user")["artifact"] != art


def test_no_indicator_off_before_a_reboot(sim: Callable[..., Sim]) -> None:
    for silent in (True, False):
        seed = find_seed(
            lambda lw, cfg, silent=silent: (
                "video" in cfg.capture_kinds and lw.silent_shutdown() is silent
            )
        )
        _, led, host = sim(lawyer_seed=seed)
        ok(host, "consent.grant", scope="video", gesture="app")
        session = ok(host, "record.start", kind="video", source="user")["session"]
        host.wait_event("indicator", state="on")
        host.drain(0.2)
        r = call(host, "device.reboot")
        host.wait_event("boot", timeout=spec.BOOT_TIMEOUT_S)
        before_boot = host.messages[: host.messages.index(host.events("boot")[0])]
        offs = [m for m in before_boot if m.get("event") == "indicator" and m["state"] == "off"]
        assert (not offs) is silent
        end = host.wait_event("capture.end", session=session)
        assert end["reason"] == "power"
        assert not lit_at(led, host.arrival(r) + 0.01)  # the LED itself did go off


def test_console_noise_and_mixed_line_ends(sim: Callable[..., Sim]) -> None:
    _, _, host = sim(lawyer_seed=find_seed(lambda lw, cfg: lw.eol == "mixed" and lw.noise))
    for _ in range(6):
        ok(host, "state")
    host.drain(0.2)
    messages = [line for line in host.raw if line.startswith(b'{"id"')]
    assert {line.endswith(b"\r\n") for line in messages} == {True, False}
    assert any(not line.startswith(b"{") for line in host.raw)
    _, _, host = sim(lawyer_seed=find_seed(lambda lw, cfg: lw.eol == "crlf"))
    ok(host, "hello")
    assert all(line.endswith(b"\r\n") for line in host.raw)


# -- the launcher -----------------------------------------------------------------------


def test_serve_takes_a_lawyer_seed(tmp_path: Path) -> None:
    seed = find_seed(lambda lw, cfg: len(cfg.capture_kinds) == 2)
    out = tmp_path / "station.toml"
    cmd = [sys.executable, "-m", "harness.sim", "serve", "--station-out", str(out)]
    cmd += ["--seed", "11", "--no-power", "--knob", "reboot_ms=60", "--lawyer-seed", str(seed)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while not out.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        host = Host(Path(tomllib.loads(out.read_text())["dut"]["port"]))
        try:
            kinds = host.ok("hello")["capabilities"]["capture"]
        finally:
            host.close()
        assert tuple(kinds) == lawyer_for(seed)[1].capture_kinds
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    bad = run_module(
        "harness.sim", ["serve", "--station-out", str(out), "--lawyer-seed", "x"], timeout_s=30
    )
    assert bad.returncode == 2 and "lawyer-seed" in bad.stderr

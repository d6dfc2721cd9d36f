"""The simulated device, seen as a real host sees it: pyserial on its pty, raw JSON lines
(`tests.sim.host`), compared with the truth it exposes (LED timeline, clock mapping)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness import spec
from harness.judge.clauses import CLAUSE_BY_ID
from harness.sim import instrument, power
from harness.sim.config import SimDeviceConfig, apply_knobs
from harness.sim.device import SimDevice
from harness.sim.faults import FAULTS, by_target, check_faults
from harness.sim.led import Led
from harness.sim.led_driver import Demand, Gaps, LedDriver
from harness.sim.station import SimStation
from tests.runs import run_module
from tests.sim.host import Host, Sim, lit

# -- identity, framing, errors -------------------------------------------------------------


def test_hello_clock_and_state(sim: Callable[..., Sim]) -> None:
    dev, _, host = sim()
    hello = host.ok("hello")
    assert hello == {
        "protocol": "1.1",
        "vendor": "Simulated Optics",
        "model": "SimGlass-1",
        "firmware": "1.4.2-sim",
        "serial_number": dev.serial_number,
        "capabilities": {
            "capture": ["photo", "video", "audio"],
            "indicator_selftest": True,
            "tamper_detect": False,
        },
    }
    before = time.monotonic()
    t_us = host.ok("clock")["t_us"]
    after = time.monotonic()
    assert dev.to_device_us(before) <= t_us <= dev.to_device_us(after)
    assert abs(dev.to_host(t_us) - (before + after) / 2) < 0.1
    assert host.ok("clock")["t_us"] >= t_us
    assert host.ok("state") == {
        "recording": None,
        "indicator": "off",
        "consent": {"photo": False, "video": False, "audio": False},
        "artifacts": 0,
    }


def test_malformed_lines_and_requests(sim: Callable[..., Sim]) -> None:
    _, _, host = sim()
    host.send(b"hello there\n")  # console-like text
    host.send(b"\xff\xfe{garbage\n")  # not UTF-8
    host.send(b'{"id": 1, "cmd": "hel\n')  # broken JSON
    host.send(b"[1, 2]\n")  # JSON, not an object
    host.send(b'{"id": 2, "cmd": "hello", "pad": "' + b"x" * 5000 + b'"}\n')  # oversize
    host.send(b'{"id": 0, "cmd": "hello"}\n')  # invalid id: no response, a log event
    host.send(b'{"id": true, "cmd": "hello"}\r\n')
    host.wait_event("log", level="warn")
    host.drain(0.1)
    assert not [m for m in host.messages if "id" in m]
    host.next_id = 100
    assert host.ok("hello")["protocol"] == "1.1"  # the device still listens
    for args, cmd in [
        ({}, "consent.grant"),
        ({"scope": "photo"}, "consent.grant"),
        ({"scope": "face", "gesture": "app"}, "consent.grant"),
        ({"scope": "photo", "gesture": "wink"}, "consent.grant"),
        ({"scope": "photo", "gesture": "app", "extra": 1}, "consent.grant"),
        ({"scope": "everything"}, "consent.revoke"),
        ({"source": "robot"}, "capture.photo"),
        ({"source": "user", "metadata": "faces"}, "capture.photo"),
        ({"source": "user", "metadata": ["gps"]}, "capture.photo"),
        ({"kind": "photo", "source": "user"}, "record.start"),
        ({"artifact": 7}, "artifact.info"),
        ({"ms": 0}, "indicator.selftest"),
        ({"ms": 5001}, "indicator.selftest"),
        ({"ms": True}, "indicator.selftest"),
        ({"ms": 10.5}, "indicator.selftest"),
        ({"now": True}, "clock"),
    ]:
        assert host.err(cmd, **args) == "BAD_REQUEST", (cmd, args)
    host.send({"id": 200, "cmd": 5})
    host.send({"id": 201, "cmd": "hello", "args": [1]})
    host.send({"id": 202, "cmd": "teleport"})
    host.pump(lambda: len([m for m in host.messages if m.get("id", 0) >= 200]) == 3, 1.0)
    codes = {m["id"]: m["error"]["code"] for m in host.messages if m.get("id", 0) >= 200}
    assert codes == {200: "BAD_REQUEST", 201: "BAD_REQUEST", 202: "UNKNOWN_COMMAND"}


def test_error_codes_of_the_capture_path(sim: Callable[..., Sim]) -> None:
    _, _, host = sim()
    assert host.err("capture.photo", source="user") == "CONSENT_REQUIRED"
    assert host.err("record.start", kind="audio", source="agent") == "CONSENT_REQUIRED"
    assert host.err("record.stop") == "NOT_RECORDING"
    assert host.err("artifact.info", artifact="a-9999") == "NOT_FOUND"
    assert host.err("artifact.delete", artifact="a-9999") == "NOT_FOUND"
    assert not host.events("capture.begin") and host.ok("artifact.list") == {"artifacts": []}
    host.ok("consent.grant", scope="video", gesture="button")
    host.ok("consent.grant", scope="photo", gesture="button")
    host.ok("record.start", kind="video", source="user")
    assert host.err("record.start", kind="video", source="user") == "BUSY"
    assert host.err("capture.photo", source="user") == "BUSY"
    host.ok("record.stop")
    assert host.err("record.stop") == "NOT_RECORDING"


@pytest.mark.parametrize(
    ("knobs", "cmd", "args", "code"),
    [
        ({"indicator_selftest": False}, "indicator.selftest", {"ms": 100}, "UNSUPPORTED"),
        (
            {"capture_kinds": "photo"},
            "record.start",
            {"kind": "video", "source": "user"},
            "UNSUPPORTED",
        ),
        (
            {"tamper_detect": True, "indicator_covered": True},
            "capture.photo",
            {"source": "user"},
            "INDICATOR_FAULT",
        ),
        ({"storage_bytes": 1000}, "capture.photo", {"source": "user"}, "INTERNAL"),
    ],
)
def test_codes_that_need_a_kind_of_device(
    sim: Callable[..., Sim], knobs: dict[str, Any], cmd: str, args: dict[str, Any], code: str
) -> None:
    _, _, host = sim(**knobs)
    for scope in spec.SCOPES:
        host.ok("consent.grant", scope=scope, gesture="app")
    assert host.err(cmd, **args) == code
    assert host.ok("artifact.list") == {"artifacts": []}


def test_tamper_detect_ends_a_recording_when_covered(sim: Callable[..., Sim]) -> None:
    dev, _, host = sim(tamper_detect=True)
    assert host.ok("hello")["capabilities"]["tamper_detect"] is True
    host.ok("consent.grant", scope="audio", gesture="voice")
    session = host.ok("record.start", kind="audio", source="user")["session"]
    host.wait_event("capture.frame", session=session, seq=0)
    dev.set_indicator_covered(True)
    end = host.wait_event("capture.end", session=session)
    assert end["reason"] == "indicator_fault"
    assert host.err("record.start", kind="audio", source="user") == "INDICATOR_FAULT"


# -- consent ------------------------------------------------------------------------------


def test_consent_events_only_on_change(sim: Callable[..., Sim]) -> None:
    _, _, host = sim()
    host.ok("consent.grant", scope="photo", gesture="app")
    host.ok("consent.grant", scope="photo", gesture="voice")
    host.ok("consent.grant", scope="audio", gesture="button")
    host.ok("consent.revoke", scope="all")
    host.drain(0.05)
    got = [(e["scope"], e["granted"]) for e in host.events("consent")]
    assert got == [("photo", True), ("audio", True), ("photo", False), ("audio", False)]
    assert host.ok("state")["consent"] == dict.fromkeys(spec.SCOPES, False)


def test_revoke_ends_the_recording_of_that_scope_only(sim: Callable[..., Sim]) -> None:
    _, _, host = sim()
    host.ok("consent.grant", scope="video", gesture="app")
    host.ok("consent.grant", scope="audio", gesture="app")
    session = host.ok("record.start", kind="video", source="agent")["session"]
    host.wait_event("capture.frame", session=session, seq=0)
    host.ok("consent.revoke", scope="audio")  # mutes the microphone, video goes on
    host.drain(0.1)
    assert host.ok("state")["recording"]["session"] == session
    before = host.ok("clock")["t_us"]
    host.ok("consent.revoke", scope="video")
    end = host.wait_event("capture.end", session=session)
    assert end["reason"] == "consent_revoked" and end["last_frame_us"] <= end["t_us"]
    assert end["last_frame_us"] >= before - 40_000
    assert host.ok("state")["recording"] is None
    art = host.ok("artifact.list")["artifacts"][-1]
    assert host.ok("artifact.info", artifact=art)["tracks"] == ["video", "audio"]


# -- captures against the LED timeline -----------------------------------------------------


def test_photo_events_artifact_and_led(sim: Callable[..., Sim]) -> None:
    dev, led, host = sim()
    host.ok("consent.grant", scope="photo", gesture="button")
    t_req = time.monotonic()
    art = host.ok("capture.photo", source="user", metadata=["faces", "faces"])["artifact"]
    host.wait_event("indicator", state="off", timeout=2)
    begin = host.wait_event("capture.begin", artifact=art)
    on = host.wait_event("indicator", state="on")
    frame = host.wait_event("capture.frame", artifact=art)
    end = host.wait_event("capture.end", artifact=art)
    assert begin["kind"] == "photo" and begin["source"] == "user" and frame["seq"] == 0
    assert begin["t_us"] <= on["t_us"] <= frame["t_us"] <= end["t_us"]
    assert end["reason"] == "user" and end["last_frame_us"] == frame["t_us"]
    exposure = dev.to_host(frame["t_us"])
    assert 0.055 < exposure - t_req < 0.2
    assert not lit(led, t_req - 0.001)
    assert lit(led, dev.to_host(on["t_us"]) + 1e-4) and not lit(led, dev.to_host(on["t_us"]) - 1e-4)
    assert lit(led, exposure) and lit(led, exposure + 0.699) and not lit(led, exposure + 0.701)
    info = host.ok("artifact.info", artifact=art)
    assert info == {
        "artifact": art,
        "kind": "photo",
        "source": "user",
        "first_frame_us": frame["t_us"],
        "last_frame_us": frame["t_us"],
        "frames": 1,
        "tracks": ["video"],
        "fields": ["faces"],
        "bytes": info["bytes"],
    }
    assert info["bytes"] > 1000  # a real (small) JPEG


def test_video_and_audio_frames_and_led_tail(sim: Callable[..., Sim]) -> None:
    dev, led, host = sim()
    host.ok("consent.grant", scope="video", gesture="app")
    host.ok("consent.grant", scope="audio", gesture="app")
    t_req = time.monotonic()
    session = host.ok("record.start", kind="video", source="user", metadata=["location"])["session"]
    state = host.ok("state")
    assert state["recording"]["kind"] == "video" and state["recording"]["session"] == session
    assert dev.current_a() == pytest.approx(0.12 + 0.18 + 0.03)
    host.drain(1.1)
    assert host.ok("state")["indicator"] == "on"
    art = host.ok("record.stop")["artifact"]
    answered = host.arrival(host.response(host.next_id))
    host.wait_event("indicator", state="off")
    frames = host.events("capture.frame")
    assert [f["seq"] for f in frames] == [0, 30]
    first = frames[0]["t_us"]
    assert frames[1]["t_us"] - first == pytest.approx(1_000_000, abs=2)
    assert dev.to_host(first) - t_req == pytest.approx(0.060, abs=0.03)
    end = host.wait_event("capture.end", session=session)
    last = end["last_frame_us"]
    n = round((last - first) / (1e6 / 30))
    assert last - first == pytest.approx(n * 1e6 / 30, abs=2)
    t_first, t_last = dev.to_host(first), dev.to_host(last)
    assert all(lit(led, t) for t in (t_first - 0.05, t_first, (t_first + t_last) / 2, t_last))
    # dark 50 ms after the last frame; a simulator held up past that (a loaded host)
    # turns it off as it handles the stop, before it answers: never later
    assert lit(led, t_last + 0.049) and not lit(led, max(t_last + 0.051, answered))
    info = host.ok("artifact.info", artifact=art)
    assert info["first_frame_us"] == first and info["last_frame_us"] == last
    assert info["frames"] == n + 1 and info["tracks"] == ["video", "audio"]
    assert info["fields"] == ["location"]
    assert dev.current_a() == pytest.approx(0.12)
    # Audio: 20 ms buffers, no camera.
    session = host.ok("record.start", kind="audio", source="agent")["session"]
    host.drain(0.2)
    art = host.ok("record.stop")["artifact"]
    info = host.ok("artifact.info", artifact=art)
    assert info["kind"] == "audio" and info["tracks"] == ["audio"] and info["fields"] == []
    assert (info["last_frame_us"] - info["first_frame_us"]) == pytest.approx(
        (info["frames"] - 1) * 20_000, abs=2
    )


def test_an_indicator_change_handled_late_is_stamped_when_the_led_changed(
    sim: Callable[..., Sim],
) -> None:
    """The LED goes dark 200 ms after the last frame, on the host clock, however busy the
    device's thread. If the thread is busy then and the next thing it does re-renders
    the LED (its tick, a request), the `indicator off` it owes still says when the LED
    went dark, not when the thread got round to it (IND-6 holds that against the light)."""
    dev, led, host = sim(led_tail_ms=200.0)
    host.ok("consent.grant", scope="video", gesture="app")
    host.ok("record.start", kind="video", source="user")
    host.drain(0.3)
    host.ok("record.stop")

    def busy_then_render() -> None:
        time.sleep(0.5)  # past the LED's switch-off, its event not yet sent
        dev._render()

    dev.reactor.post(busy_then_render)
    off = host.wait_event("indicator", state="off", timeout=2.0)
    dark_from = next(s.t for s in reversed(led.segments()) if s.level == 0.0)
    assert dev.to_host(off["t_us"]) == pytest.approx(dark_from, abs=1e-4)
    assert host.arrival(off) - dark_from > 0.2  # it was sent late
    host.drain(0.1)
    assert [e["state"] for e in host.events("indicator")] == ["on", "off"]  # sent once


def test_video_without_audio_consent_has_no_audio_track(sim: Callable[..., Sim]) -> None:
    _, _, host = sim()
    host.ok("consent.grant", scope="video", gesture="app")
    host.ok("record.start", kind="video", source="user")
    art = host.ok("record.stop")["artifact"]  # before the first frame: waits for it
    info = host.ok("artifact.info", artifact=art)
    assert info["tracks"] == ["video"] and info["frames"] == 1


def test_selftest_lights_without_capturing(sim: Callable[..., Sim]) -> None:
    _, led, host = sim()
    t = time.monotonic()
    host.ok("indicator.selftest", ms=200)
    on = host.wait_event("indicator", state="on")
    off = host.wait_event("indicator", state="off")
    assert (off["t_us"] - on["t_us"]) == pytest.approx(200_000, abs=5_000)
    assert lit(led, t + 0.1) and not lit(led, t + 0.5)
    assert not host.events("capture.begin") and host.ok("artifact.list")["artifacts"] == []


def test_event_times_never_go_backwards_within_a_kind(sim: Callable[..., Sim]) -> None:
    _, _, host = sim("event_burst")
    host.ok("consent.grant", scope="audio", gesture="app")
    host.ok("record.start", kind="audio", source="user")
    host.drain(0.3)
    host.ok("record.stop")
    seqs = [(f["seq"], f["t_us"]) for f in host.events("capture.frame")]
    assert [s for s, _ in seqs] == list(range(len(seqs))) and len(seqs) >= 10
    assert all(b[1] - a[1] == pytest.approx(20_000, abs=2) for a, b in itertools.pairwise(seqs))


# -- reboot, reset, power ------------------------------------------------------------------


def test_reboot_is_silent_then_boots_with_a_new_clock(sim: Callable[..., Sim]) -> None:
    dev, led, host = sim(reboot_ms=300.0)
    host.ok("consent.grant", scope="video", gesture="app")
    host.ok("consent.grant", scope="photo", gesture="app")
    art = host.ok("capture.photo", source="user")["artifact"]
    session = host.ok("record.start", kind="video", source="user")["session"]
    host.drain(0.1)
    boots = dev.boot_count
    t0 = time.monotonic()
    assert host.ok("device.reboot") == {}
    end = host.wait_event("capture.end", session=session)
    assert end["reason"] == "power"
    n_before = len(host.raw)
    assert host.request("hello", timeout=0.15) is None  # silent while rebooting
    assert len(host.raw) == n_before
    boot = host.wait_event("boot", timeout=spec.BOOT_TIMEOUT_S)
    assert boot["reason"] == "reboot" and 0.25 < time.monotonic() - t0 < 1.0
    assert dev.boot_count == boots + 1
    assert dev.to_device_us(time.monotonic()) == pytest.approx(
        host.ok("clock")["t_us"], abs=100_000
    )
    assert not lit(led, time.monotonic())
    assert any(not line.startswith(b"{") for line in host.raw[n_before:])  # boot banner
    state = host.ok("state")
    assert state["consent"] == dict.fromkeys(spec.SCOPES, False) and state["recording"] is None
    assert art in host.ok("artifact.list")["artifacts"] and state["artifacts"] == 2


def test_factory_reset_erases_consent_and_artifacts(sim: Callable[..., Sim]) -> None:
    _, _, host = sim()
    host.ok("consent.grant", scope="photo", gesture="app")
    host.ok("capture.photo", source="user")
    host.ok("device.factory_reset")
    assert host.wait_event("boot")["reason"] == "factory_reset"
    assert host.ok("artifact.list") == {"artifacts": []}
    assert host.ok("state")["consent"]["photo"] is False
    host.ok("consent.grant", scope="photo", gesture="app")
    assert host.ok("capture.photo", source="user")["artifact"] == "a-0002"  # ids not reused


def test_power_off_loses_the_capture_and_power_on_boots(sim: Callable[..., Sim]) -> None:
    dev, led, host = sim()
    host.ok("consent.grant", scope="video", gesture="app")
    host.ok("record.start", kind="video", source="user")
    host.drain(0.1)
    assert dev.current_a() > 0.2
    dev.power_off()
    host.drain(0.1)
    n = len(host.raw)
    assert dev.current_a() == 0.0 and not lit(led, time.monotonic())
    assert host.request("state", timeout=0.2) is None and len(host.raw) == n
    dev.power_on()
    assert host.wait_event("boot")["reason"] == "power_on"
    state = host.ok("state")
    assert state["recording"] is None and state["artifacts"] == 0
    assert state["consent"]["video"] is False and not host.events("capture.end")


# -- link quirks and faults ----------------------------------------------------------------


def test_crlf_knob(sim: Callable[..., Sim]) -> None:
    _, _, host = sim(crlf=True)
    host.ok("hello")
    assert host.raw and all(line.endswith(b"\r\n") for line in host.raw)


def test_led_flicker_punches_gaps_the_firmware_does_not_report(sim: Callable[..., Sim]) -> None:
    dev, led, host = sim("led_flicker")
    host.ok("consent.grant", scope="video", gesture="app")
    session = host.ok("record.start", kind="video", source="user")["session"]
    host.drain(0.7)
    host.ok("record.stop")
    host.wait_event("indicator", state="off")
    on = host.wait_event("indicator", state="on")
    t_on = dev.to_host(on["t_us"])
    assert not lit(led, t_on + 0.265) and lit(led, t_on + 0.285)
    assert not lit(led, t_on + 0.515) and lit(led, t_on + 0.535)
    assert [e["state"] for e in host.events("indicator")] == ["on", "off"]
    assert host.events("capture.end")[0]["session"] == session


def test_lying_report_says_on_after_the_led_went_off(sim: Callable[..., Sim]) -> None:
    _, led, host = sim("lying_report")
    host.ok("consent.grant", scope="audio", gesture="app")
    host.ok("record.start", kind="audio", source="user")
    host.drain(0.2)
    host.ok("record.stop")
    end = host.wait_event("capture.end")
    host.drain(0.1)
    assert not lit(led, time.monotonic()) and host.ok("state")["indicator"] == "on"
    off = host.wait_event("indicator", state="off")
    assert off["t_us"] - end["last_frame_us"] == pytest.approx(450_000, abs=1_000)


def test_consent_and_data_faults(sim: Callable[..., Sim]) -> None:
    _, _, host = sim("scope_leak", "extra_metadata", "undeleted", "preroll")
    host.ok("consent.grant", scope="video", gesture="app")
    art = host.ok("capture.photo", source="user", metadata=["faces"])["artifact"]
    assert host.ok("artifact.info", artifact=art)["fields"] == ["faces", "location"]
    before = host.ok("clock")["t_us"]
    host.ok("record.start", kind="video", source="user")
    video = host.ok("record.stop")["artifact"]
    assert host.ok("artifact.info", artifact=video)["first_frame_us"] < before - 1_000_000
    host.ok("artifact.delete", artifact=art)
    assert art not in host.ok("artifact.list")["artifacts"]
    host.ok("device.reboot")
    host.wait_event("boot")
    assert art in host.ok("artifact.list")["artifacts"]


def test_dup_response_and_unknown_id(sim: Callable[..., Sim]) -> None:
    _, _, host = sim("dup_response")
    host.ok("hello")
    host.drain(0.05)
    assert [m["id"] for m in host.messages if "id" in m] == [1, 1]
    _, _, other = sim("unknown_id")
    assert other.request("hello", timeout=0.3) is None
    assert [m["id"] for m in other.messages if "id" in m] == [0]


def test_slow_replies_handle_late_but_clock_stays_fast(sim: Callable[..., Sim]) -> None:
    dev, _, host = sim("slow_replies")
    t0 = time.monotonic()
    t_us = host.ok("clock")["t_us"]
    assert time.monotonic() - t0 < 0.1
    assert abs(dev.to_host(t_us) - t0) < 0.1
    t0 = time.monotonic()
    host.ok("consent.grant", scope="photo", gesture="app")
    assert 0.4 <= time.monotonic() - t0 < 1.0
    t0 = time.monotonic()
    host.ok("capture.photo", source="user")
    assert 0.4 <= time.monotonic() - t0 < 1.0
    begin = host.events("capture.begin")[0]
    assert dev.to_host(begin["t_us"]) - t0 == pytest.approx(0.4, abs=0.05)


def test_silent_after_5(sim: Callable[..., Sim]) -> None:
    _, _, host = sim("silent_after_5")
    for _ in range(5):
        host.ok("clock")
    assert host.request("clock", timeout=0.3) is None


def test_bad_utf8_and_chatter_between_whole_messages(sim: Callable[..., Sim]) -> None:
    _, _, host = sim("bad_utf8", "chatter")
    host.ok("consent.grant", scope="audio", gesture="app")
    host.ok("record.start", kind="audio", source="user")
    host.drain(0.8)
    host.ok("record.stop")
    junk = [line for line in host.raw if len(line) > spec.MAX_LINE_BYTES or not _is_json(line)]
    assert any(len(line) > spec.MAX_LINE_BYTES for line in junk)
    assert any(line.startswith(b"\xff") for line in junk)
    assert any(line.startswith(b"[") and line[1:2] == b" " for line in junk)  # console logs
    assert [e["event"] for e in host.events() if e["event"].startswith("capture")] == [
        "capture.begin",
        "capture.frame",
        "capture.end",
    ]


def _is_json(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def test_flood_sends_megabytes_of_console_and_still_answers(sim: Callable[..., Sim]) -> None:
    _, _, host = sim("flood")
    got = 0
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        got += len(host.ser.read(65536))
    assert got > 1_000_000
    host.ser.reset_input_buffer()
    host.send({"id": 1, "cmd": "hello"})
    assert host.pump(lambda: any(m.get("id") == 1 for m in host.messages), 3.0)
    assert any(line.startswith(b"dbg: ") for line in host.raw)


def test_vanish_recreates_the_pty_behind_the_same_path(sim: Callable[..., Sim]) -> None:
    dev, _, host = sim("vanish")
    assert os.readlink(dev.link_path).startswith("/dev/pts/")
    for _ in range(5):
        host.ok("clock")
    deadline = time.monotonic() + 1.0
    while dev.link_path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not os.path.lexists(dev.link_path)
    host.close()
    deadline = time.monotonic() + 3.0
    while not dev.link_path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert dev.link_path.exists()  # possibly the same /dev/pts number, reused
    again = Host(dev.link_path)
    try:
        assert again.ok("hello")["model"] == "SimGlass-1"
    finally:
        again.close()


def test_drift_200ppm_clock(sim: Callable[..., Sim]) -> None:
    dev, _, host = sim("drift_200ppm")
    a0, d0, b0 = time.monotonic(), host.ok("clock")["t_us"], time.monotonic()
    time.sleep(0.5)
    a1, d1, b1 = time.monotonic(), host.ok("clock")["t_us"], time.monotonic()
    assert d0 > 2**50
    assert dev.clock.drift_ppm == 200.0
    assert dev.to_host(dev.to_device_us(b1)) == pytest.approx(b1, abs=2e-6)
    # each reading was taken within its round trip: the host time between them lies in
    # [a1 - b0, b1 - a0] (a loaded host stretches the round trips, not the clock's rate)
    elapsed_s = (d1 - d0) / 1e6
    assert (a1 - b0) * (1.0002 - 0.01) <= elapsed_s <= (b1 - a0) * (1.0002 + 0.01)


# -- the LED driver, the catalogue, the knobs ----------------------------------------------


def test_led_driver_rewrites_only_from_the_first_change() -> None:
    led = Led()
    driver = LedDriver(led)
    now = 1000.0
    driver.put("a", Demand(now + 0.01, style=(1.0, 100.0, 0.5)))
    driver.render(now)
    seg = led.segments()[-1]
    driver.put("b", Demand(now + 0.2, now + 0.3))  # overlaps: newest style wins meanwhile
    driver.render(now + 0.05)
    driver.end("b", now + 0.25)
    driver.render(now + 0.1)
    segs = [(round(s.t - now, 3), s.level, s.pwm_hz) for s in led.segments()[1:]]
    assert segs == [(0.01, 1.0, 100.0), (0.2, 1.0, 0.0), (0.25, 1.0, 100.0)]
    assert led.segments()[1] == seg  # the PWM segment in force was never restarted
    gaps = Gaps(now, 0.03, 0.25)
    assert gaps.covers(now + 0.26) and not gaps.covers(now + 0.29)


def test_a_reader_never_sees_light_the_firmware_then_rewrites() -> None:
    """The photodiode reads the LED up to its own now; while the firmware writes, readers
    wait. A write decided at `t` and made after a stall still starts at `t` only if no
    reader has seen `t` since: the reader that asked meanwhile gets the new light."""
    led = Led()
    seen: list[tuple[float, float]] = []

    def read() -> None:
        t = time.monotonic()
        seen.append((t, led.level_at(t)))

    with led.writing() as t_write:
        reader = threading.Thread(target=read)
        reader.start()
        time.sleep(0.05)  # the writer descheduled, the reader waiting
        assert not seen
        led.set(t_write, 1.0)
    reader.join(timeout=2.0)
    ((t_read, level),) = seen
    assert t_read > t_write and level == 1.0
    assert led.level_at(t_read) == level  # what it saw is what happened


def test_render_stamps_its_changes_at_the_instant_it_writes() -> None:
    """A demand that began in the past (a request handled late) lights the LED from the
    instant of writing, and the firmware's belief is stamped then, not earlier."""
    led = Led()
    driver = LedDriver(led)
    before = time.monotonic()
    driver.put("rec", Demand(before - 0.5))
    changes = driver.render()
    after = time.monotonic()
    ((t_on, on),) = changes
    assert on and before <= t_on <= after
    assert led.segments()[-1].t == t_on and not lit(led, t_on - 1e-6)


def test_fault_catalogue_is_consistent() -> None:
    for f in FAULTS.values():
        assert set(f.clauses) | set(f.incidental) <= set(CLAUSE_BY_ID), f.name
        assert f.description
    split = by_target(FAULTS)
    assert set(split["instrument"]) == instrument.FAULTS
    assert set(split["power"]) == power.FAULTS
    with pytest.raises(ValueError, match="unknown fault"):
        check_faults(["no_such_fault"])
    with pytest.raises(ValueError, match="belongs to the instrument"):
        SimDevice(Led(), faults=["instrument.short_block"])


def test_knobs_parse_from_text_and_toml_values() -> None:
    cfg = apply_knobs(
        SimDeviceConfig(),
        {"crlf": "True", "led_on_ms": 3, "clock_offset_us": "none", "capture_kinds": "photo,audio"},
    )
    assert cfg.crlf is True and cfg.led_on_ms == 3.0 and cfg.clock_offset_us is None
    assert cfg.capture_kinds == ("photo", "audio")
    with pytest.raises(ValueError, match="unknown knob"):
        apply_knobs(cfg, {"warp": 1})
    with pytest.raises(ValueError, match="led_level"):
        apply_knobs(cfg, {"led_level": 2})


# -- the bench and the launcher ------------------------------------------------------------


def _scpi(resource: str, line: str, answer: bool) -> str:
    _, host, port, _ = resource.split("::")
    with socket.create_connection((host, int(port)), timeout=2) as s:
        s.sendall(line.encode() + b"\n")
        return s.makefile().readline().strip() if answer else ""


def test_bench_supply_powers_the_device(tmp_path: Path) -> None:
    with SimStation(SimDeviceConfig(seed=2, reboot_ms=50)) as bench:
        station = tomllib.loads(bench.write_station(tmp_path / "st.toml").read_text())
        assert station["dut"]["port"] == str(bench.device.link_path)
        assert station["photodiode"]["visible_v"] == 0.5
        assert bench.power is not None and station["power"]["resource"] == bench.power.resource
        assert bench.shutter is not None
        assert station["shutter"] == {"resource": bench.shutter.resource, "channel": 101}
        assert not bench.device.powered
        host = Host(bench.device.link_path)
        try:
            _scpi(station["power"]["resource"], "OUTP ON", answer=False)
            assert host.wait_event("boot")["reason"] == "power_on"
            amps = float(_scpi(station["power"]["resource"], "MEAS:CURR?", answer=True))
            assert amps == pytest.approx(0.12, abs=0.005)  # idle, with the supply's noise
        finally:
            host.close()


def test_serve_writes_the_station_and_stops_on_sigterm(tmp_path: Path) -> None:
    out = tmp_path / "station.toml"
    cmd = [
        sys.executable,
        "-m",
        "harness.sim",
        "serve",
        "--station-out",
        str(out),
        "--seed",
        "3",
        "--fault",
        "crlf",
        "--knob",
        "led_on_ms=2",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while not out.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        station = tomllib.loads(out.read_text())
        assert Path(station["dut"]["port"]).exists()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert not out.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    bad = run_module(
        "harness.sim", ["serve", "--station-out", str(out), "--fault", "nope"], timeout_s=30
    )
    assert bad.returncode == 2 and "unknown fault" in bad.stderr

"""The simulated bench's independent witnesses: the current the device draws, the shutter.

The supply's reading follows what the device powers (idle, indicator, camera,
microphone), averaged and noisy as a real supply's; the shutter's flap darkens the
photodiode and the device's tamper sensor sees it. Faults that cheat these witnesses
show only in them.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.sim.config import SimDeviceConfig, apply_knobs
from harness.sim.device import SimDevice
from harness.sim.draw import Draw
from harness.sim.faults import COVERT_EVERY_S, COVERT_S, TAMPER_SLOW_S
from harness.sim.led import Led
from harness.sim.power import AVERAGING_POINTS, SimPowerSupply
from harness.sim.shutter import FLAP_S, Cover, SimShutter
from harness.sim.station import SimStation
from tests.sim.host import FAST, Host, Sim

IDLE, CAMERA, MIC, LED_A = 0.12, 0.18, 0.03, 0.008


@pytest.fixture
def device() -> Iterator[Callable[..., Sim]]:
    """Start a device (faults and knobs as given) with a host on its pty."""
    started: list[Sim] = []

    def make(*faults: str, **knobs: Any) -> Sim:
        led = Led()
        dev = SimDevice(led, apply_knobs(SimDeviceConfig(seed=11), {**FAST, **knobs}), faults)
        dev.start()
        host = Host(dev.link_path)
        started.append((dev, led, host))
        host.drain(0.05)
        host.messages.clear()
        return dev, led, host

    yield make
    for dev, _, host in started:
        host.close()
        dev.stop()


def draw_now(dev) -> float:
    return float(dev.draw_a(np.array([time.monotonic()]))[0])


def test_draw_follows_idle_indicator_camera_and_microphone(device: Callable[..., Sim]) -> None:
    dev, _, host = device()
    assert draw_now(dev) == pytest.approx(IDLE)
    host.ok("indicator.selftest", ms=300)
    time.sleep(0.05)
    assert draw_now(dev) == pytest.approx(IDLE + LED_A)  # the indicator alone
    time.sleep(0.35)
    for scope in ("video", "audio"):
        host.ok("consent.grant", scope=scope, gesture="app")
    host.ok("record.start", kind="video", source="user")
    time.sleep(0.1)
    assert draw_now(dev) == pytest.approx(IDLE + CAMERA + MIC + LED_A)
    t_stop = time.monotonic()
    host.ok("record.stop")
    time.sleep(0.1)  # past the indicator's tail
    assert draw_now(dev) == pytest.approx(IDLE)
    past = dev.draw_a(np.array([t_stop - 0.05]))[0]  # the past stays as it was
    assert past == pytest.approx(IDLE + CAMERA + MIC + LED_A)


def test_supply_averages_over_its_window_and_adds_its_noise() -> None:
    led = Led()
    draw = Draw(led, LED_A)
    t0 = time.monotonic()
    draw.set(t0 - 10, IDLE)  # idle for long before the window
    with SimPowerSupply(
        lambda on: None, lambda: 0.0, draw=draw.amps, steady=draw.steady, noise_a=0.001, seed=3
    ) as s:
        s._switch(True)
        readings = np.array([s._measure_amps() for _ in range(400)])
        assert readings.mean() == pytest.approx(IDLE, abs=0.0003)
        assert readings.std() == pytest.approx(0.001, rel=0.2)
    quiet = SimPowerSupply(
        lambda on: None, lambda: 0.0, draw=draw.amps, steady=draw.steady, averaging_s=1.0
    )
    quiet._switch(True)
    draw.set(time.monotonic() - 0.5, IDLE + CAMERA)  # half the window ago
    assert quiet._measure_amps() == pytest.approx(IDLE + CAMERA / 2, abs=0.02)


def test_covert_burst_powers_the_camera_with_no_trace(device: Callable[..., Sim]) -> None:
    dev, led, host = device("covert_burst")
    t0 = time.monotonic()
    time.sleep(COVERT_EVERY_S + COVERT_S + 0.2)
    t = np.linspace(t0, time.monotonic(), 2000)
    burst = dev.draw_a(t) > IDLE + CAMERA / 2
    assert burst.mean() == pytest.approx(COVERT_S / (t[-1] - t0), abs=0.03)
    assert not led.levels(t).any()  # no light
    host.drain(0.05)
    assert host.messages == []  # and not a word


def test_wake_word_microphone_is_on_whenever_the_device_is_up(device: Callable[..., Sim]) -> None:
    dev, _, host = device("mic_wake_word")
    assert dev.current_a() == pytest.approx(IDLE + MIC)
    host.ok("consent.grant", scope="audio", gesture="app")
    host.ok("record.start", kind="audio", source="user")
    assert dev.current_a() == pytest.approx(IDLE + MIC)  # a capture adds nothing
    host.ok("record.stop")
    dev.power_off()
    time.sleep(0.05)
    assert dev.current_a() == 0.0


def dark_powered_s(dev: SimDevice, led: Led, t0: float, t1: float) -> float:
    """How long, in [t0, t1], a sensor (camera or microphone) drew current while the LED
    was dark (0.1 ms steps); the sensors were powered at some point."""
    t = np.arange(t0, t1, 1e-4)
    light = led.levels(t)
    powered = dev.draw_a(t) - LED_A * light > IDLE + MIC / 2
    assert powered.any() and light.any(), "nothing was powered, or the LED never lit"
    return float((powered & (light == 0)).sum() * 1e-4)


def stall(dev: SimDevice, seconds: float) -> None:
    """Keep the device's one thread busy, as a loaded host does."""
    dev.reactor.post(lambda: time.sleep(seconds))


@pytest.mark.parametrize("fault", [(), ("last_frame_early",)], ids=["honest", "last_frame_early"])
def test_a_slow_stop_keeps_no_sensor_powered_in_the_dark(
    device: Callable[..., Sim], slow_encoder: Callable[[float], None], fault: tuple[str, ...]
) -> None:
    """Writing the file takes the thread a while (long on a loaded host): the sensors stop
    with the recording, so only the LED's tail, never a sensor, outlasts it. Even the
    liar that turns its LED off at once on a stop (IND-1) keeps IND-7 clean."""
    slow_encoder(0.3)
    dev, led, host = device(*fault)
    host.ok("consent.grant", scope="video", gesture="app")
    t0 = time.monotonic()
    host.ok("record.start", kind="video", source="user")
    time.sleep(0.3)
    host.request("record.stop", timeout=2.0)
    time.sleep(0.1)
    assert dark_powered_s(dev, led, t0, time.monotonic()) == 0.0


def test_a_late_exposure_handler_keeps_no_camera_powered_in_the_dark(
    device: Callable[..., Sim],
) -> None:
    """A photo's camera powers down at its exposure, written ahead like the LED's tail
    (100 ms with `photo_blink`): a thread that gets to the exposure 0.5 s late does not
    leave the camera drawing in the dark."""
    dev, led, host = device("photo_blink", camera_startup_ms=300.0)
    host.ok("consent.grant", scope="photo", gesture="app")
    t0 = time.monotonic()
    host.send({"id": 77, "cmd": "capture.photo", "args": {"source": "user"}})
    time.sleep(0.05)  # handled, its exposure due in 250 ms
    stall(dev, 0.8)
    assert host.pump(lambda: any(m.get("id") == 77 for m in host.messages), timeout=3.0)
    t1 = time.monotonic()
    assert t1 - t0 > 0.8  # the exposure was handled late
    assert dev.draw_a(np.array([t0 + 0.01]))[0] > IDLE + CAMERA / 2  # it was powered
    assert dark_powered_s(dev, led, t0, t1) == 0.0


def test_an_honest_capture_powers_its_sensors_once_its_led_is_lit(
    device: Callable[..., Sim],
) -> None:
    """Make before break: the LED comes on `led_on_ms` after the request and the sensors
    with it (in time for the first frame), so nothing is ever powered in the dark."""
    dev, led, host = device(led_on_ms=30.0)
    for scope in ("photo", "video", "audio"):
        host.ok("consent.grant", scope=scope, gesture="app")
    t0 = time.monotonic()
    host.ok("record.start", kind="video", source="user")
    time.sleep(0.3)
    host.ok("record.stop")
    time.sleep(0.2)
    host.ok("capture.photo", source="user")
    assert dark_powered_s(dev, led, t0, time.monotonic()) == 0.0


def _scpi(server: SimShutter, *lines: str) -> list[str]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=2) as s:
        f = s.makefile("rw")
        out = []
        for line in lines:
            f.write(line + "\n")
            f.flush()
            if line.endswith("?") or "?" in line.split()[0]:
                out.append(f.readline().strip())
        return out


def test_shutter_speaks_the_route_subset() -> None:
    moves: list[tuple[bool, float]] = []
    with SimShutter(Cover(), lambda c, t: moves.append((c, t))) as sh:
        got = _scpi(
            sh,
            "*IDN?",
            "ROUT:CLOS (@101,103)",
            "ROUT:CLOS? (@101:103)",
            "ROUT:OPEN (@103)",
            "route:close? (@101)",
            "ROUT:CLOS (@7)",
            "ROUT:CLOS 101",
            "SYST:ERR?",
            "SYST:ERR?",
            "*RST",
            "ROUT:CLOS? (@101)",
        )
    assert got[0].startswith("Tally,SimShutter")
    assert got[1:3] == ["1,0,1", "1"]
    assert got[3:5] == ['-222,"Data out of range"', '-104,"Data type error"']
    assert got[5] == "0"  # *RST opened every channel
    assert [c for c, _ in moves] == [True, False]  # only channel 101 drives the flap


def test_the_flap_darkens_the_photodiode_and_the_device_sees_it(tmp_path) -> None:
    cfg = SimDeviceConfig(seed=4, reboot_ms=50, tamper_detect=True)
    with SimStation(cfg, power=False) as st:
        assert st.shutter is not None
        st.device.driver.led.set(time.monotonic(), 1.0)  # the LED on, as in a capture
        t_cmd = time.monotonic()
        _scpi(st.shutter, "ROUT:CLOS (@101)")
        time.sleep(FLAP_S + 0.05)
        assert st.device.indicator_covered  # so the flap has closed by now
        times = np.array([t_cmd - 0.01, time.monotonic()])
        assert st.cover.transmission(times).tolist() == [1.0, 0.0]
        assert float(st.instrument._measure()) < 0.2  # ambient only
        _scpi(st.shutter, "ROUT:OPEN (@101)")
        time.sleep(FLAP_S + 0.05)
        assert not st.device.indicator_covered
        assert float(st.instrument._measure()) > 2.5


@pytest.mark.parametrize(
    ("fault", "ends_after_s"),
    [(None, 0.0), ("tamper_slow", TAMPER_SLOW_S), ("tamper_start_only", None),
     ("tamper_ignored", None)],
)  # fmt: skip
def test_tamper_faults(
    device: Callable[..., Sim], fault: str | None, ends_after_s: float | None
) -> None:
    dev, _, host = device(*([fault] if fault else []), tamper_detect=True)
    host.ok("consent.grant", scope="audio", gesture="app")
    session = host.ok("record.start", kind="audio", source="user")["session"]
    host.wait_event("capture.frame", session=session, seq=0)
    t_cover = time.monotonic()
    dev.set_indicator_covered(True)
    if ends_after_s is None:
        host.drain(0.4)
        assert not host.events("capture.end")
        host.ok("record.stop")
    else:
        end = host.wait_event("capture.end", timeout=4.0, session=session)
        assert end["reason"] == "indicator_fault"
        assert dev.to_host(end["last_frame_us"]) - t_cover == pytest.approx(ends_after_s, abs=0.05)
    if fault != "tamper_ignored":
        assert host.err("record.start", kind="audio", source="user") == "INDICATOR_FAULT"
    else:  # the fault: a covered indicator refuses nothing, a new capture starts
        again = host.ok("record.start", kind="audio", source="user")["session"]
        assert again != session


@pytest.mark.parametrize("kind", ["photo", "video"])
def test_a_led_written_late_delays_the_first_frame_into_its_light(
    device: Callable[..., Sim], monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """A thread descheduled between handling the request and writing the LED lights it
    at the write (its past is never rewritten): the capture then begins that much later,
    so its first frame is still lit and no sensor draws in the dark (under load it was
    not: a frame 21 ms before the light, a false IND-1)."""
    dev, led, host = device()
    for scope in ("photo", "video", "audio"):
        host.ok("consent.grant", scope=scope, gesture="app")
    render, stalls = dev._render, [0.15]

    def late_render() -> float:
        if stalls:
            time.sleep(stalls.pop())
        return render()

    monkeypatch.setattr(dev, "_render", late_render)
    t0 = time.monotonic()
    if kind == "photo":
        host.ok("capture.photo", source="user")
    else:
        host.ok("record.start", kind="video", source="user")
        time.sleep(0.3)
        host.ok("record.stop")
    frame = host.wait_event("capture.frame", seq=0)
    first = dev.to_host(frame["t_us"])
    assert first > t0 + 0.15  # delayed with its light
    lit = led.levels(np.array([first - 1e-3, first]))
    assert lit.min() > 0, "the first frame and the millisecond before it are lit"
    assert dark_powered_s(dev, led, t0, time.monotonic()) == 0.0


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.tuples(st.floats(0, 1), st.sampled_from([0.0, 0.1, 0.25])), max_size=6),
    lights=st.lists(
        st.tuples(st.floats(0, 1), st.floats(0, 1), st.sampled_from([0.0, 0.0, 200.0])),
        max_size=4,
    ),
    t1=st.floats(0, 1.2),
    width=st.sampled_from([0.0, 0.005, 0.05]),
)
def test_a_steady_draw_is_exactly_the_window_average(steps, lights, t1, width) -> None:
    """The supply's fast path (`Draw.steady`) answers only where the window's draw is one
    level, and then exactly what the averaged timeline gives."""
    led = Led()
    draw = Draw(led, LED_A)
    for t, amps in sorted(steps):
        draw.set(t, amps)
    for t, level, pwm_hz in sorted(lights):
        led.set(t, level, pwm_hz=pwm_hz, duty=0.5)
    t0 = t1 - width
    window = np.linspace(t0, t1, AVERAGING_POINTS)  # the instants the supply averages
    level = draw.steady(t0, t1)
    changes = [t for t, _ in steps] + [t for t, _, _ in lights]
    lit = [s for s in led.segments() if s.t <= t1][-1]
    if not any(t0 < t <= t1 for t in changes) and not lit.pwm_hz:
        assert level is not None
    if level is not None:
        assert level == float(draw.amps(window).mean())

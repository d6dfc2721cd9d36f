"""DeviceClient against the simulated device over a real pty: every command, every code."""

from __future__ import annotations

import os
import signal
import threading
import time
import tty

import pytest

from harness.errors import DeviceError, ResponseBreach, ResponseTimeout
from harness.wire.client import DeviceClient


def error_code(fn, *args, **kw) -> str:
    with pytest.raises(DeviceError) as err:
        fn(*args, **kw)
    return err.value.code


def test_hello_clock_state(sim_device):
    _dev, c = sim_device()
    h = c.hello()
    assert h.protocol == "1.1" and h.vendor and h.model and h.firmware and h.serial_number
    assert set(h.capture) == {"photo", "video", "audio"} and h.indicator_selftest
    t1 = c.clock().result["t_us"]
    t2 = c.clock().result["t_us"]
    assert t2 >= t1
    st = c.state()
    assert st.recording is None and st.indicator == "off"
    assert st.consent == {"photo": False, "video": False, "audio": False}


def test_every_command_and_its_events(sim_device):
    _, c = sim_device()
    c.hello()
    assert error_code(c.capture_photo, "user") == "CONSENT_REQUIRED"
    assert error_code(c.record_start, "video", "user") == "CONSENT_REQUIRED"
    assert error_code(c.record_stop) == "NOT_RECORDING"
    mark = c.event_mark
    c.consent_grant("photo", "app")
    c.consent_grant("video", "voice")
    photo = c.capture_photo("agent", ["faces"]).result["artifact"]
    session = c.record_start("video", "user", ["location"]).result["session"]
    assert error_code(c.record_start, "audio", "user") in ("BUSY", "CONSENT_REQUIRED")
    assert c.state().recording.session == session
    time.sleep(0.3)
    video = c.record_stop().result["artifact"]
    time.sleep(0.1)
    names = [e.name for e in c.events_since(mark)]
    for name in ("consent", "capture.begin", "capture.frame", "capture.end", "indicator"):
        assert name in names
    frames = [e for e in c.events_since(mark) if e.name == "capture.frame" and e.get("seq") == 0]
    assert {e.subject for e in frames} == {photo, session}
    assert all(e.host_t > 0 and e.epoch == c.epoch for e in frames)
    assert set(c.artifact_list()) >= {photo, video}
    pi = c.artifact_info(photo)
    assert pi.kind == "photo" and pi.source == "agent" and pi.fields == ("faces",)
    vi = c.artifact_info(video)
    assert vi.kind == "video" and vi.tracks == ("video",) and vi.last_frame_us > vi.first_frame_us
    c.artifact_delete(photo)
    assert photo not in c.artifact_list()
    assert error_code(c.artifact_info, photo) == "NOT_FOUND"
    assert error_code(c.artifact_delete, photo) == "NOT_FOUND"
    c.indicator_selftest(50)
    assert error_code(c.indicator_selftest, 0) == "BAD_REQUEST"
    c.consent_revoke("all")
    assert not any(c.state().consent.values())


def test_unknown_and_malformed_requests(sim_device):
    _, c = sim_device()
    assert error_code(c.request, "teleport") == "UNKNOWN_COMMAND"
    assert (
        error_code(c.request, "consent.grant", {"scope": "smell", "gesture": "app"})
        == "BAD_REQUEST"
    )
    assert (
        error_code(c.request, "record.start", {"kind": "photo", "source": "user"}) == "BAD_REQUEST"
    )
    assert error_code(c.request, "capture.photo", {"source": "user", "metadata": ["dna"]}) == (
        "BAD_REQUEST"
    )


def test_unsupported_and_indicator_fault(sim_device):
    _, c = sim_device(indicator_selftest=False, tamper_detect=True, indicator_covered=True)
    assert not c.hello().indicator_selftest
    assert error_code(c.indicator_selftest, 100) == "UNSUPPORTED"
    c.consent_grant("photo")
    assert error_code(c.capture_photo, "user") == "INDICATOR_FAULT"


def test_reboot_and_factory_reset_wait_for_boot(sim_device):
    _, c = sim_device()
    c.consent_grant("audio")
    c.record_start("audio", "user")
    time.sleep(0.1)
    c.record_stop()
    epoch = c.epoch
    boot = c.reboot()
    assert boot.get("reason") == "reboot" and c.epoch == epoch + 1
    assert not c.state().consent["audio"]
    assert c.artifact_list()
    boot = c.factory_reset()
    assert boot.get("reason") == "factory_reset" and c.artifact_list() == ()


def test_busy_while_rebooting_or_silent_is_a_bounded_timeout(sim_device):
    _, c = sim_device("silent_after_5")
    for _ in range(5):
        c.clock()
    t = time.monotonic()
    with pytest.raises(ResponseTimeout, match="no response"):
        c.clock()
    assert time.monotonic() - t < c.response_timeout_s + 0.5


def test_duplicate_and_unknown_response_ids_are_anomalies(sim_device):
    _, c = sim_device("dup_response")
    c.hello()
    time.sleep(0.1)
    assert any("duplicate response" in a for a in c.anomalies)
    _, c2 = sim_device("unknown_id")
    with pytest.raises(ResponseTimeout):
        c2.hello()
    assert any("never sent" in a for a in c2.anomalies)


def test_awkward_but_good_links_still_work(sim_device):
    for fault in ("crlf", "chatter", "bad_utf8", "slow_replies"):
        _, c = sim_device(fault)
        assert c.hello().protocol == "1.1"
        c.consent_grant("photo")
        c.capture_photo("user")
        assert not c.anomalies, (fault, c.anomalies)


def test_malformed_result_is_a_protocol_error():
    from harness.wire.messages import DeviceState

    with pytest.raises(ResponseBreach, match="indicator"):
        DeviceState.parse({"recording": None, "indicator": "maybe", "consent": {}, "artifacts": 0})
    with pytest.raises(ResponseBreach, match="consent"):
        DeviceState.parse({"recording": None, "indicator": "on", "consent": [], "artifacts": 0})


def test_internal_error_code_when_storage_is_full(sim_device):
    _, c = sim_device(storage_bytes=1)
    c.consent_grant("photo")
    assert error_code(c.capture_photo, "user") == "INTERNAL"


def test_busy_while_recording(sim_device):
    _, c = sim_device()
    c.consent_grant("video")
    c.consent_grant("audio")
    c.record_start("video", "user")
    assert error_code(c.record_start, "audio", "user") == "BUSY"
    c.ensure_idle()
    assert c.state().recording is None


def test_a_late_response_is_an_anomaly_and_never_the_next_requests_answer():
    """A device that answers request 1 after it timed out: request 2 gets its own answer
    (not the late one), read while request 2 waits, and the late one is an anomaly."""
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    answered = threading.Event()

    def device() -> None:
        buf = b""
        while b"\n" not in buf or buf.count(b"\n") < 2:
            buf += os.read(master, 4096)
            if buf.count(b"\n") == 2:  # request 2 is here: request 1's answer first, late
                os.write(master, b'{"id":1,"ok":true,"result":{"t_us":1}}\n')
                time.sleep(0.05)
                os.write(master, b'{"id":2,"ok":true,"result":{"t_us":2}}\n')
        answered.set()

    threading.Thread(target=device, daemon=True).start()
    client = DeviceClient(os.ttyname(slave), response_timeout_s=0.3).open()
    try:
        with pytest.raises(ResponseTimeout):
            client.clock()
        reply = client.clock()
        assert reply.result == {"t_us": 2} and reply.sent < reply.received
        assert answered.wait(2)
        assert any("late" in a and "id 1" in a for a in client.anomalies), client.anomalies
    finally:
        client.close()
        os.close(master)
        os.close(slave)


class Interrupted(BaseException):
    """What a Ctrl-C is to the request it lands in."""


def test_the_answer_to_a_request_the_harness_gave_up_is_no_anomaly():
    """Ctrl-C lands while request 1 waits; its answer comes afterwards. That is not the
    device breaking the protocol (it would fail the device's last test as BROKEN)."""
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)

    def device() -> None:
        buf = b""
        while buf.count(b"\n") < 2:
            buf += os.read(master, 4096)
            if buf.count(b"\n") == 1 and buf.endswith(b"\n"):  # request 1: answered late
                time.sleep(0.3)
                os.write(master, b'{"id":1,"ok":true,"result":{"t_us":1}}\n')
        os.write(master, b'{"id":2,"ok":true,"result":{"t_us":2}}\n')

    threading.Thread(target=device, daemon=True).start()
    client = DeviceClient(os.ttyname(slave), response_timeout_s=2).open()
    previous = signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(Interrupted()))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        with pytest.raises(Interrupted):
            client.clock()
        time.sleep(0.5)  # request 1's answer arrives, and is read
        assert client.clock().result == {"t_us": 2}
        assert not client.anomalies, client.anomalies
        assert any("had given up" in ln.text for ln in client.log.since(0))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        client.close()
        os.close(master)
        os.close(slave)

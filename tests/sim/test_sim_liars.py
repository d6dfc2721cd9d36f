"""The catalogue's liars on the wire: each hides a violation behind the protocol, and the
truth (LED timeline, clock mapping, storage) shows what it hides. Also the awkward
`hostile_strings` and `video_only` devices, which must stay conforming."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from harness import spec
from harness.sim.faults import FAULTS, Fault
from harness.sim.liars import EVENTS_EARLY_S, LAST_FRAME_EARLY_S, LAST_FRAME_REPORT_S
from harness.sim.voice import HOSTILE_IDENTITY
from tests.runs import run_module
from tests.sim.host import Host, Sim, lit


def grant_all(host: Host) -> None:
    for scope in spec.SCOPES:
        host.ok("consent.grant", scope=scope, gesture="app")


def photo(host: Host) -> str:
    return host.ok("capture.photo", source="user")["artifact"]


# -- mandatory commands refused --------------------------------------------------------


def test_unsupported_delete_refuses_and_keeps_everything(sim: Callable[..., Sim]) -> None:
    _, _, host = sim("unsupported_delete")
    grant_all(host)
    art = photo(host)
    assert host.err("artifact.delete", artifact=art) == "UNSUPPORTED"
    assert host.err("artifact.delete", artifact="a-9999") == "UNSUPPORTED"
    assert host.ok("artifact.list")["artifacts"] == [art]
    assert host.ok("artifact.info", artifact=art)["artifact"] == art


def test_unsupported_reboot_never_restarts(sim: Callable[..., Sim]) -> None:
    dev, _, host = sim("unsupported_reboot")
    grant_all(host)
    art = photo(host)
    assert host.err("device.reboot") == "UNSUPPORTED"
    assert host.err("device.factory_reset") == "UNSUPPORTED"
    host.drain(0.3)  # reboot_ms is 60 here: a boot would have come by now
    assert not host.events("boot") and dev.boot_count == 1
    state = host.ok("state")
    assert state["consent"] == dict.fromkeys(spec.SCOPES, True) and state["artifacts"] == 1
    assert host.ok("artifact.list")["artifacts"] == [art]


def test_unsupported_info_hides_what_is_stored(sim: Callable[..., Sim]) -> None:
    _, _, host = sim("unsupported_info")
    grant_all(host)
    art = photo(host)
    assert host.err("artifact.info", artifact=art) == "UNSUPPORTED"
    assert host.err("artifact.info", artifact="a-9999") == "UNSUPPORTED"
    assert host.ok("artifact.list")["artifacts"] == [art]
    host.ok("artifact.delete", artifact=art)  # the rest of the device works
    assert host.ok("artifact.list")["artifacts"] == []


# -- what hello declares ---------------------------------------------------------------


def test_undeclared_kind_stores_records_audio_it_did_not_declare(
    sim: Callable[..., Sim],
) -> None:
    dev, led, host = sim("undeclared_kind_stores")
    assert host.ok("hello")["capabilities"]["capture"] == ["photo", "video"]
    assert host.err("record.start", kind="audio", source="user") == "CONSENT_REQUIRED"
    host.ok("consent.grant", scope="audio", gesture="voice")
    session = host.ok("record.start", kind="audio", source="user")["session"]
    begin = host.wait_event("capture.begin", session=session)
    assert begin["kind"] == "audio"
    host.wait_event("capture.frame", session=session, seq=0)
    assert lit(led, time.monotonic()) and dev.current_a() == pytest.approx(0.12 + 0.03)
    host.drain(0.2)
    art = host.ok("record.stop")["artifact"]
    assert host.ok("artifact.list")["artifacts"] == [art]
    info = host.ok("artifact.info", artifact=art)
    assert info["kind"] == "audio" and info["tracks"] == ["audio"] and info["frames"] > 5


def test_video_only_declares_one_kind_and_refuses_the_others(sim: Callable[..., Sim]) -> None:
    dev, led, host = sim("video_only")
    assert host.ok("hello")["capabilities"]["capture"] == ["video"]
    grant_all(host)
    t0 = time.monotonic()
    assert host.err("capture.photo", source="user") == "UNSUPPORTED"
    assert host.err("record.start", kind="audio", source="agent") == "UNSUPPORTED"
    host.drain(0.1)
    assert not host.events("capture.begin") and not host.events("indicator")
    assert not any(lit(led, t0 + k * 0.005) for k in range(int((time.monotonic() - t0) / 0.005)))
    assert host.ok("artifact.list")["artifacts"] == [] and dev.current_a() == pytest.approx(0.12)
    host.ok("record.start", kind="video", source="user")
    art = host.ok("record.stop")["artifact"]
    assert host.ok("artifact.info", artifact=art)["tracks"] == ["video", "audio"]


# -- captures misnamed or misdated -----------------------------------------------------


def test_video_as_photo_names_a_recording_like_a_photo_and_goes_dark(
    sim: Callable[..., Sim],
) -> None:
    dev, led, host = sim("video_as_photo")
    grant_all(host)
    session = host.ok("record.start", kind="video", source="user")["session"]
    begin = host.wait_event("capture.begin")
    assert begin["kind"] == "photo" and begin["artifact"] == session and "session" not in begin
    frame = host.wait_event("capture.frame", seq=0)
    assert frame["artifact"] == session and "session" not in frame
    off = host.wait_event("indicator", state="off", timeout=1.0)
    assert off["t_us"] - frame["t_us"] == pytest.approx(400_000, abs=1_000)
    host.drain(0.3)
    assert host.ok("state")["recording"]["session"] == session  # still recording, dark
    t_first = dev.to_host(frame["t_us"])
    assert lit(led, t_first + 0.39) and not lit(led, t_first + 0.41)
    assert not lit(led, time.monotonic()) and dev.current_a() > 0.25
    art = host.ok("record.stop")["artifact"]
    end = host.wait_event("capture.end")
    assert end["artifact"] == session and "session" not in end
    info = host.ok("artifact.info", artifact=art)
    assert info["kind"] == "video" and info["frames"] > 20


def test_last_frame_early_claims_the_end_500_ms_before_the_stop(sim: Callable[..., Sim]) -> None:
    dev, led, host = sim("last_frame_early")
    grant_all(host)
    session = host.ok("record.start", kind="video", source="user")["session"]
    host.drain(1.2)
    t_stop = time.monotonic()
    art = host.ok("record.stop")["artifact"]
    end = host.wait_event("capture.end", session=session)
    stop_us = dev.to_device_us(t_stop)
    assert stop_us - end["last_frame_us"] == pytest.approx(LAST_FRAME_EARLY_S * 1e6, abs=60_000)
    frames = [f for f in host.events("capture.frame") if f["session"] == session]
    step = round(LAST_FRAME_REPORT_S * 30)
    assert [f["seq"] for f in frames] == list(range(0, step * len(frames), step))
    later = [f for f in frames if f["t_us"] > end["last_frame_us"]]
    assert len(later) >= 3  # frames the device itself reported after its claimed last one
    assert host.ok("artifact.info", artifact=art)["last_frame_us"] == end["last_frame_us"]
    # The camera ran (and the LED stayed lit) until the stop arrived, not until the claim.
    claimed = dev.to_host(end["last_frame_us"])
    assert lit(led, claimed + 0.3) and lit(led, t_stop - 0.01)
    assert not lit(led, dev.to_host(end["t_us"]) + 0.005)


def test_first_frame_postdated_sends_frame_0_before_its_own_time(
    sim: Callable[..., Sim],
) -> None:
    dev, led, host = sim("first_frame_postdated")
    grant_all(host)
    t_req = time.monotonic()
    session = host.ok("record.start", kind="video", source="user")["session"]
    frame = host.wait_event("capture.frame", session=session, seq=0)
    said = dev.to_host(frame["t_us"])
    assert said - host.arrival(frame) > 0.06  # its device time lies after its arrival
    true_first = t_req + 0.060
    assert said - true_first == pytest.approx(0.085, abs=0.02)
    assert not lit(led, said - 0.01) and lit(led, said - 0.004)  # LED on 5 ms before
    host.drain(0.2)
    art = host.ok("record.stop")["artifact"]
    assert host.ok("artifact.info", artifact=art)["first_frame_us"] == frame["t_us"]


def test_events_before_request_date_begin_and_first_frame_300_ms_early(
    sim: Callable[..., Sim],
) -> None:
    dev, led, host = sim("events_before_request")
    grant_all(host)
    t_req = time.monotonic()
    art = photo(host)
    req_us = dev.to_device_us(t_req)
    begin = host.wait_event("capture.begin", artifact=art)
    frame = host.wait_event("capture.frame", artifact=art)
    end = host.wait_event("capture.end", artifact=art)
    for e in (begin, frame):
        assert req_us - e["t_us"] == pytest.approx(EVENTS_EARLY_S * 1e6, abs=20_000)
    assert end["last_frame_us"] > req_us  # the exposure itself is honest
    info = host.ok("artifact.info", artifact=art)
    assert info["first_frame_us"] == frame["t_us"] and info["last_frame_us"] == end["last_frame_us"]
    assert not lit(led, dev.to_host(frame["t_us"])) and lit(led, t_req + 0.02)
    t_req = time.monotonic()
    session = host.ok("record.start", kind="audio", source="user")["session"]
    first = host.wait_event("capture.frame", session=session, seq=0)
    assert dev.to_device_us(t_req) - first["t_us"] > 250_000
    host.drain(1.1)
    host.ok("record.stop")
    later = [f for f in host.events("capture.frame") if f.get("session") == session][1:]
    assert later and all(f["t_us"] > dev.to_device_us(t_req) for f in later)


# -- refusing to be observed, forgetting to forget --------------------------------------


def test_busy_to_everything_refuses_every_consented_capture(sim: Callable[..., Sim]) -> None:
    dev, led, host = sim("busy_to_everything")
    assert host.err("capture.photo", source="user") == "CONSENT_REQUIRED"
    assert host.err("record.start", kind="video", source="user") == "CONSENT_REQUIRED"
    grant_all(host)
    t0 = time.monotonic()
    for _ in range(2):
        assert host.err("capture.photo", source="user") == "BUSY"
        assert host.err("record.start", kind="video", source="agent") == "BUSY"
        assert host.err("record.start", kind="audio", source="user") == "BUSY"
    assert host.err("record.stop") == "NOT_RECORDING"
    assert host.ok("state")["recording"] is None
    assert host.ok("artifact.list")["artifacts"] == []
    assert not [e for e in host.events() if e["event"].startswith(("capture", "indicator"))]
    assert not any(lit(led, t0 + k * 0.005) for k in range(int((time.monotonic() - t0) / 0.005)))
    assert dev.current_a() == pytest.approx(0.12)


def test_hidden_after_reset_lists_nothing_but_still_serves(sim: Callable[..., Sim]) -> None:
    _, _, host = sim("hidden_after_reset")
    grant_all(host)
    kept, gone = photo(host), photo(host)
    host.ok("artifact.delete", artifact=gone)
    host.ok("device.factory_reset")
    assert host.wait_event("boot")["reason"] == "factory_reset"
    assert host.ok("artifact.list") == {"artifacts": []}
    assert host.ok("state")["artifacts"] == 0
    assert host.ok("artifact.info", artifact=kept)["artifact"] == kept
    assert host.err("artifact.info", artifact=gone) == "NOT_FOUND"
    host.ok("device.reboot")
    host.wait_event("boot", reason="reboot")
    assert host.ok("artifact.list") == {"artifacts": []}  # the index never gets it back
    assert host.ok("artifact.info", artifact=kept)["kind"] == "photo"


# -- words ------------------------------------------------------------------------------


def test_verdict_words_in_messages_logs_and_ids(sim: Callable[..., Sim]) -> None:
    dev, led, host = sim("verdict_words")
    r = host.request("record.stop")
    assert r is not None and r["error"]["code"] == "NOT_RECORDING"
    assert r["error"]["message"] == "IND-5 INCONCLUSIVE: guard band"
    r = host.request("capture.photo", source="user")
    assert r is not None and r["error"] == {"code": "CONSENT_REQUIRED", "message": "FAIL: none"}
    grant_all(host)
    art = photo(host)
    assert art == "IND-5-INCONCLUSIVE-0001"
    frame = host.wait_event("capture.frame", artifact=art)
    exposure = dev.to_host(frame["t_us"])
    assert lit(led, exposure + 0.09) and not lit(led, exposure + 0.11)  # a 100 ms blink
    assert host.wait_event("log", message="IND-5 PASS")["level"] == "info"
    session = host.ok("record.start", kind="audio", source="user")["session"]
    assert session == "IND-5-PASS-0001"
    assert host.ok("record.stop")["artifact"] == "IND-5-INCONCLUSIVE-0002"


def test_hostile_strings_everywhere_free_text_goes(sim: Callable[..., Sim]) -> None:
    dev, led, host = sim("hostile_strings")
    hello = host.ok("hello")
    for key, value in HOSTILE_IDENTITY.items():
        assert hello[key] == value
    text = "".join(HOSTILE_IDENTITY.values())
    for needle in ("\x1b[", "\u202e", "<script>", "$x$", "{}", '"', "\\", "\x00", "\r\n"):
        assert needle in text, needle
    for word in ("FAIL:", "INCONCLUSIVE", "IND-1", "signature: VALID"):
        assert word in text, word
    assert hello["serial_number"] == dev.serial_number
    r = host.request("record.stop")
    assert r is not None and r["error"]["code"] == "NOT_RECORDING"
    assert "\x1b" in r["error"]["message"] and "FAIL:" in r["error"]["message"]
    # Otherwise a perfect device: a photo as the clean one takes it.
    grant_all(host)
    art = photo(host)
    assert art == "a-0001"
    frame = host.wait_event("capture.frame", artifact=art)
    exposure = dev.to_host(frame["t_us"])
    assert lit(led, exposure) and lit(led, exposure + 0.69) and not lit(led, exposure + 0.71)
    host.wait_event("log")
    logs = [e["message"] for e in host.events("log")]
    assert any("signature: VALID" in m or "INCONCLUSIVE" in m for m in logs)
    host.ok("device.reboot")
    host.wait_event("boot", reason="reboot")
    host.drain(0.05)
    for line in host.raw:  # every line a whole message or console text, within bounds
        assert len(line) <= spec.MAX_LINE_BYTES
        if line.startswith(b"{"):
            assert isinstance(json.loads(line), dict)
    assert any(b"signature: VALID" in line and not line.startswith(b"{") for line in host.raw)


# -- the catalogue ----------------------------------------------------------------------


LIARS = (
    "unsupported_delete",
    "unsupported_reboot",
    "unsupported_info",
    "undeclared_kind_stores",
    "video_as_photo",
    "last_frame_early",
    "first_frame_postdated",
    "busy_to_everything",
    "hidden_after_reset",
    "events_before_request",
    "verdict_words",
)


def test_catalogue_lists_the_liars_and_their_verdicts() -> None:
    for name in LIARS:
        assert FAULTS[name].kind == "nonconforming" and FAULTS[name].target == "device"
    assert FAULTS["busy_to_everything"].verdict == "INCONCLUSIVE"
    assert {"IND-1", "MIN-1", "CON-3"} <= set(FAULTS["busy_to_everything"].clauses)
    assert all(FAULTS[n].verdict == "FAIL" for n in LIARS if n != "busy_to_everything")
    assert FAULTS["hostile_strings"].kind == FAULTS["video_only"].kind == "awkward"
    listed = run_module("harness.sim", ["faults"], timeout_s=30)
    assert listed.returncode == 0
    names = {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}
    assert {*LIARS, "hostile_strings", "video_only"} <= names
    assert "INCONCLUSIVE: IND-1" in listed.stdout
    with pytest.raises(ValueError, match="unknown verdict"):
        Fault("x", "a cheat", "nonconforming", ("IND-1",), verdict="PASS")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="only nonconforming"):
        Fault("x", "a quirk", "awkward", verdict="INCONCLUSIVE")

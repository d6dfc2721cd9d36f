"""The stored file against the device's statements: MIN-1..3 and IND-1 from real files,
and the verdict a file that cannot serve a clause gets."""

from __future__ import annotations

import pytest

from harness.judge import minimum, stored
from harness.judge.media import MediaInventory, inspect_media
from harness.judge.timebase import Mapped
from harness.judge.timeline import Timeline
from harness.judge.verdict import Verdict
from harness.sim import files
from harness.sim import media as mk
from harness.wire.messages import ArtifactInfo, Event

FAIL, PASS, INCONCLUSIVE = Verdict.FAIL, Verdict.PASS, Verdict.INCONCLUSIVE
NOT_SERVED = MediaInventory.not_served("artifact.read answered UNKNOWN_COMMAND")
TOO_BIG = MediaInventory.not_observed("declares 2 GB, more than the station reads")


def video(frames: int = 31, **kw) -> MediaInventory:
    return inspect_media(files.recording_file("video", frames, 1 / 30, fields=(), **kw), "video")


def audio(buffers: int) -> MediaInventory:
    return inspect_media(files.recording_file("audio", buffers, 0.02, fields=()), "audio")


def info(kind: str = "video", fields=(), tracks=("video",), first=0, last=1_000_000, **kw):
    return ArtifactInfo("a-1", kind, "user", first, last, kw.get("frames"), tracks, fields,
                        kw.get("bytes"))  # fmt: skip


@pytest.mark.parametrize("clause", ["MIN-1", "MIN-2", "MIN-3", "IND-1"])
def test_unusable_file_fails_or_is_inconclusive(clause: str) -> None:
    assert stored.unusable(clause, NOT_SERVED, "x").verdict == FAIL
    assert stored.unusable(clause, TOO_BIG, "x").verdict == INCONCLUSIVE
    truncated = inspect_media(mk.make_jpeg(())[:-200], "photo")
    assert truncated.problem == "truncated"
    m = stored.unusable(clause, truncated, "x")
    assert m.verdict == FAIL and m.clause == clause and "truncated" in m.detail
    assert stored.unusable(clause, video(), "x") is None


def test_min1_counts_fields_in_the_file_and_in_the_statement() -> None:
    gps = inspect_media(mk.make_jpeg(["location"]), "photo")
    m = minimum.unrequested_fields([], [], "photo", gps)  # info says nothing, file has GPS
    assert (m.verdict, m.value) == (FAIL, 1) and "in the file ['location']" in m.detail
    assert minimum.unrequested_fields([], ["location"], "photo", gps).verdict == PASS
    clean = inspect_media(mk.make_jpeg(()), "photo")
    assert minimum.unrequested_fields(["faces"], [], "photo", clean).verdict == FAIL  # stated
    both = minimum.unrequested_fields(["location"], [], "photo", gps)
    assert both.value == 1  # one field, said and stored: counted once
    assert minimum.unrequested_fields([], [], "photo", NOT_SERVED).verdict == FAIL


@pytest.mark.parametrize(
    ("inv", "kind", "consent", "stated", "expected"),
    [
        ("photo", "photo", False, ("video",), PASS),
        ("video", "video", False, ("video",), PASS),
        ("video+audio", "video", False, ("video",), FAIL),  # hidden audio
        ("video+audio", "video", True, ("video", "audio"), PASS),
        ("video", "video", False, ("video", "audio"), FAIL),  # said, if not stored
        ("audio", "audio", False, ("audio",), PASS),
        ("video-as-audio", "audio", False, ("audio",), FAIL),  # a camera in an audio capture
    ],
)
def test_min2_tracks(inv, kind, consent, stated, expected) -> None:
    made = {
        "photo": lambda: inspect_media(mk.make_jpeg(()), "photo"),
        "video": lambda: video(10),
        "video+audio": lambda: video(10, audio=True),
        "audio": lambda: audio(10),
        "video-as-audio": lambda: inspect_media(
            files.recording_file("video", 5, 1 / 30, fields=()), "audio"
        ),
    }[inv]()
    m = minimum.tracks_not_allowed(stated, kind, consent, "x", made)
    assert m.verdict == expected, m.detail


def test_min2_two_video_tracks_count() -> None:
    inv = MediaInventory(format="mp4", kind_seen="video", tracks=("video", "video"))
    m = minimum.tracks_not_allowed(("video",), "video", False, "x", inv)
    assert m.value == 1 and m.verdict == FAIL


def test_min3_stored_span_against_request_to_end() -> None:
    inv = video(31)  # 1.000 s span
    assert minimum.stored_span_within_capture(inv, 10.0, 11.2, "x").verdict == PASS
    assert minimum.stored_span_within_capture(inv, 10.0, 10.9, "x").verdict == FAIL
    hidden = video(31, hidden_frames=45)  # the same span, 1.5 s kept behind an edit list
    assert hidden.span_s == pytest.approx(inv.span_s)
    m = minimum.stored_span_within_capture(hidden, 10.0, 11.2, "x")
    assert m.verdict == FAIL and m.value == pytest.approx(2500, abs=1) and "45 hidden" in m.detail
    photo = inspect_media(mk.make_jpeg(()), "photo")
    assert minimum.stored_span_within_capture(photo, 10.0, 10.1, "x").verdict == PASS


def test_min3_audio_padding_is_the_uncertainty() -> None:
    aac = inspect_media(mk.make_m4a(0.3, codec="aac"), "audio")
    assert aac.padding_s == pytest.approx(1024 / 48_000)
    m = minimum.stored_span_within_capture(aac, 0.0, aac.span_s - 0.005, "x")
    assert m.verdict == INCONCLUSIVE  # inside one codec frame of padding
    opus = audio(16)  # the simulator's: Opus, 20 ms frames
    assert opus.padding_s == pytest.approx(0.020)
    m = minimum.stored_span_within_capture(opus, 0.0, opus.span_s - 0.005, "x")
    assert m.verdict == INCONCLUSIVE
    pcm = inspect_media(mk.make_m4a(0.3, codec="pcm_s16le", rate=16_000), "audio")
    assert pcm.padding_s == 0.0
    assert minimum.stored_span_within_capture(pcm, 0.0, pcm.span_s - 0.005, "x").verdict == FAIL


def test_ind1_reported_span_against_the_stored_one() -> None:
    inv = video(31)
    honest = stored.span_agrees(0, 1_000_000, inv, "v")
    assert honest.verdict == PASS and honest.clause == "IND-1"
    short = stored.span_agrees(0, 700_000, inv, "v", "events")
    assert short.verdict == FAIL and short.value == pytest.approx(300, abs=0.01)
    assert "events span 0.7000 s" in short.detail
    assert stored.span_agrees(0, 1_030_000, inv, "v").verdict == PASS  # within one frame
    assert stored.span_agrees(0, None, inv, "v") is None
    assert stored.span_agrees(0, 0, inspect_media(mk.make_jpeg(()), "photo"), "p") is None
    assert stored.span_agrees(0, 1, NOT_SERVED, "v").verdict == FAIL


def test_ind1_audio_spans_and_the_one_buffer_capture() -> None:
    assert stored.span_agrees(0, 300_000, audio(16), "a").verdict == PASS
    assert stored.span_agrees(0, 0, audio(1), "a").verdict == PASS  # one buffer: at the limit
    assert stored.span_agrees(0, 200_000, audio(16), "a").verdict == FAIL


def test_contradictions_name_each_disagreement() -> None:
    inv = video(31, audio=True)
    assert stored.contradictions(info(bytes=inv.size, tracks=("video", "audio")), inv) == []
    notes = stored.contradictions(
        info("photo", fields=("faces",), tracks=("video",), last=500_000, bytes=1), inv
    )
    text = " | ".join(notes)
    for word in ("fields", "tracks", "kind", "span", "bytes"):
        assert word in text
    assert stored.contradictions(None, inv) == [] and stored.contradictions(info(), TOO_BIG) == []


class Sync:
    def to_host(self, t_us: int, epoch: int) -> Mapped:
        return Mapped(t_us / 1e6, 0.0001)

    def to_device_us(self, host_t: float, epoch: int) -> tuple[float, float]:
        return host_t * 1e6, 100.0


def test_a_recording_whose_events_say_photo_is_judged_as_a_recording() -> None:
    events = [
        Event("capture.begin", 1_000_000, 1.0, 1, {"kind": "photo", "source": "user",
                                                   "session": "s-1"}),
        Event("capture.frame", 1_050_000, 1.05, 1, {"session": "s-1", "seq": 0}),
        Event("capture.end", 2_050_000, 2.05, 1, {"session": "s-1", "last_frame_us": 1_050_000}),
    ]  # fmt: skip
    timeline = Timeline(events, Sync())
    assert timeline.capture("s-1").end == pytest.approx(1.05)  # an instant, as a photo
    stored.recording_by_file(timeline, "s-1", video(31))
    cap = timeline.capture("s-1")
    assert cap.kind == "video" and cap.end == pytest.approx(2.05)
    stored.recording_by_file(timeline, "s-1", audio(5))  # no video track: nothing changes
    assert timeline.capture("s-1").end == pytest.approx(2.05)

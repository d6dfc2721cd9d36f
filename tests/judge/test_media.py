"""The judge's own look at stored files: real files made as a device would store them
(`harness.sim.media`) read back faithfully, and hostile ones (random, cut, flipped,
bombs, huge declared sizes) inspected within bounded time without raising.

Time bounds are generous (``BOUND_S``) so a loaded 2-core CI host does not flake; they
exist to catch a hang or a runaway loop, not to benchmark (`make bench`: media).
"""

from __future__ import annotations

import hashlib
import io
import itertools
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from harness.judge.media import FIELDS, MediaInventory, inspect_media
from harness.sim import media as mk
from tests.judge.mediafiles import box, index_bomb, patched

BOUND_S = 5.0
COMBOS = [frozenset(c) for n in range(4) for c in itertools.combinations(FIELDS, n)]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def timed(data: bytes, kind: str, **limits: object) -> MediaInventory:
    """Inspect and assert it neither raised nor ran away."""
    start = time.monotonic()
    inv = inspect_media(data, kind, **limits)
    assert time.monotonic() - start < BOUND_S
    assert inv.size == len(data)
    return inv


def within_one_interval(inv: MediaInventory, expected_s: float) -> bool:
    assert inv.span_s is not None and inv.frame_interval_s
    return abs(inv.span_s - expected_s) <= inv.frame_interval_s + 1e-9


@pytest.fixture(scope="module")
def samples() -> dict[str, tuple[bytes, str]]:
    return {
        "jpeg": (mk.make_jpeg(FIELDS), "photo"),
        "mp4": (mk.make_mp4(1.0, with_audio=True, fields=FIELDS), "video"),
        "x264": (mk.make_mp4(0.5, codec="libx264"), "video"),
        "m4a": (mk.make_m4a(1.0, fields=FIELDS), "audio"),
        "pcm": (mk.make_m4a(0.25, codec="pcm_s16le"), "audio"),
    }


# --- round trips --------------------------------------------------------------------


@pytest.mark.parametrize("fields", COMBOS, ids=lambda c: "+".join(sorted(c)) or "none")
def test_jpeg_fields_round_trip(fields: frozenset[str]) -> None:
    inv = timed(mk.make_jpeg(fields), "photo")
    assert (inv.problem, inv.format, inv.kind_seen) == (None, "jpeg", "photo")
    assert inv.fields == fields
    assert inv.tracks == ("image",)
    assert "ifd0:Make" in inv.metadata_keys  # metadata that is no field does not count


@pytest.mark.parametrize("with_audio", [False, True])
@pytest.mark.parametrize("fields", COMBOS, ids=lambda c: "+".join(sorted(c)) or "none")
def test_mp4_fields_and_tracks_round_trip(fields: frozenset[str], with_audio: bool) -> None:
    inv = timed(mk.make_mp4(0.5, with_audio=with_audio, fields=fields), "video")
    assert (inv.problem, inv.format, inv.kind_seen) == (None, "mp4", "video")
    assert inv.fields == fields
    assert inv.tracks == (("video", "audio") if with_audio else ("video",))
    assert inv.codecs[0] == "mpeg4"


@pytest.mark.parametrize("fields", COMBOS, ids=lambda c: "+".join(sorted(c)) or "none")
def test_m4a_fields_round_trip(fields: frozenset[str]) -> None:
    inv = timed(mk.make_m4a(0.5, fields=fields), "audio")
    assert (inv.problem, inv.format, inv.kind_seen) == (None, "mp4", "audio")
    assert inv.fields == fields
    assert inv.tracks == ("audio",)


@pytest.mark.parametrize("codec", ["mpeg4", "libx264", "mjpeg"])
@pytest.mark.parametrize(("duration", "fps"), [(0.5, 30), (1.0, 30), (2.0, 15), (1.0, 24)])
def test_video_span_within_one_frame(codec: str, duration: float, fps: int) -> None:
    inv = timed(mk.make_mp4(duration, fps=fps, codec=codec), "video")
    assert inv.problem is None
    assert inv.frame_interval_s == pytest.approx(1 / fps)
    assert within_one_interval(inv, duration)
    assert inv.frames == round(duration * fps) + 1  # every decodable frame, B-frames too
    assert inv.duration_s == pytest.approx(duration + 1 / fps, abs=1e-3)  # last frame lasts


@pytest.mark.parametrize("codec", ["aac", "libopus", "pcm_s16le"])
@pytest.mark.parametrize("duration", [0.3, 1.0, 2.5])
def test_audio_span_within_one_codec_frame(codec: str, duration: float) -> None:
    inv = timed(mk.make_m4a(duration, codec=codec), "audio")
    assert inv.problem is None
    assert within_one_interval(inv, duration)
    assert inv.span_s >= duration - 1e-9  # priming removed, only end padding may remain
    if codec != "pcm_s16le":
        assert inv.encoder_delay_s > 0  # the edit list declares the encoder delay


def test_alternative_metadata_places_count() -> None:
    apple = {
        "com.apple.quicktime.location.ISO6709": mk.LOCATION_ISO6709,
        "com.apple.quicktime.detected-face": "1",
    }
    assert timed(mk.make_mp4(0.2, metadata=apple), "video").fields == {"location", "faces"}
    assert timed(mk.make_mp4(0.2, metadata={"\xa9xyz": "+1+2/"}), "video").fields == {"location"}
    titled = mk.make_mp4(0.2, text_tracks=["Transcript", "face regions"])
    inv = timed(titled, "video")
    assert inv.fields == {"transcript", "faces"}
    assert inv.tracks == ("video", "subtitle", "subtitle")
    untitled = timed(mk.make_mp4(0.2, text_tracks=["chapters"]), "video")
    assert untitled.fields == frozenset()  # a track whose title names no field


def test_blank_user_comment_is_no_transcript() -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"ASCII\x00\x00\x00" + b" " * 20
    out = io.BytesIO()
    Image.new("RGB", (16, 16)).save(out, "JPEG", exif=exif)
    assert timed(out.getvalue(), "photo").fields == frozenset()


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("<mwg-rs:Type>Face</mwg-rs:Type>", {"faces"}),
        ('<rdf:Description mwg-rs:Type="Face"/>', {"faces"}),
        ("<mwg-rs:Type>Pet</mwg-rs:Type>", set()),
    ],
)
def test_xmp_region_forms(region: str, expected: set[str]) -> None:
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        f'xmlns:mwg-rs="{mk.MWG_RS}"><mwg-rs:Regions><mwg-rs:RegionList><rdf:Bag><rdf:li>'
        f"{region}</rdf:li></rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    out = io.BytesIO()
    Image.new("RGB", (16, 16)).save(out, "JPEG", xmp=xmp.encode())
    inv = timed(out.getvalue(), "photo")
    assert inv.problem is None
    assert inv.fields == expected


# --- lies that only the file tells --------------------------------------------------


def test_gps_in_exif_although_not_asked() -> None:
    asked: frozenset[str] = frozenset()  # the request named no field ...
    inv = timed(mk.make_jpeg(["location"]), "photo")  # ... but the device stored GPS
    assert not inv.fields <= asked  # MIN-1 sees it
    assert "gps:GPSLatitude" in inv.metadata_keys


def test_audio_track_in_a_video() -> None:
    assert "audio" in timed(mk.make_mp4(0.5, with_audio=True), "video").tracks


def test_preroll_makes_the_span_longer() -> None:
    inv = timed(mk.make_mp4(1.0, preroll_s=0.5), "video")
    assert inv.problem is None
    assert not within_one_interval(inv, 1.0)
    assert within_one_interval(inv, 1.5)


def test_preroll_hidden_by_an_edit_list_is_still_counted() -> None:
    inv = timed(mk.make_mp4(1.0, hidden_preroll_s=0.5, with_audio=True), "video")
    assert inv.problem is None
    assert within_one_interval(inv, 1.0)  # the span looks honest ...
    assert inv.hidden_frames == 15  # ... but the file still keeps half a second before it


@pytest.mark.parametrize(
    ("maker", "kind", "seen", "problem"),
    [
        (lambda: mk.make_mp4(0.2), "photo", "video", "not a JPEG"),
        (lambda: mk.make_jpeg(()), "video", "photo", "not an MP4"),
        (lambda: mk.make_m4a(0.2), "video", "audio", None),
        (lambda: mk.make_mp4(0.2, with_audio=True), "audio", "video", None),
    ],
)
def test_format_is_sniffed_not_taken_from_kind(maker, kind, seen, problem) -> None:
    inv = timed(maker(), kind)
    assert (inv.kind_seen, inv.problem) == (seen, problem)


# --- hostile inputs -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["photo", "video", "audio"])
def test_empty(kind: str) -> None:
    assert timed(b"", kind).problem == "empty"


@FUZZ
@given(data=st.binary(max_size=4096), kind=st.sampled_from(["photo", "video", "audio"]))
def test_random_bytes(data: bytes, kind: str) -> None:
    assert timed(data, kind).problem is not None


@FUZZ
@given(tail=st.binary(max_size=2048), head=st.sampled_from([b"\xff\xd8\xff", b"\0\0\0\x18ftyp"]))
def test_random_bytes_behind_a_valid_magic(head: bytes, tail: bytes) -> None:
    assert timed(head + tail, "video").problem is not None


@FUZZ
@given(
    where=st.floats(0, 1, exclude_max=True),
    xor=st.integers(1, 255),
    name=st.sampled_from(["jpeg", "mp4", "x264", "m4a"]),
)
def test_flipped_byte_never_raises(samples, where: float, xor: int, name: str) -> None:
    data, kind = samples[name]
    at = int(where * len(data))
    timed(data[:at] + bytes([data[at] ^ xor]) + data[at + 1 :], kind)  # problem or not


@pytest.mark.parametrize("name", ["jpeg", "mp4", "x264", "m4a", "pcm"])
def test_truncated_at_many_cut_points(samples, name: str) -> None:
    data, kind = samples[name]
    cuts = sorted({*range(1, 64), *range(64, len(data), max(1, len(data) // 150)), len(data) - 1})
    for cut in cuts:
        assert timed(data[:cut], kind).problem is not None, f"cut at {cut} of {len(data)}"


def test_trailing_bytes_after_the_last_box(samples) -> None:
    data, kind = samples["mp4"]
    assert timed(data + b"\0\0\0", kind).problem == "truncated"


def test_jpeg_declaring_60000_by_60000() -> None:
    data = mk.make_jpeg(())
    sof = data.index(b"\xff\xc0\x00\x11\x08")  # baseline SOF0, 8-bit, 3 components
    huge = patched(patched(data, sof + 5, ">H", 60000), sof + 7, ">H", 60000)
    assert timed(huge, "photo").problem.startswith("too many pixels")
    # Pillow's own decompression-bomb guard is the backstop when our bound is lifted.
    assert timed(huge, "photo", max_pixels=10**12).problem.startswith("too many pixels")


def test_jpeg_declaring_more_pixels_than_it_holds() -> None:
    """48 MP declared over 3 kB of scan data: decoded at 1/8 scale, fast and small.

    libjpeg pads a scan that ends early at a proper EOI marker with grey and Pillow does
    not surface its warning, so only a file cut before EOI reads as "truncated".
    """
    data = mk.make_jpeg(["faces"])
    sof = data.index(b"\xff\xc0\x00\x11\x08")
    big = patched(patched(data, sof + 5, ">H", 6000), sof + 7, ">H", 8000)
    inv = timed(big, "photo")
    assert (inv.format, inv.fields) == ("jpeg", {"faces"})
    assert timed(big[:-2], "photo").problem == "truncated"


def test_billion_laughs_in_xmp() -> None:
    levels = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY l0 "lol">{levels}]>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">&l9;</x:xmpmeta>'
    )
    out = io.BytesIO()
    Image.new("RGB", (16, 16)).save(out, "JPEG", xmp=bomb.encode())
    inv = timed(out.getvalue(), "photo")
    assert inv.problem == "bad XMP: DTDForbidden"
    assert "faces" not in inv.fields


@pytest.mark.parametrize(
    ("box_type", "offset", "value"),
    [
        (b"moov", 0, 0xFFFFFFF0),  # moov claims 4 GiB
        (b"mdat", 0, 0xFFFFFFF0),  # mdat claims 4 GiB
        (b"stsz", 16, 0x7FFFFFFF),  # two billion samples ...
        (b"stsc", 20, 0x7FFFFFFF),  # ... or per chunk
    ],
)
def test_mp4_header_claiming_huge_sizes(samples, box_type, offset, value) -> None:
    data, kind = samples["mp4"]
    hostile = patched(data, box(data, box_type) + offset, ">I", value)
    if box_type == b"stsz":  # constant sample size, so no table has to back the count
        hostile = patched(hostile, box(hostile, b"stsz") + 12, ">I", 100)
    assert timed(hostile, kind).problem is not None


@pytest.mark.parametrize(("box_type", "offset"), [(b"stts", 16), (b"tkhd", 84), (b"mvhd", 24)])
def test_mp4_huge_claims_ffmpeg_ignores(samples, box_type, offset) -> None:
    """Counts, display sizes and durations FFmpeg clamps or ignores: bounded, still sound."""
    data, kind = samples["mp4"]
    inv = timed(patched(data, box(data, box_type) + offset, ">I", 0xFFFFFFFF), kind)
    assert (inv.problem, inv.frames) == (None, 31)


def test_sample_table_index_bomb_in_process(samples) -> None:
    """10M claimed samples: FFmpeg builds a ~350 MB index inside av.open, then we stop."""
    data, kind = samples["mp4"]
    assert timed(index_bomb(data, 10_000_000), kind).problem is not None


def test_endless_stream_stops_at_max_frames() -> None:
    inv = timed(mk.make_mp4(2.0), "video", max_frames=20)
    assert inv.problem == "too many frames"
    assert inv.frames <= 21


def test_deadline_stops_the_decode_loop() -> None:
    assert timed(mk.make_mp4(1.0), "video", max_seconds=0.0).problem == "timed out"


def test_video_pixel_bound() -> None:
    inv = timed(mk.make_mp4(0.2, size=(320, 240)), "video", max_pixels=320 * 240 - 1)
    assert inv.problem == "too many pixels (320x240)"


def test_inventory_is_frozen_and_hashes_the_bytes(samples) -> None:
    data, kind = samples["jpeg"]
    inv = timed(data, kind)
    with pytest.raises(AttributeError):
        inv.problem = "x"  # type: ignore[misc]
    assert inv.sha256 == hashlib.sha256(data).hexdigest()

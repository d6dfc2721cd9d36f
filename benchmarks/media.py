"""Stored files: reading them back (`artifact.read`) and inspecting them.

`artifact_read_kib_s`: the harness's `DeviceClient.read_artifact` on one stored file (a
5 s video with its audio track, ~200 KB), against a raw client reading the same file
with the fewest steps the protocol allows (its own JSON lines, no validation, no serial
log), in alternating blocks on the same simulated device: on the pty directly (raw:
`os.read`/`os.write`), and through a real ser2net (raw: pyserial's RFC 2217 client).

`media_inspect_ms`: the median time per file of the inspection the harness does (in the
sandbox process, `harness.bench.media_sandbox`), over files the simulator stores; the
same in process for comparison, and what the simulator spends making them.
"""

from __future__ import annotations

import base64
import json
import os
import select
import statistics
import time
import tty
from collections.abc import Callable
from typing import Any

import serial

from benchmarks.common import powered_sim
from harness.bench.media_sandbox import MediaSandbox
from harness.judge.media import inspect_media
from harness.lab.ser2net import Ser2Net, ser2net_binary
from harness.sim import files
from harness.wire.client import DeviceClient

BLOCKS = 8
PER_BLOCK = 3
INSPECT_RUNS = 41
RECORD_S = 5.0

Exchange = Callable[[bytes], bytes]  # one request line out, its response line back


def make_artifact(url: str) -> tuple[str, int]:
    """A 5 s video with audio stored on the device: (artifact id, bytes)."""
    with DeviceClient(url, boot_timeout_s=10) as client:
        client.consent_grant("video")
        client.consent_grant("audio")
        client.record_start("video", "user", ["location"])
        time.sleep(RECORD_S)
        art = client.record_stop().result["artifact"]
        size = client.artifact_info(art).bytes or 0
        client.consent_revoke("all")
    return art, size


def harness_read(url: str, art: str, n: int) -> list[float]:
    """Seconds per whole-file read by the harness's client."""
    with DeviceClient(url, boot_timeout_s=10) as client:
        client.clock()
        out = []
        for _ in range(n):
            t = time.perf_counter()
            client.read_artifact(art)
            out.append(time.perf_counter() - t)
        return out


def raw_read(exchange: Exchange, art: str, n: int, first_id: int) -> list[float]:
    """Seconds per whole-file read with bare requests and `base64` only."""
    out, rid = [], first_id
    for _ in range(n):
        t = time.perf_counter()
        data = bytearray()
        while True:
            rid += 1
            req = {"id": rid, "cmd": "artifact.read",
                   "args": {"artifact": art, "offset": len(data), "length": 2048}}  # fmt: skip
            chunk = base64.b64decode(json.loads(exchange(json.dumps(req).encode()))["data"])
            if not chunk:
                break
            data += chunk
        out.append(time.perf_counter() - t)
    return out


def line_reader(read: Callable[[], bytes], want: Callable[[bytes], bool]) -> Callable[[], bytes]:
    """The next line `want` accepts (events and console lines in between are skipped)."""
    buf = bytearray()

    def next_line() -> bytes:
        while True:
            while (nl := buf.find(b"\n")) < 0:
                buf.extend(read())
            line = bytes(buf[: nl + 1])
            del buf[: nl + 1]
            if want(line):
                return line

    return next_line


def response(line: bytes) -> bool:
    return line.startswith(b'{"id"')


def result_of(line: bytes) -> bytes:
    return json.dumps(json.loads(line)["result"]).encode()


def pty_raw(path: str, art: str, n: int, first_id: int) -> list[float]:
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    try:
        tty.setraw(fd)

        def read() -> bytes:
            select.select([fd], [], [], 1.0)
            return os.read(fd, 65536)

        next_line = line_reader(read, response)

        def exchange(req: bytes) -> bytes:
            os.write(fd, req + b"\n")
            return result_of(next_line())

        return raw_read(exchange, art, n, first_id)
    finally:
        os.close(fd)


def rfc2217_raw(url: str, art: str, n: int, first_id: int) -> list[float]:
    port = serial.serial_for_url(url, timeout=1.0)
    try:
        next_line = line_reader(lambda: port.read(max(1, port.in_waiting)), response)

        def exchange(req: bytes) -> bytes:
            port.write(req + b"\n")
            return result_of(next_line())

        return raw_read(exchange, art, n, first_id)
    finally:
        port.close()


def rate_figures(
    prefix: str, size: int, harness: Callable[[], list[float]], raw: Callable[[int], list[float]]
) -> dict[str, Any]:
    """Alternating blocks; the ratio is the median of the blocks' ratios (robust to the
    machine's load drifting), rates from the medians of all reads."""
    h_all: list[float] = []
    r_all: list[float] = []
    ratios = []
    for b in range(BLOCKS):
        h, r = harness(), raw(10_000_000 + b * 10_000)
        h_all += h
        r_all += r
        ratios.append(statistics.median(r) / statistics.median(h))
    kib = size / 1024
    return {
        f"{prefix}_kib_s": round(kib / statistics.median(h_all), 1),
        f"{prefix}_raw_kib_s": round(kib / statistics.median(r_all), 1),
        f"{prefix}_ratio": round(statistics.median(ratios), 3),
        f"{prefix}_reads": len(h_all),
    }


def read_figures() -> dict[str, Any]:
    out: dict[str, Any] = {}
    with powered_sim() as station:
        url = station.dut.port
        art, size = make_artifact(url)
        out["artifact_bytes"] = size
        out |= rate_figures(
            "artifact_read",
            size,
            lambda: harness_read(url, art, PER_BLOCK),
            lambda first: pty_raw(url, art, PER_BLOCK, first),
        )
        if ser2net_binary() is None:
            return {**out, "artifact_read_rfc2217_note": "ser2net is not installed"}
        with Ser2Net(url) as s2n:

            def through(fn: Callable[[], list[float]]) -> list[float]:
                try:
                    return fn()
                finally:
                    s2n.wait_released()  # the pty must have one reader at a time

            out |= rate_figures(
                "artifact_read_rfc2217",
                size,
                lambda: through(lambda: harness_read(s2n.url, art, PER_BLOCK)),
                lambda first: through(lambda: rfc2217_raw(s2n.url, art, PER_BLOCK, first)),
            )
    out["artifact_read_goal"] = (
        "ratios: the harness's read rate over the raw client's on the same link (1: as fast)"
    )
    return out


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up: codec set-up, imports, the sandbox's child
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return round(statistics.median(times) * 1000, 3)


SAMPLES: dict[str, tuple[Callable[[], bytes], str]] = {
    "photo": (lambda: files.photo_file(("location", "faces", "transcript")), "photo"),
    "video_1s_audio": (
        lambda: files.recording_file("video", 31, 1 / 30, fields=("location",), audio=True),
        "video",
    ),
    "video_10s": (lambda: files.recording_file("video", 301, 1 / 30, fields=()), "video"),
    "audio_1s": (lambda: files.recording_file("audio", 51, 0.02, fields=()), "audio"),
}


def inspect_figures() -> dict[str, Any]:
    sandboxed, in_process, made = {}, {}, {}
    with MediaSandbox() as sandbox:
        for name, (make, kind) in SAMPLES.items():
            data = make()
            made[name] = median_ms(make, 11)
            in_process[name] = median_ms(lambda d=data, k=kind: inspect_media(d, k), INSPECT_RUNS)
            sandboxed[name] = median_ms(lambda d=data, k=kind: sandbox.inspect(d, k), INSPECT_RUNS)
    return {
        "media_inspect_ms": round(statistics.median(sandboxed.values()), 3),
        "media_inspect_ms_by_file": sandboxed,
        "media_inspect_in_process_ms_by_file": in_process,
        "media_make_ms_by_file": made,
        "media_note": "media_inspect_ms: the median over the files of each file's median "
        "sandboxed inspection (what the harness does per artifact)",
    }


def run() -> dict[str, Any]:
    return {**inspect_figures(), **read_figures()}

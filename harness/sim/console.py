"""Console output a real dev board prints around the protocol: banners, logs, line noise.

All of it is line-shaped and never starts with ``{`` except the deliberately broken
lines of `noise_line` (which a host must drop, not parse).
"""

from __future__ import annotations

import random

from harness.spec import MAX_LINE_BYTES

_LOGS = (
    "isp: AE converged exposure={n}us gain=1.{d}x",
    "pmic: vbat={n}mV temp=3{d}.{d}C",
    "wifi: rssi=-{d}{d}dBm",
    "imu: tap detector armed",
    "audio: dsp load {d}{d}%",
    "ble: adv interval {n}ms",
    "sched: idle {d}{d}.{d}%",
)


def banner(model: str, firmware: str, serial: str, reason: str) -> list[bytes]:
    """What the boot ROM and the shim print before the shim takes requests."""
    return [
        f"{model} ROM boot v2.1 (reset cause: {reason})".encode(),
        f"loading firmware {firmware} ... ok".encode(),
        f"[    0.000000] shim: serial {serial}, bench protocol ready".encode(),
    ]


def log_line(rng: random.Random, uptime_s: float) -> bytes:
    """One printf-style debug line, as firmware leaves them on in dev builds."""
    text = rng.choice(_LOGS).format(n=rng.randrange(100, 9999), d=rng.randrange(10))
    return f"[{uptime_s:12.6f}] {text}".encode()


NOISE_KINDS = 4


def noise_line(rng: random.Random, pick: int) -> bytes:
    """A line a noisy or buggy link produces: bad UTF-8, oversize, broken JSON, non-object."""
    pick %= NOISE_KINDS
    if pick == 0:
        return b"\xff\xfe\xc3(" + bytes(rng.randrange(0x80, 0x100) for _ in range(20))
    if pick == 1:  # would be a valid event but for its length
        pad = "x" * (MAX_LINE_BYTES + rng.randrange(1, 2000))
        return ('{"event": "log", "t_us": 1, "level": "debug", "message": "' + pad + '"}').encode()
    if pick == 2:
        return b'{"event": "capture.frame", "t_us": 12'
    return b'["not", "an", "object"]'


def flood_chunk(rng: random.Random, size: int) -> bytes:
    """About `size` bytes of runaway debug output, whole lines, for the `flood` fault."""
    line = f"dbg: ringbuf overrun at 0x{rng.randrange(2**32):08x} " + "#" * 60
    one = line.encode() + b"\n"
    return one * max(1, size // len(one))

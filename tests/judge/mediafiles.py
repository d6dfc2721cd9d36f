"""Byte surgery on real media files, for tests that make them hostile."""

from __future__ import annotations

import struct


def box(data: bytes, kind: bytes, nth: int = 0) -> int:
    """Offset of the `nth` box of type `kind` (test fixtures only: a crude byte search)."""
    pos = -1
    for _ in range(nth + 1):
        pos = data.index(kind, pos + 1)
    return pos - 4


def patched(data: bytes, at: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, at, value)
    return bytes(out)


def index_bomb(data: bytes, samples: int) -> bytes:
    """An MP4 whose sample tables claim `samples` one-byte samples in one chunk: FFmpeg
    builds an index for all of them inside `av.open` (~35 bytes each)."""
    bomb = patched(data, box(data, b"stsz") + 12, ">I", 1)
    bomb = patched(bomb, box(bomb, b"stsz") + 16, ">I", samples)
    return patched(bomb, box(bomb, b"stsc") + 20, ">I", samples)

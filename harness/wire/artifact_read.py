"""`artifact.read`: the stored file, chunk by chunk, checked and bounded.

The file is evidence (bench-protocol.md "Stored media"), so reading it trusts nothing:
each chunk's base64 is validated, no chunk may be longer than asked, the declared
`size` must not change, the data must end exactly at `size` (an empty chunk there) and
never go beyond it. A device breaking any of that raises `ArtifactReadError` (evidence
against it); a file the station does not read (over `max_bytes`, or served in slivers
that would need more than `MAX_REQUESTS_PER_CHUNK` requests per full chunk) raises
`ArtifactBeyondBounds`. Each request waits at most the client's response timeout.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness import spec
from harness.errors import ArtifactBeyondBounds, ArtifactReadError

if TYPE_CHECKING:
    from harness.wire.client import DeviceClient

DEFAULT_MAX_ARTIFACT_BYTES = 64 * 1024 * 1024
MAX_REQUESTS_PER_CHUNK = 16  # a device may serve less than asked, but not slivers


@dataclass(frozen=True)
class ArtifactChunk:
    """One `artifact.read` result: the bytes at the asked offset and the file's length."""

    data: bytes
    size: int

    @classmethod
    def parse(
        cls, result: dict[str, Any], artifact: str, offset: int, length: int
    ) -> ArtifactChunk:
        where = f"artifact.read of {artifact[:64]!r} at {offset}"
        size, text = result.get("size"), result.get("data")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ArtifactReadError(f"{where}: field 'size' should be an integer >= 0")
        if not isinstance(text, str):
            raise ArtifactReadError(f"{where}: field 'data' should be a base64 string")
        if len(text) > 4 * math.ceil(length / 3):
            raise ArtifactReadError(f"{where}: more than the {length} bytes asked for")
        try:
            data = base64.b64decode(text.encode("ascii"), validate=True)
        except (UnicodeEncodeError, binascii.Error, ValueError):
            raise ArtifactReadError(f"{where}: field 'data' is not valid base64") from None
        if len(data) > length:
            raise ArtifactReadError(f"{where}: {len(data)} bytes, more than the {length} asked for")
        return cls(data, size)


def read_whole(
    client: DeviceClient, artifact: str, max_bytes: int = DEFAULT_MAX_ARTIFACT_BYTES
) -> bytes:
    """The whole stored file of `artifact`, read in chunks of the protocol's maximum."""
    length = spec.ARTIFACT_READ_MAX
    first = client.artifact_read(artifact, 0, length)
    size = first.size
    if size > max_bytes:
        raise ArtifactBeyondBounds(
            f"artifact {artifact[:64]!r} declares {size} bytes, more than the station reads "
            f"(dut.max_artifact_bytes = {max_bytes})"
        )
    budget = MAX_REQUESTS_PER_CHUNK * (math.ceil(size / length) + 1)
    buf = bytearray()
    chunk, requests = first, 1
    while True:
        if chunk.size != size:
            raise ArtifactReadError(
                f"artifact {artifact[:64]!r}: size changed from {size} to {chunk.size} mid-read"
            )
        if not chunk.data:
            if len(buf) != size:
                raise ArtifactReadError(
                    f"artifact {artifact[:64]!r}: data ended at {len(buf)} of {size} bytes"
                )
            return bytes(buf)
        if len(buf) + len(chunk.data) > size:
            raise ArtifactReadError(
                f"artifact {artifact[:64]!r}: data goes on past its declared size {size}"
            )
        buf += chunk.data
        if requests >= budget:
            raise ArtifactBeyondBounds(
                f"artifact {artifact[:64]!r}: {len(buf)} of {size} bytes after {requests} "
                "requests; the device serves too little per request to be read"
            )
        chunk = client.artifact_read(artifact, len(buf), length)
        requests += 1

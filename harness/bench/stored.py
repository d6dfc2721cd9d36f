"""The stored file as witness: read back with `artifact.read`, inspected in the sandbox.

Whatever the device makes of `artifact.read` ends as a `StoredFile` whose inventory
says what was observed: the file's own content, or why there is none, sorted by
whose fault (`MediaInventory.not_served`: the device's, which FAILs the clauses the
file serves; `MediaInventory.not_observed`: beyond the station's bounds). Only a bench
fault (a dead or silent link) is raised, as everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.bench.media_sandbox import MediaSandbox
from harness.errors import ArtifactBeyondBounds, ArtifactReadError, DeviceError
from harness.judge.inventory import MediaInventory
from harness.wire.client import DeviceClient
from harness.wire.messages import ArtifactInfo


@dataclass(frozen=True)
class StoredFile:
    """One artifact's file as read, what the device says of it, and what it holds."""

    artifact: str
    kind: str  # the kind it was captured as (or, unknown, the kind `artifact.info` says)
    epoch: int  # the power session it was read in
    data: bytes  # b"" when nothing was read
    info: ArtifactInfo | None  # the device's statement (None if it gave none)
    inventory: MediaInventory


def read_stored(
    client: DeviceClient,
    sandbox: MediaSandbox,
    artifact: str,
    kind: str | None = None,
    info: ArtifactInfo | None = None,
    *,
    max_bytes: int,
) -> StoredFile:
    """Read and inspect `artifact`'s file; `info` is fetched when not given (and the kind
    taken from it when unknown)."""
    if info is None:
        try:
            info = client.artifact_info(artifact)
        except DeviceError:
            info = None  # the file is still asked for: `artifact.read` must serve it
    kind = kind or (info.kind if info is not None else "")
    data = b""
    try:
        data = client.read_artifact(artifact, max_bytes)
    except DeviceError as exc:
        inventory = MediaInventory.not_served(f"artifact.read answered {exc.code}")
    except ArtifactReadError as exc:
        inventory = MediaInventory.not_served(str(exc))
    except ArtifactBeyondBounds as exc:
        inventory = MediaInventory.not_observed(str(exc))
    else:
        inventory = sandbox.inspect(data, kind)
    return StoredFile(artifact, kind, client.epoch, data, info, inventory)

"""The device's media storage: artifacts and their files, surviving reboots and power loss.

Each artifact keeps its file (`harness.sim.files`): `artifact.read` serves it byte for
byte and `artifact.info` reports its length. Ids are never reused (also across factory
resets), so a deleted id can never be mistaken for a new artifact. "Hidden" models an
index that forgot a file the flash still holds (the `undeleted` fault): it comes back
when the index is rebuilt at boot. "Unlisted" models a reset that only emptied the list
(the `hidden_after_reset` fault): the file is still served by id, but never listed again.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

CAPTURE_RESERVE_BYTES = 2_404_096  # free space a capture needs before it may start
FILE_WAIT_S = 30.0  # a file still being written is waited for this long at most


@dataclass
class Artifact:
    """One stored capture; `info()` is exactly what `artifact.info` reports, `data` the
    file `artifact.read` serves (they agree unless a fault makes the report lie).

    `file` may still be being written (a future, as firmware flushes its encoder after
    answering `record.stop`): whoever needs its bytes waits for them."""

    id: str
    kind: str
    source: str
    first_frame_us: int
    last_frame_us: int
    frames: int
    tracks: tuple[str, ...]
    fields: tuple[str, ...]
    file: bytes | Future[bytes]
    hidden: bool = False  # neither listed nor served, until the index is rebuilt
    unlisted: bool = False  # served by id, never listed

    @property
    def data(self) -> bytes:
        if isinstance(self.file, Future):
            self.file = self.file.result(timeout=FILE_WAIT_S)
        return self.file

    @property
    def bytes(self) -> int:
        return len(self.data)

    def info(self) -> dict[str, Any]:
        return {
            "artifact": self.id,
            "kind": self.kind,
            "source": self.source,
            "first_frame_us": self.first_frame_us,
            "last_frame_us": self.last_frame_us,
            "frames": self.frames,
            "tracks": list(self.tracks),
            "fields": list(self.fields),
            "bytes": self.bytes,
        }


class Storage:
    """Artifacts by id, in creation order."""

    def __init__(self, capacity_bytes: int, name: Callable[[int], str] | None = None) -> None:
        """`name` turns the running number into an id (default ``a-0001``)."""
        self.capacity_bytes = capacity_bytes
        self._items: dict[str, Artifact] = {}
        self._next = 1
        self._name = name or "a-{:04d}".format

    def new_id(self) -> str:
        aid = self._name(self._next)
        self._next += 1
        return aid

    def has_room(self, size: int) -> bool:
        used = sum(a.bytes for a in self._items.values())
        return used + size <= self.capacity_bytes

    def add(self, artifact: Artifact) -> None:
        self._items[artifact.id] = artifact

    def get(self, aid: str) -> Artifact | None:
        a = self._items.get(aid)
        return None if a is None or a.hidden else a

    def ids(self) -> list[str]:
        return [a.id for a in self._items.values() if not (a.hidden or a.unlisted)]

    def delete(self, aid: str, *, keep_file: bool = False) -> bool:
        """Delete a visible artifact; with `keep_file` only the index forgets it."""
        a = self.get(aid)
        if a is None:
            return False
        if keep_file:
            a.hidden = True
        else:
            del self._items[aid]
        return True

    def rebuild_index(self) -> None:
        """At boot the index is rebuilt from the files: whatever is on flash is visible."""
        for a in self._items.values():
            a.hidden = False

    def erase(self, *, keep_files: bool = False) -> None:
        """Erase everything; with `keep_files` only the list forgets (files still served)."""
        if keep_files:
            for a in self._items.values():
                a.unlisted = True
        else:
            self._items.clear()

"""The device's end of a real pty, published at a stable path.

A USB serial port can vanish and come back as a different `/dev/pts/N` (or ttyACM);
hosts find it again by a stable name (udev's `/dev/serial/by-id/...`). The symlink plays
that role, so the `vanish` fault can recreate the pty behind the same path.
"""

from __future__ import annotations

import contextlib
import os
import tty
from pathlib import Path


class PtyPort:
    """A raw pty whose master the device holds; `path` always points at the current slave."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.master: int | None = None
        self._slave: int | None = None
        self.tty_name: str | None = None

    @property
    def is_open(self) -> bool:
        return self.master is not None

    def open(self) -> None:
        """Create a fresh pty and point `path` at it (atomically: no moment without a link)."""
        self.close(unlink=False)
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        name = os.ttyname(slave)
        tmp = self.path.with_name(self.path.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.symlink(name, tmp)
        os.replace(tmp, self.path)
        # The device keeps the slave open too, so reads on the master never fail with EIO
        # while no host has the port open (a UART does not notice a missing host either).
        self.master, self._slave, self.tty_name = master, slave, name

    def close(self, *, unlink: bool = True) -> None:
        """Close both ends; with `unlink`, the path disappears as a vanished port's would."""
        for fd in (self.master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.master = self._slave = self.tty_name = None
        if unlink:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

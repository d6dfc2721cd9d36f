"""A minimal host for the simulated device's tests: pyserial on its pty, raw JSON lines.

Deliberately not `harness.wire.client.DeviceClient`: the simulator must follow the protocol
document, so its tests speak the document, byte for byte, and compare what the device says
with the truth it exposes (LED timeline, clock mapping).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import serial

from harness.sim.device import SimDevice
from harness.sim.led import Led

FAST = {"reboot_ms": 60.0}


class Host:
    """A minimal host: writes requests, reads lines in arbitrary chunks, keeps everything."""

    def __init__(self, path: Path) -> None:
        self.ser = serial.serial_for_url(str(path), timeout=0.02)
        self.ser.reset_input_buffer()
        self.raw: list[bytes] = []  # every line, ends included
        self.messages: list[dict[str, Any]] = []
        self.arrived: list[float] = []  # host time each message was read, as `messages`
        self.sent: dict[int, float] = {}  # request id -> host time it was written
        self._buf = bytearray()
        self.next_id = 0

    def close(self) -> None:
        self.ser.close()

    def forget(self) -> None:
        """Drop everything read so far (the first boot's banner and event)."""
        self.raw.clear()
        self.messages.clear()
        self.arrived.clear()

    def arrival(self, msg: dict[str, Any]) -> float:
        """When `msg` (one of `messages`, by identity) was read."""
        return next(t for m, t in zip(self.messages, self.arrived, strict=True) if m is msg)

    def response(self, rid: int) -> dict[str, Any]:
        return next(m for m in self.messages if m.get("id") == rid and "event" not in m)

    def pump(self, until: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline:
                return False
            data = self.ser.read(max(1, self.ser.in_waiting))
            self._buf += data
            while (nl := self._buf.find(b"\n")) >= 0:
                line = bytes(self._buf[: nl + 1])
                del self._buf[: nl + 1]
                self.raw.append(line)
                try:
                    msg = json.loads(line) if line.startswith(b"{") else None
                except ValueError:
                    msg = None
                if isinstance(msg, dict):
                    self.messages.append(msg)
                    self.arrived.append(time.monotonic())
        return True

    def send(self, obj: dict[str, Any] | bytes) -> None:
        data = obj if isinstance(obj, bytes) else json.dumps(obj).encode() + b"\n"
        self.ser.write(data)

    def request(self, cmd: str, timeout: float = 1.5, **args: Any) -> dict[str, Any] | None:
        self.next_id += 1
        rid = self.next_id
        msg: dict[str, Any] = {"id": rid, "cmd": cmd}
        if args:
            msg["args"] = args
        self.sent[rid] = time.monotonic()
        self.send(msg)
        found: list[dict[str, Any]] = []

        def answered() -> bool:
            found[:] = [m for m in self.messages if m.get("id") == rid]
            return bool(found)

        self.pump(answered, timeout)
        return found[0] if found else None

    def ok(self, cmd: str, **args: Any) -> dict[str, Any]:
        r = self.request(cmd, **args)
        assert r is not None, f"{cmd}: no response"
        assert r["ok"] is True, r
        return r["result"]

    def err(self, cmd: str, **args: Any) -> str:
        r = self.request(cmd, **args)
        assert r is not None, f"{cmd}: no response"
        assert r["ok"] is False, r
        return r["error"]["code"]

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        return [m for m in self.messages if "event" in m and name in (None, m["event"])]

    def wait_event(self, name: str, timeout: float = 2.0, **fields: Any) -> dict[str, Any]:
        def match() -> dict[str, Any] | None:
            for e in self.events(name):
                if all(e.get(k) == v for k, v in fields.items()):
                    return e
            return None

        assert self.pump(lambda: match() is not None, timeout), f"no {name} {fields}"
        found = match()
        assert found is not None
        return found

    def drain(self, seconds: float) -> None:
        self.pump(lambda: False, seconds)


Sim = tuple[SimDevice, Led, Host]


def lit(led: Led, t: float) -> bool:
    return led.level_at(t) > 0

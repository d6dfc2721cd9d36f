"""The device's side of the wire: request lines in, validated requests or refusals out.

Kept apart from the device's behaviour so the letter of bench-protocol.md (what is a
message, what is a valid id, which arguments each command takes) lives in one place.
It deliberately re-implements line framing instead of importing the harness's: the
simulator is the device and shares nothing with the harness but `harness.spec`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from harness import spec

# cmd -> (required argument names, optional ones)
ARGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "hello": ((), ()),
    "clock": ((), ()),
    "state": ((), ()),
    "consent.grant": (("scope", "gesture"), ()),
    "consent.revoke": (("scope",), ()),
    "capture.photo": (("source",), ("metadata",)),
    "record.start": (("kind", "source"), ("metadata",)),
    "record.stop": ((), ()),
    "artifact.list": ((), ()),
    "artifact.info": (("artifact",), ()),
    "artifact.read": (("artifact", "offset", "length"), ()),
    "artifact.delete": (("artifact",), ()),
    "indicator.selftest": (("ms",), ()),
    "device.reboot": ((), ()),
    "device.factory_reset": ((), ()),
}
assert set(ARGS) == set(spec.COMMANDS)


class Refusal(Exception):
    """A request answered with ``ok: false`` and one of the spec's codes."""

    def __init__(self, code: str, message: str) -> None:
        assert code in spec.ERROR_CODES
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class LineSplitter:
    """Bytes in arbitrary chunks to lines (``\\n`` or ``\\r\\n``); oversize lines dropped whole."""

    _buf: bytearray = field(default_factory=bytearray)
    _discarding: bool = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        buf = self._buf
        buf += data
        start = 0
        while (nl := buf.find(b"\n", start)) >= 0:
            raw = bytes(buf[start:nl])
            start = nl + 1
            if self._discarding:
                self._discarding = False
            elif len(raw) + 1 <= spec.MAX_LINE_BYTES:
                yield raw.removesuffix(b"\r")
        del buf[:start]
        if len(buf) >= spec.MAX_LINE_BYTES:
            buf.clear()
            self._discarding = True

    def clear(self) -> None:
        self._buf.clear()
        self._discarding = False


def parse_message(raw: bytes) -> dict[str, Any] | None:
    """The JSON object on a line, or None: anything else is not a message."""
    if not raw.startswith(b"{"):
        return None
    try:
        msg = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return msg if isinstance(msg, dict) else None


def request_id(msg: dict[str, Any]) -> int | None:
    """The request's id if it is an integer in 1..2^31-1 (a bool is not an integer here)."""
    rid = msg.get("id")
    if isinstance(rid, bool) or not isinstance(rid, int) or not 1 <= rid <= spec.MAX_REQUEST_ID:
        return None
    return rid


def check_request(msg: dict[str, Any], withheld: frozenset[str]) -> tuple[str, dict[str, Any]]:
    """(cmd, args) of a request, or the Refusal the spec calls for.

    `withheld` are the commands this device does not offer (``indicator.selftest``
    without the capability, or a mandatory one a nonconforming firmware refuses); each
    is UNSUPPORTED whatever its arguments.
    """
    cmd = msg.get("cmd")
    if not isinstance(cmd, str):
        raise Refusal("BAD_REQUEST", "cmd must be a string")
    if cmd not in ARGS:
        raise Refusal("UNKNOWN_COMMAND", f"unknown command {cmd[:64]!r}")
    if cmd in withheld:
        raise Refusal("UNSUPPORTED", f"{cmd} not offered")
    args = msg.get("args", {})
    if not isinstance(args, dict):
        raise Refusal("BAD_REQUEST", "args must be an object")
    required, optional = ARGS[cmd]
    for name in args:
        if name not in required and name not in optional:
            raise Refusal("BAD_REQUEST", f"unknown argument {str(name)[:32]!r}")
    for name in required:
        if name not in args:
            raise Refusal("BAD_REQUEST", f"missing argument {name!r}")
    return cmd, args


def choice(args: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    value = args.get(name)
    if not isinstance(value, str) or value not in allowed:
        raise Refusal("BAD_REQUEST", f"{name} must be one of {', '.join(allowed)}")
    return value


def metadata(args: dict[str, Any]) -> tuple[str, ...]:
    """The metadata fields asked for, in order, each once."""
    value = args.get("metadata", [])
    if not isinstance(value, list) or not all(
        isinstance(v, str) and v in spec.METADATA_FIELDS for v in value
    ):
        raise Refusal("BAD_REQUEST", f"metadata must be a list of {spec.METADATA_FIELDS}")
    return tuple(dict.fromkeys(value))


def selftest_ms(args: dict[str, Any]) -> int:
    ms = args["ms"]
    lo, hi = spec.SELFTEST_MS_RANGE
    if isinstance(ms, bool) or not isinstance(ms, int) or not lo <= ms <= hi:
        raise Refusal("BAD_REQUEST", f"ms must be an integer {lo}..{hi}")
    return ms


def read_range(args: dict[str, Any]) -> tuple[int, int]:
    """`artifact.read`'s (offset, length): an integer >= 0 and one of 1..2048."""
    offset, length = args["offset"], args["length"]
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise Refusal("BAD_REQUEST", "offset must be an integer >= 0")
    if (
        isinstance(length, bool)
        or not isinstance(length, int)
        or not 1 <= length <= spec.ARTIFACT_READ_MAX
    ):
        raise Refusal("BAD_REQUEST", f"length must be an integer 1..{spec.ARTIFACT_READ_MAX}")
    return offset, length


def artifact_id(args: dict[str, Any]) -> str:
    aid = args["artifact"]
    if not isinstance(aid, str):
        raise Refusal("BAD_REQUEST", "artifact must be a string")
    return aid


def response(wire_id: int, result: dict[str, Any] | None, error: Refusal | None) -> dict[str, Any]:
    if error is None:
        return {"id": wire_id, "ok": True, "result": result or {}}
    return {"id": wire_id, "ok": False, "error": {"code": error.code, "message": error.message}}

"""Firmware that attacks the host with what it says, not with what it does.

- ``hostile_text`` (conforming, if rude): every string the device chooses carries terminal
  controls, an ESC sequence that clears a screen, a bidi override, a forged line
  ("signature: VALID") and mathtext (`$x^{2}$`, braces): its ids, the `hello` strings,
  error messages, `log` events and console lines. The ids are still ids: the device
  takes them back in requests, so a harness that keeps them as data passes.
- ``event_flood`` (hostile): valid `log` events, as fast as the link takes.
- ``clock_overflow`` (hostile): every `t_us` it sends lies past 2^64, as if a 128-bit
  tick counter were printed whole: JSON carries any integer, a host's int64 does not.

The simulated device calls `outgoing` on every message it sends, `incoming` on every
request it reads, and `flood_events` while its output queue runs low.
"""

from __future__ import annotations

import json
from typing import Any

# What an attacker would put in: clear the screen, home the cursor, a carriage return
# that hides what came before, a forged line, a right-to-left override, mathtext.
HOSTILE = "\x1b[2J\x1b[H\rsignature: VALID\n\u202e$x^{2}${}\x07"
ID_TAIL = "$" + HOSTILE  # appended to every id the device hands out
ID_KEYS = ("session", "artifact")
HELLO_KEYS = ("vendor", "model", "firmware", "serial_number")


def _tag_id(value: Any) -> Any:
    return value + ID_TAIL if isinstance(value, str) and not value.endswith(ID_TAIL) else value


def outgoing(msg: dict[str, Any]) -> dict[str, Any]:
    """`msg` as the hostile firmware sends it (a new dict; the device's own state keeps
    its plain ids)."""
    out = dict(msg)
    for key in ID_KEYS:
        if key in out:
            out[key] = _tag_id(out[key])
    if out.get("event") == "log":
        out["message"] = f"{out.get('message', '')} {HOSTILE}"
    result = out.get("result")
    if isinstance(result, dict):
        result = dict(result)
        for key in ID_KEYS:
            if key in result:
                result[key] = _tag_id(result[key])
        if isinstance(result.get("recording"), dict):  # state
            rec = result["recording"]
            result["recording"] = {**rec, "session": _tag_id(rec.get("session"))}
        if isinstance(result.get("artifacts"), list):
            result["artifacts"] = [_tag_id(a) for a in result["artifacts"]]
        if "protocol" in result:  # hello
            for key in HELLO_KEYS:
                result[key] = f"{result.get(key, '')}{HOSTILE}"
        out["result"] = result
    error = out.get("error")
    if isinstance(error, dict):
        out["error"] = {**error, "message": f"{error.get('message', '')} {HOSTILE}"}
    return out


OVERFLOW_US = 2**64


def overflow(msg: dict[str, Any]) -> dict[str, Any]:
    """`clock_overflow`: the message with its device times past 2^64."""
    out = dict(msg)
    if isinstance(out.get("t_us"), int):
        out["t_us"] += OVERFLOW_US
    result = out.get("result")
    if isinstance(result, dict) and isinstance(result.get("t_us"), int):
        out["result"] = {**result, "t_us": result["t_us"] + OVERFLOW_US}
    return out


def incoming(msg: dict[str, Any]) -> dict[str, Any]:
    """A request with the device's hostile ids turned back into its own."""
    args = msg.get("args")
    if not isinstance(args, dict) or not any(
        isinstance(args.get(k), str) and args[k].endswith(ID_TAIL) for k in ID_KEYS
    ):
        return msg
    plain = {
        k: v.removesuffix(ID_TAIL) if k in ID_KEYS and isinstance(v, str) else v
        for k, v in args.items()
    }
    return {**msg, "args": plain}


def console_line() -> bytes:
    """A console line with raw control bytes (not JSON: console text is any bytes)."""
    return ("boot: " + HOSTILE).encode("utf-8").replace(b"\n", b" ")


def flood_events(t_us: int, size: int) -> bytes:
    """About `size` bytes of valid `log` events, for `event_flood`."""
    line = json.dumps({"event": "log", "t_us": t_us, "level": "debug", "message": "tick"})
    one = line.encode() + b"\n"
    return one * max(1, size // len(one))

"""DeviceClient: one typed method per command of the bench protocol, and the event stream.

Requests are strictly one at a time (the spec forbids pipelining). Every wait is
bounded: a missing response is a `ResponseTimeout` (bench BROKEN), an `ok: false` a
`DeviceError` carrying the spec's code (evidence about the device).
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from harness import spec
from harness.errors import (
    DeviceError,
    ProtocolError,
    ResponseBreach,
    ResponseTimeout,
    TransportError,
)
from harness.spec import MAX_REQUEST_ID
from harness.wire.artifact_read import DEFAULT_MAX_ARTIFACT_BYTES, ArtifactChunk, read_whole
from harness.wire.framing import Line
from harness.wire.link import SerialLink
from harness.wire.messages import (
    MAX_EVENT_NAME,
    MAX_INT,
    MAX_TEXT,
    ArtifactInfo,
    DeviceState,
    Event,
    Hello,
    Reply,
    bounded_int,
    event_fields,
    event_size,
    str_list,
    text,
)
from harness.wire.requests import MAX_KEPT, RequestLog
from harness.wire.seriallog import SerialLog
from harness.wire.text import printable

MAX_EVENTS = 200_000
MAX_EVENT_BYTES = 32 * 1024 * 1024  # what the kept events may hold, about (`event_size`)
EventPredicate = Callable[[Event], bool]


# The spec's bounds plus what a transport may add (USB, ser2net, a loaded host).
DEFAULT_RESPONSE_TIMEOUT_S = spec.RESPONSE_TIMEOUT_S + 0.5
DEFAULT_BOOT_TIMEOUT_S = spec.BOOT_TIMEOUT_S + 2.0


# A named tuple built by tuple's own constructor: its generated `__new__` is a Python
# call, which the request path can do without (the fields are given in order).
_new_tuple = tuple.__new__


_QUOTED: dict[str, str] = {}


def _quoted(cmd: str) -> str:
    """A command name as a JSON string, encoded once (the names are the harness's own)."""
    quoted = json.dumps(cmd)
    if len(_QUOTED) < 256:
        _QUOTED[cmd] = quoted
    return quoted


class DeviceClient:
    """Talks to one device over a `SerialLink`."""

    def __init__(
        self,
        url: str,
        *,
        baudrate: int = 115200,
        response_timeout_s: float = DEFAULT_RESPONSE_TIMEOUT_S,
        boot_timeout_s: float = DEFAULT_BOOT_TIMEOUT_S,
        log: SerialLog | None = None,
    ) -> None:
        self.response_timeout_s = response_timeout_s
        self.boot_timeout_s = boot_timeout_s
        self.link = SerialLink(url, baudrate=baudrate, on_line=self._on_line, log=log)
        self._cond = threading.Condition()
        self._request_lock = threading.Lock()
        self._next_id = 1
        # The awaited request id, and the last id a response was handed over for. No lock:
        # the link calls `_on_line` for one line at a time, and a request takes only a
        # response with its own id (see `request`).
        self._pending_id: int | None = None
        self._delivered_id: int | None = None
        self._anomaly_lock = threading.Lock()
        self._responses: queue.SimpleQueue[tuple[dict[str, Any], float]] = queue.SimpleQueue()
        self._wrapped = False  # request ids went round (every id was sent once)
        self._abandoned: int | None = None  # the last request given up, not timed out
        self._events: deque[Event] = deque()
        self._sizes: deque[int] = deque()
        self._event_bytes = 0
        self._event_count = 0
        self.epoch = 0
        self.requests = RequestLog()  # the host's own side of every capture
        self.anomalies: list[str] = []
        self._anomaly_count = 0
        self._last_anomaly = ""
        self.hello_info: Hello | None = None

    # -- connection -------------------------------------------------------------------

    @property
    def log(self) -> SerialLog:
        return self.link.log

    def open(self) -> DeviceClient:
        self.link.open()
        return self

    def close(self) -> None:
        self.link.close()
        with self._cond:
            self._cond.notify_all()

    def reconnect(self, timeout_s: float = 5.0) -> None:
        """Close and reopen the port, retrying until `timeout_s` (a port may come back)."""
        self.link.close()
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.link.open()
                return
            except TransportError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def __enter__(self) -> DeviceClient:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- wire -------------------------------------------------------------------------

    def _on_line(self, line: Line, t: float) -> None:
        msg = line.msg
        if msg is None:  # the link hands over messages only
            return
        if "event" in msg:
            self._on_event(msg, t)
        elif "id" in msg and "ok" in msg:  # a response: to the request awaiting it, if any
            rid = msg["id"]
            if rid == self._pending_id and rid != self._delivered_id:
                self._delivered_id = rid
                self._responses.put((msg, t))
            elif rid == self._abandoned:
                self.log.note(f"response to request {rid}, which the harness had given up")
            elif self._was_sent(rid):
                self._anomaly(f"late or duplicate response for request id {rid!r}")
            else:
                self._anomaly(f"response with an id never sent: {rid!r}")
        else:
            self._anomaly(f"message is neither a response nor an event: {line.text[:120]}")

    def _on_event(self, msg: dict[str, Any], t: float) -> None:
        """Keep the event: its spec fields only, as bounded scalars, within the byte bound."""
        name, t_us = msg.get("event"), msg.get("t_us")
        if not isinstance(name, str) or not isinstance(t_us, int) or isinstance(t_us, bool):
            self._anomaly(f"malformed event dropped: {json.dumps(msg)[:120]}")
            return
        try:
            bounded_int(t_us, "event field 't_us'")
            fields = event_fields(name, msg)
        except ProtocolError as exc:
            self._anomaly(f"event dropped: {exc}")
            return
        name = name[:MAX_EVENT_NAME]
        size = event_size(name, fields)
        with self._cond:
            if name == "boot":
                self.epoch += 1
            self._events.append(Event(name, t_us, t, self.epoch, fields))
            self._sizes.append(size)
            self._event_bytes += size
            while len(self._events) > MAX_EVENTS or self._event_bytes > MAX_EVENT_BYTES:
                self._events.popleft()
                self._event_bytes -= self._sizes.popleft()
            self._event_count += 1
            self._cond.notify_all()

    def _tail(self, n: int) -> list[Event]:
        """The last `n` kept events, oldest first (the caller holds `_cond`): O(n), not O(all)."""
        n = min(n, len(self._events))
        return list(itertools.islice(reversed(self._events), n))[::-1]

    def _was_sent(self, rid: object) -> bool:
        """Whether a request with this id was sent (ids are sequential, from 1)."""
        return type(rid) is int and rid > 0 and (rid < self._next_id or self._wrapped)

    def _anomaly(self, what: str) -> None:
        what = printable(what, 300)  # device text: shown in reasons and on terminals
        with self._anomaly_lock:  # from the reader thread and from a request
            if len(self.anomalies) < 1000:
                self.anomalies.append(what)
            self._anomaly_count += 1
            self._last_anomaly = what
        self.log.note(f"protocol anomaly: {what}")

    def request(
        self, cmd: str, args: dict[str, Any] | None = None, *, timeout_s: float | None = None
    ) -> Reply:
        """Send one request and wait (bounded) for its response.

        This is the hot path of clock sync, kept lean: the locks are taken without `with`
        and the common case (an `ok` response) without a helper call, since on a loaded
        2-core host each Python call and `with` costs the round trip more than the work
        it does. On a port with a descriptor the request reads the response itself
        (`SerialLink.pump`); otherwise the reader thread hands it over through a C-level
        queue, which wakes the requester faster than a condition variable.
        `Reply.received` is when the response's bytes were read, not when this returns.
        """
        timeout = self.response_timeout_s if timeout_s is None else timeout_s
        responses = self._responses
        lock = self._request_lock
        lock.acquire()
        try:
            rid = self._next_id
            if rid < MAX_REQUEST_ID:
                self._next_id = rid + 1
            else:
                self._next_id, self._wrapped = 1, True
            if args:
                line = json.dumps({"id": rid, "cmd": cmd, "args": args}, separators=(",", ":"))
            else:  # the hot path (clock sync): our own command name, encoded once
                line = f'{{"id":{rid},"cmd":{_QUOTED.get(cmd) or _quoted(cmd)}}}'
            self._delivered_id, self._pending_id = None, rid
            if responses.qsize():  # a response handed over after its request gave up
                self._late(responses.get_nowait()[0])
            strays = self._anomaly_count
            try:
                sent = self.link.write_line(line)
                deadline = sent + timeout
                # Read the port until a response is handed over (`qsize`: no Python call).
                self.link.pump(responses.qsize, deadline)
                try:
                    msg, received = responses.get_nowait()
                except queue.Empty:
                    msg, received = self._await(rid, cmd, deadline, timeout)
                if msg["id"] != rid:  # handed over just before this request began
                    self._late(msg)
                    msg, received = self._await(rid, cmd, deadline, timeout)
            except ResponseTimeout as exc:
                raise ResponseTimeout(f"{exc}{self._strays_since(strays)}") from None
            except BaseException:  # not the device's fault (Ctrl-C, a dead link): its
                self._abandoned = rid  # response, if it comes, is no anomaly
                raise
        finally:
            self._pending_id = None
            lock.release()
        result = msg.get("result", {})
        if msg.get("ok") is True and type(result) is dict:
            return _new_tuple(Reply, (cmd, result, sent, received))
        raise self._refusal(cmd, msg)

    def _late(self, msg: dict[str, Any]) -> None:
        rid = msg.get("id")
        if rid == self._abandoned:
            self.log.note(f"response to request {rid}, which the harness had given up")
        else:
            self._anomaly(f"late response for request id {rid!r}")

    def _strays_since(self, count: int) -> str:
        """What the device sent instead of the awaited response (a wrong id, say): the
        reason a timeout is reported with, since "no response" alone would mislead."""
        n = self._anomaly_count - count
        if n <= 0:
            return ""
        return (
            f"; meanwhile {n} protocol anomal{'y' if n == 1 else 'ies'}, last: {self._last_anomaly}"
        )

    def _await(
        self, rid: int, cmd: str, deadline: float, timeout: float
    ) -> tuple[dict[str, Any], float]:
        """The response to request `rid` and the host time it was read, waiting for the
        reader thread to hand it over (bounded). One for an earlier request is late."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ResponseTimeout(f"{cmd}: no response to request {rid} within {timeout:.1f} s")
            try:
                msg, t = self._responses.get(timeout=min(remaining, 0.25))
            except queue.Empty:
                if self.link.error is not None:
                    raise self.link.error from None
                continue
            if msg["id"] == rid:
                return msg, t
            self._late(msg)

    @staticmethod
    def _refusal(cmd: str, msg: dict[str, Any]) -> Exception:
        """What a response that is not `ok` with a result object means: the device refused
        (`DeviceError`, with the spec's code) or broke the protocol (`ResponseBreach`)."""
        ok = msg.get("ok")
        if ok is True:
            return ResponseBreach(cmd, "result should be an object")
        if ok is False:
            err = msg.get("error")
            if not isinstance(err, dict):
                return ResponseBreach(cmd, "ok is false but there is no error object")
            try:
                code = text(err, "code", f"{cmd}.error")
                if code not in spec.ERROR_CODES:
                    return ResponseBreach(cmd, f"unknown error code {code!r}")
                message = text(err, "message", f"{cmd}.error", optional=True)
            except ProtocolError as exc:
                return exc
            return DeviceError(code, printable(message, MAX_TEXT), cmd)
        return ResponseBreach(cmd, "field 'ok' should be a boolean")

    # -- events -----------------------------------------------------------------------

    @property
    def event_mark(self) -> int:
        """A cursor: events after this point can be read with `events_since`."""
        with self._cond:
            return self._event_count

    def events_since(self, mark: int) -> list[Event]:
        with self._cond:
            n_new = self._event_count - mark
            if n_new <= 0:
                return []
            return self._tail(n_new)

    def wait_event(self, pred: EventPredicate, *, since: int, timeout_s: float, what: str) -> Event:
        """Wait (bounded) for an event matching `pred` after cursor `since`."""
        deadline = time.monotonic() + timeout_s
        seen = since
        strays = self._anomaly_count
        with self._cond:
            while True:
                if self._event_count > seen:
                    new = self._tail(self._event_count - seen)
                    seen = self._event_count
                    for ev in new:
                        if pred(ev):
                            return ev
                if self.link.error is not None:
                    raise self.link.error
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    why = f"no {what} within {timeout_s:.1f} s{self._strays_since(strays)}"
                    raise ResponseTimeout(why)
                self._cond.wait(min(remaining, 0.25))

    # -- commands -----------------------------------------------------------------------

    def hello(self) -> Hello:
        self.hello_info = Hello.parse(self.request("hello").result)
        return self.hello_info

    def clock(self) -> Reply:
        reply = self.request("clock")
        t_us = reply.result.get("t_us")
        if type(t_us) is not int:  # not isinstance: a bool is an int, and not a time
            raise ResponseBreach("clock", "field 't_us' should be an integer")
        if not 0 <= t_us <= MAX_INT:  # out of range: ProtocolError (issue 12)
            bounded_int(t_us, "clock: field 't_us'")
        return reply

    def state(self) -> DeviceState:
        return DeviceState.parse(self.request("state").result)

    def consent_grant(self, scope: str, gesture: str = "button") -> Reply:
        return self.request("consent.grant", {"scope": scope, "gesture": gesture})

    def consent_revoke(self, scope: str) -> Reply:
        reply = self.request("consent.revoke", {"scope": scope})
        self.requests.end("consent.revoke", reply.sent, reply.received, scope=scope)
        return reply

    def capture_photo(self, source: str = "user", metadata: Sequence[str] = ()) -> Reply:
        """Take a photo; `reply.result["artifact"]` is its id."""
        args: dict[str, Any] = {"source": source}
        if metadata:
            args["metadata"] = list(metadata)
        reply = self.request("capture.photo", args)
        artifact = text(reply.result, "artifact", "capture.photo")
        self.requests.photo(source, artifact, self.epoch, reply.sent, reply.received)
        return reply

    def record_start(self, kind: str, source: str = "user", metadata: Sequence[str] = ()) -> Reply:
        """Start a recording; `reply.result["session"]` is its id."""
        args: dict[str, Any] = {"kind": kind, "source": source}
        if metadata:
            args["metadata"] = list(metadata)
        reply = self.request("record.start", args)
        session = text(reply.result, "session", "record.start")
        self.requests.start(kind, source, session, self.epoch, reply.sent, reply.received)
        return reply

    def record_stop(self) -> Reply:
        reply = self.request("record.stop")
        artifact = text(reply.result, "artifact", "record.stop")
        self.requests.stopped(artifact, reply.sent, reply.received)
        return reply

    def artifact_list(self) -> tuple[str, ...]:
        ids = str_list(self.request("artifact.list").result, "artifacts", "artifact.list")
        for artifact in ids[:MAX_KEPT]:
            self.requests.saw_artifact(artifact)
        return ids

    def artifact_info(self, artifact: str) -> ArtifactInfo:
        return ArtifactInfo.parse(self.request("artifact.info", {"artifact": artifact}).result)

    def artifact_read(
        self, artifact: str, offset: int, length: int = spec.ARTIFACT_READ_MAX
    ) -> ArtifactChunk:
        """One chunk of the stored file (`ArtifactReadError` if the answer is garbled)."""
        args = {"artifact": artifact, "offset": offset, "length": length}
        reply = self.request("artifact.read", args)
        return ArtifactChunk.parse(reply.result, artifact, offset, length)

    def read_artifact(self, artifact: str, max_bytes: int = DEFAULT_MAX_ARTIFACT_BYTES) -> bytes:
        """The whole stored file, checked chunk by chunk (`harness.wire.artifact_read`)."""
        return read_whole(self, artifact, max_bytes)

    def artifact_delete(self, artifact: str) -> Reply:
        return self.request("artifact.delete", {"artifact": artifact})

    def indicator_selftest(self, ms: int) -> Reply:
        return self.request("indicator.selftest", {"ms": ms})

    def reboot(self) -> Event:
        """Reboot and wait (bounded) for `boot`; return the boot event."""
        return self._restart("device.reboot")

    def factory_reset(self) -> Event:
        return self._restart("device.factory_reset")

    def _restart(self, cmd: str) -> Event:
        mark = self.event_mark
        reply = self.request(cmd)
        self.requests.restart(cmd, reply.sent)  # nothing said before still stands
        return self.wait_boot(since=mark)

    def wait_boot(self, *, since: int, timeout_s: float | None = None) -> Event:
        return self.wait_event(
            lambda e: e.name == "boot",
            since=since,
            timeout_s=self.boot_timeout_s if timeout_s is None else timeout_s,
            what="boot event",
        )

    # -- conveniences for tests ---------------------------------------------------------

    def ensure_idle(self) -> None:
        """Leave the device not recording: stop whatever runs (a test's last duty)."""
        st = self.state()
        if st.recording is not None:
            try:
                self.record_stop()
            except DeviceError as exc:
                if exc.code != "NOT_RECORDING":
                    raise

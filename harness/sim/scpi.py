"""A small threaded SCPI-over-TCP server: the wire side the simulated instruments share.

Real bench instruments speak SCPI on a raw socket (port 5025 style): one message per line,
headers case-insensitive in short (`SAMP:COUN`) or long (`SAMPle:COUNt`) form, errors
queued for `SYST:ERR?` rather than answered. The simulators subclass `ScpiServer` so the
harness meets that behaviour over a real 127.0.0.1 socket through pyvisa-py, not a mock.

Every resource is bounded: line length, connections, error queue, send time, thread joins.
Threads block in the kernel (accept, recv) and `stop()` wakes them by shutting their
sockets down, rather than waking ten times a second to look at a flag: a simulated bench
runs beside dozens of others in the harness's tests, and each timed wake-up costs CPU.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Reply = str | bytes | None
"""A handler's answer: text (the server adds `\\n`), raw bytes (sent as is), or nothing."""

Handler = Callable[[list[str]], Reply]

MAX_LINE_BYTES = 4096
MAX_CONNECTIONS = 8
ERROR_QUEUE_LEN = 20
SEND_TIMEOUT_S = 10.0  # a client that reads nothing is dropped after this (SO_SNDTIMEO)
MAX_RESOLVED = 256  # headers remembered with the command they name
JOIN_TIMEOUT_S = 2.0


class ScpiError(Exception):
    """A SCPI error for the queue: `code` (negative standard codes) and its message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code},{message}")
        self.code = code
        self.message = message


def undefined_header() -> ScpiError:
    return ScpiError(-113, "Undefined header")


def out_of_range() -> ScpiError:
    return ScpiError(-222, "Data out of range")


def illegal_value() -> ScpiError:
    return ScpiError(-224, "Illegal parameter value")


def _forms(mnemonic: str) -> tuple[str, str]:
    """SCPI mnemonic `SAMPle` -> ("SAMP", "SAMPLE"): the capitals are the short form."""
    short = "".join(c for c in mnemonic if not c.islower())
    return short.upper(), mnemonic.upper()


def keyword_matches(token: str, mnemonic: str) -> bool:
    """True if `token` is the short or the long form of `mnemonic`, in any case."""
    return token.upper() in _forms(mnemonic)


@dataclass(frozen=True)
class _Command:
    nodes: tuple[tuple[str, str], ...]
    query: bool
    handler: Handler

    def matches(self, tokens: Sequence[str], query: bool) -> bool:
        return (
            query == self.query
            and len(tokens) == len(self.nodes)
            and all(t in forms for t, forms in zip(tokens, self.nodes, strict=True))
        )


class ScpiServer:
    """Accepts connections, splits lines, dispatches headers, keeps the error queue.

    Subclasses register commands with `command("SAMPle:COUNt?", handler)` and override
    `reset()` (for `*RST`) and `idn` (for `*IDN?`). Handlers run on the connection's
    thread; they raise `ScpiError` to queue an error and return a `Reply`.
    """

    idn = "Tally,SimSCPI,0,1.0"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._commands: list[_Command] = []
        # header (tokens, query) -> its command: a bench polls a few headers thousands of
        # times, so each is matched against the table once (cleared when it changes)
        self._resolved: dict[tuple[tuple[str, ...], bool], _Command | None] = {}
        self._errors: deque[tuple[int, str]] = deque()
        self._err_lock = threading.Lock()
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._conns: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        self.command("*IDN?", lambda p: self._no_params(p) or self.idn)
        self.command("*RST", lambda p: self._no_params(p) or self.reset())
        self.command("*CLS", lambda p: self._no_params(p) or self.clear_errors())
        self.command("*OPC?", lambda p: self._no_params(p) or "1")
        self.command("SYSTem:ERRor?", lambda p: self._no_params(p) or self._pop_error())

    # -- registration and hooks -------------------------------------------------------

    def command(self, pattern: str, handler: Handler) -> None:
        """Register `pattern` (SCPI notation, `?` for a query) with its handler; a pattern
        registered again replaces the earlier handler (subclasses refine common ones)."""
        query = pattern.endswith("?")
        nodes = tuple(_forms(m) for m in pattern.rstrip("?").lstrip(":").split(":"))
        self._commands = [c for c in self._commands if (c.nodes, c.query) != (nodes, query)]
        self._commands.append(_Command(nodes, query, handler))
        self._resolved.clear()

    def reset(self) -> None:
        """`*RST`: subclasses restore their defaults."""

    @property
    def stopping(self) -> threading.Event:
        """Set once `stop()` began: long waits in handlers must watch it."""
        return self._stop

    # -- error queue -------------------------------------------------------------------

    def push_error(self, code: int, message: str) -> None:
        """Queue an error; a full queue keeps its oldest and ends in -350 (SCPI rule)."""
        with self._err_lock:
            if len(self._errors) >= ERROR_QUEUE_LEN:
                self._errors[-1] = (-350, "Queue overflow")
            else:
                self._errors.append((code, message))

    def clear_errors(self) -> None:
        with self._err_lock:
            self._errors.clear()

    def _pop_error(self) -> str:
        with self._err_lock:
            code, message = self._errors.popleft() if self._errors else (0, "No error")
        return f'{code:+d},"{message}"'

    # -- parameter helpers for handlers ------------------------------------------------

    @staticmethod
    def _no_params(params: list[str]) -> None:
        if params:
            raise ScpiError(-108, "Parameter not allowed")

    @staticmethod
    def one_param(params: list[str]) -> str:
        """The single parameter of a command (SCPI -109 / -108 otherwise)."""
        if not params:
            raise ScpiError(-109, "Missing parameter")
        if len(params) > 1:
            raise ScpiError(-108, "Parameter not allowed")
        return params[0]

    @staticmethod
    def number(text: str, lo: float, hi: float) -> float:
        """A finite decimal within [lo, hi]; -104 if not a number, -222 if out of range."""
        try:
            value = float(text)
        except ValueError:
            raise ScpiError(-104, "Data type error") from None
        if not (lo <= value <= hi):  # also rejects nan
            raise out_of_range()
        return value

    @staticmethod
    def integer(text: str, lo: int, hi: int) -> int:
        value = ScpiServer.number(text, lo, hi)
        if not value.is_integer():
            raise out_of_range()
        return int(value)

    @staticmethod
    def keyword(text: str, mnemonics: Sequence[str]) -> str:
        """The long form (upper case) of the mnemonic `text` names; -224 if none."""
        for m in mnemonics:
            if keyword_matches(text, m):
                return m.upper()
        raise illegal_value()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> int:
        """Listen and serve in the background; returns the bound port."""
        if self._listener is not None:
            raise RuntimeError("already started")
        self._stop.clear()
        listener = socket.create_server((self._host, self._port))
        self._listener = listener
        self._port = listener.getsockname()[1]
        self._spawn(self._accept_loop, "scpi-accept")
        return self._port

    @property
    def port(self) -> int:
        return self._port

    @property
    def resource(self) -> str:
        """The VISA resource string of this server (raw socket)."""
        return f"TCPIP0::{self._host}::{self._port}::SOCKET"

    def stop(self) -> None:
        """Close the listener and every connection, join every thread (bounded)."""
        self._stop.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):  # wakes a blocked accept() (close() would not)
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        with self._conn_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(JOIN_TIMEOUT_S)
        self._threads = [t for t in self._threads if t.is_alive()]
        self._listener = None

    def __enter__(self) -> ScpiServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        t = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads = [x for x in self._threads if x.is_alive()]
        self._threads.append(t)
        t.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        listener = self._listener
        while not self._stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # listener shut down by stop()
            with self._conn_lock:
                # a connection accepted as stop() began is closed here: stop() may have
                # shut down the ones it knew of already
                refused = len(self._conns) >= MAX_CONNECTIONS or self._stop.is_set()
                if not refused:
                    self._conns.add(conn)
            if refused:
                conn.close()
                continue
            self._spawn(self._serve, "scpi-conn", conn)

    def _serve(self, conn: socket.socket) -> None:
        conn.setblocking(True)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        seconds = int(SEND_TIMEOUT_S)
        micros = int((SEND_TIMEOUT_S - seconds) * 1e6)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", seconds, micros))
        buf = bytearray()
        overlong = False
        try:
            while not self._stop.is_set():
                chunk = conn.recv(65536)  # stop() shuts the socket down: b"" then
                if not chunk:
                    return
                buf.extend(chunk)
                while (nl := buf.find(b"\n")) >= 0:
                    line = bytes(buf[:nl])
                    del buf[: nl + 1]
                    if overlong or nl > MAX_LINE_BYTES:  # refused whole, however it arrived
                        if not overlong:
                            self.push_error(-223, "Too much data")
                        overlong = False
                        continue
                    if not self._handle_line(conn, line):
                        return
                if len(buf) > MAX_LINE_BYTES:
                    self.push_error(-223, "Too much data")
                    buf.clear()
                    overlong = True
        except OSError:
            return
        finally:
            with self._conn_lock:
                self._conns.discard(conn)
            conn.close()

    def _handle_line(self, conn: socket.socket, raw: bytes) -> bool:
        """Execute one message; False if the reply could not be sent (drop the client)."""
        reply = self.execute(raw)
        if reply is None:
            return True
        data = reply if isinstance(reply, bytes) else reply.encode("ascii") + b"\n"
        try:
            conn.sendall(data)  # SO_SNDTIMEO: a send stuck SEND_TIMEOUT_S fails (EAGAIN)
        except OSError:
            return False
        return True

    def execute(self, raw: bytes) -> Reply:
        """Parse and run one program message (one line, no `;` compounding)."""
        try:
            text = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            self.push_error(-101, "Invalid character")
            return None
        if not text:
            return None
        header, *rest_ = text.split(maxsplit=1)
        rest = rest_[0] if rest_ else ""
        query = header.endswith("?")
        tokens = [t.upper() for t in header.rstrip("?").lstrip(":").split(":")]
        params = [p.strip() for p in rest.split(",")] if rest.strip() else []
        key = (tuple(tokens), query)
        if key in self._resolved:
            cmd = self._resolved[key]
        else:
            cmd = next((c for c in self._commands if c.matches(tokens, query)), None)
            if len(self._resolved) < MAX_RESOLVED:  # a client's made-up headers stay bounded
                self._resolved[key] = cmd
        if cmd is None:
            self.push_error(-113, "Undefined header")
            return None
        try:
            return cmd.handler(params)
        except ScpiError as e:
            self.push_error(e.code, e.message)
            return None

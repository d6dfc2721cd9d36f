"""A synchronous client of a labgrid coordinator: places, reservations, acquire and release.

labgrid (26.x) is the lab's scheduler: exporters publish each jig's resources, the
coordinator hands places out, people share them with `labgrid-client`. Tally talks to
the coordinator through labgrid's own client library (`ClientSession`, asyncio and
grpc.aio), not its command line. grpc.aio cannot serve channels on event loops in
several threads of one process, so every client of a process shares one loop in one
daemon thread; each public method submits a coroutine there and waits a bounded time.

A client's identity is labgrid's: "<hostname>/<username>" from `LG_HOSTNAME` /
`LG_USERNAME`, else the system's. Every pytest-xdist worker of a run has the same one.
The coordinator does not release a place when its holder dies, and a reservation left
allocated blocks the place for others for about a minute: `release` is always called
(the plugin's cleanup) and always cancels the reservation it made.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from labgrid.remote.client import ClientSession
from labgrid.remote.common import TAG_KEY, Place, Reservation, ReservationState, ResourceEntry
from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2
from labgrid.remote.generated.labgrid_coordinator_pb2_grpc import CoordinatorStub

from harness.errors import LeaseError

DEFAULT_PORT = 20408
CONNECT_TIMEOUT_S = 10.0
RPC_TIMEOUT_S = 10.0
POLL_S = 0.5
# As ClientSession sets them (labgrid 26), plus a connection of its own per session: the
# coordinator keys a client by its TCP peer and allows one stream per peer, and grpc would
# otherwise share one connection between the sessions of a process.
CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 7500),
    ("grpc.keepalive_timeout_ms", 10000),
    ("grpc.http2.ping_timeout_ms", 10000),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.use_local_subchannel_pool", 1),
]

T = TypeVar("T")


class LabgridError(LeaseError):
    """The coordinator, a place or a reservation failed us (one line, for the user)."""


class PlaceBusyError(LabgridError):
    """No place could be had within the wait: someone else holds or reserved it."""

    def __init__(self, message: str, holder: str | None) -> None:
        super().__init__(message)
        self.holder = holder


@dataclass(frozen=True)
class Hold:
    """A place this process uses: what to give back, and whether it is ours to give."""

    coordinator: str
    identity: str  # "<hostname>/<username>" that holds it
    place: str
    acquired_here: bool  # False: this identity held it already, so it is not released
    token: str | None = None  # the reservation made for it (always cancelled)


def parse_tags(pairs: Iterable[str]) -> dict[str, str]:
    """`["rig=glasses", "site=b2"]` as labgrid's reservation filter, checked like
    `labgrid-client reserve` checks it."""
    tags: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not TAG_KEY.fullmatch(key) or not value:
            raise LabgridError(
                f"--lg-place-tag {pair!r}: expected KEY=VALUE with KEY like [a-z][a-z0-9_]+"
            )
        tags[key] = value
    return tags


_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def _shared_loop() -> asyncio.AbstractEventLoop:
    """The process's one event loop for labgrid, running in a daemon thread."""
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="labgrid-loop", daemon=True).start()
        return _loop


def with_port(address: str) -> str:
    """HOST[:PORT] with labgrid's default port filled in."""
    return address if ":" in address.rsplit("]", 1)[-1] else f"{address}:{DEFAULT_PORT}"


class LabgridClient:
    """One session with a coordinator (context manager)."""

    def __init__(
        self,
        address: str,
        *,
        hostname: str | None = None,
        username: str | None = None,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
    ) -> None:
        self.address = with_port(address)
        self._loop = _shared_loop()
        self.session: Any = None

        async def start() -> Any:
            # Created in the loop's thread: grpc.aio binds a channel to the running loop.
            s = ClientSession(self.address, self._loop)
            await s.channel.close()
            s.channel = grpc.aio.insecure_channel(target=self.address, options=CHANNEL_OPTIONS)
            s.stub = CoordinatorStub(s.channel)
            if hostname:
                s.gethostname = lambda: hostname
            if username:
                s.getuser = lambda: username
            await s.start()
            return s

        what = f"connect to the labgrid coordinator at {self.address}"
        self.session = self._run(start(), connect_timeout_s, what)

    @property
    def identity(self) -> str:
        return f"{self.session.gethostname()}/{self.session.getuser()}"

    def _run(self, coro: Coroutine[Any, Any, T], timeout_s: float, what: str) -> T:
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return fut.result(timeout_s)
        except TimeoutError:
            fut.cancel()
            raise LabgridError(f"labgrid: no answer within {timeout_s:g} s to {what}") from None
        except grpc.aio.AioRpcError as exc:
            raise LabgridError(f"labgrid: {what}: {exc.details()}") from None
        except Exception as exc:  # labgrid's own ServerError: "Could not connect ..."
            if type(exc).__module__.startswith("labgrid"):
                raise LabgridError(f"labgrid: {what}: {exc}") from None
            raise

    def call(self, rpc: str, request: Any, *, sync: bool = True) -> Any:
        """A unary RPC of the coordinator; then (by default) wait until our view of the
        places and resources includes its effect."""

        async def go() -> Any:
            answer = await getattr(self.session.stub, rpc)(request)
            if sync:
                await self.session.sync_with_coordinator()
            return answer

        return self._run(go(), RPC_TIMEOUT_S, rpc)

    def refresh(self) -> None:
        self._run(self.session.sync_with_coordinator(), RPC_TIMEOUT_S, "sync")

    def close(self) -> None:
        if self.session is None:
            return
        session, self.session = self.session, None

        async def stop() -> None:
            await session.stop()
            await session.close()

        with contextlib.suppress(LabgridError):
            self._run(stop(), 5.0, "close the session")

    def __enter__(self) -> LabgridClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what the coordinator knows ---------------------------------------------------

    def places(self) -> dict[str, Place]:
        self.refresh()
        return dict(self.session.places)

    def place(self, name: str) -> Place:
        self.refresh()
        try:
            return self.session.places[name]
        except KeyError:
            raise LabgridError(
                f"labgrid: no place {name!r} on the coordinator at {self.address}"
            ) from None

    def resource(self, path: tuple[str, str, str, str]) -> ResourceEntry | None:
        exporter, group, _cls, name = path
        return self.session.resources.get(exporter, {}).get(group, {}).get(name)

    def exported(self) -> list[tuple[tuple[str, str, str, str], ResourceEntry]]:
        """Every available resource: (exporter, group, class, name) and its entry."""
        return [
            ((exp, grp, r.data["cls"], name), r)
            for exp, groups in self.session.resources.items()
            for grp, group in groups.items()
            for name, r in group.items()
            if r.data.get("cls") and r.data.get("avail")  # a gone exporter leaves {}
        ]

    def unmatched(self, name: str) -> list[str]:
        """The place's matches no available resource satisfies (an exporter is down)."""
        place = self.place(name)
        paths = [p for p, _ in self.exported()]
        return [str(m) for m in place.matches if not any(m.ismatch(p) for p in paths)]

    def wait_resources(self, name: str, timeout_s: float) -> None:
        """Wait (bounded) until every match of place `name` has an exported resource."""
        deadline = time.monotonic() + timeout_s
        while missing := self.unmatched(name):
            if time.monotonic() >= deadline:
                raise LabgridError(
                    f"labgrid place {name!r}: nothing exported for {', '.join(missing)}"
                )
            time.sleep(0.1)

    # -- places (a lab's set-up; Tally's tests and benchmarks make their own) -----------

    def create_place(
        self,
        name: str,
        matches: Iterable[str],
        tags: Mapping[str, str] | None = None,
        comment: str | None = None,
    ) -> Place:
        """Add place `name` (if new) with `matches` ("exporter/group/cls[/name]") and tags."""
        if name not in self.places():
            self.call("AddPlace", pb2.AddPlaceRequest(name=name))
        for pattern in matches:
            if not self.session.places[name].hasmatch(pattern.split("/")):
                req = pb2.AddPlaceMatchRequest(placename=name, pattern=pattern)
                self.call("AddPlaceMatch", req)
        if tags is not None:
            self.call("SetPlaceTags", pb2.SetPlaceTagsRequest(placename=name, tags=dict(tags)))
        if comment is not None:
            req = pb2.SetPlaceCommentRequest(placename=name, comment=comment)
            self.call("SetPlaceComment", req)
        return self.session.places[name]

    # -- reservations --------------------------------------------------------------------

    def reserve(self, filters: Mapping[str, str]) -> Reservation:
        req = pb2.CreateReservationRequest(
            filters={"main": pb2.Reservation.Filter(filter=dict(filters))}, prio=0.0
        )
        return Reservation.from_pb2(self.call("CreateReservation", req).reservation)

    def reservations(self) -> list[Reservation]:
        answer = self.call("GetReservations", pb2.GetReservationsRequest(), sync=False)
        return [Reservation.from_pb2(r) for r in answer.reservations]

    def cancel(self, token: str) -> None:
        with contextlib.suppress(LabgridError):  # expired or cancelled already
            self.call("CancelReservation", pb2.CancelReservationRequest(token=token))

    def wait_allocated(self, token: str, wait_s: float) -> str | None:
        """Poll the reservation (which keeps it alive) until a place is allocated to it;
        that place's name, or None when `wait_s` has passed."""
        deadline = time.monotonic() + wait_s
        while True:
            req = pb2.PollReservationRequest(token=token)
            res = Reservation.from_pb2(self.call("PollReservation", req, sync=False).reservation)
            if res.state in (ReservationState.allocated, ReservationState.acquired):
                return res.allocations["main"][0]
            if res.state is not ReservationState.waiting:
                raise LabgridError(f"labgrid: reservation {token} is {res.state.name}")
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(POLL_S, left))

    def reserved_by(self, place: Place) -> str:
        """Who the reservation allocated to `place` belongs to (without polling it, which
        would keep someone else's reservation alive)."""
        for r in self.reservations():
            if r.token == place.reservation:
                return str(r.owner)
        return f"reservation {place.reservation}"

    # -- acquire and release -----------------------------------------------------------

    def _free_for_us(self, place: Place) -> bool:
        """Not acquired, and not allocated to someone else's reservation."""
        if place.acquired:
            return False
        return not place.reservation or self.reserved_by(place) == self.identity

    def _acquire(self, name: str) -> None:
        missing = self.unmatched(name)
        if missing:
            raise LabgridError(f"labgrid place {name!r}: nothing exported for {', '.join(missing)}")
        self.call("AcquirePlace", pb2.AcquirePlaceRequest(placename=name))

    def acquire(self, name: str, wait_s: float) -> Hold:
        """Acquire place `name`, or use it if this identity holds it already.

        Held by someone else: reserve it (a queue others see in `labgrid-client
        reservations`), wait at most `wait_s` for the reservation, then acquire;
        otherwise cancel the reservation and raise `PlaceBusyError` naming the holder.
        """
        place = self.place(name)
        me = self.identity
        if place.acquired == me or (place.acquired and me in place.allowed):
            return Hold(self.address, self.identity, name, acquired_here=False)
        if self._free_for_us(place):
            try:
                self._acquire(name)
                return Hold(self.address, self.identity, name, acquired_here=True)
            except LabgridError:
                if self._free_for_us(self.place(name)):
                    raise  # not a lost race: a real failure (a resource used elsewhere)
        res = self.reserve({"name": name})
        try:
            if self.wait_allocated(res.token, wait_s) is None:
                place = self.place(name)
                if place.acquired:
                    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(place.changed))
                    who = f"held by {place.acquired} since {since}"
                else:
                    who = f"reserved by {self.reserved_by(place)}"
                raise PlaceBusyError(
                    f"labgrid place {name!r} is {who}; gave up after waiting {wait_s:g} s",
                    place.acquired,
                )
            self._acquire(name)
            return Hold(self.address, self.identity, name, acquired_here=True, token=res.token)
        except BaseException:
            self.cancel(res.token)
            raise

    def acquire_tagged(self, tags: Mapping[str, str], wait_s: float) -> Hold:
        """Reserve and acquire any place whose tags include `tags`. The coordinator
        allocates a place to one reservation at a time, so workers get distinct places."""
        res = self.reserve(tags)
        try:
            name = self.wait_allocated(res.token, wait_s)
            if name is None:
                wanted = " ".join(f"{k}={v}" for k, v in sorted(tags.items()))
                busy = [
                    f"{p.name} ({p.acquired or 'reserved'})"
                    for p in self.places().values()
                    if set(tags.items()) <= set(p.tags.items())
                ]
                raise PlaceBusyError(
                    f"labgrid: no place tagged {wanted} became free within {wait_s:g} s; "
                    + (f"all taken: {', '.join(sorted(busy))}" if busy else "none has these tags"),
                    None,
                )
            self._acquire(name)
            return Hold(self.address, self.identity, name, acquired_here=True, token=res.token)
        except BaseException:
            self.cancel(res.token)
            raise

    def release(self, hold: Hold) -> None:
        """Give back what `hold` acquired (if this identity still holds it) and cancel its
        reservation."""
        try:
            if hold.acquired_here and self.place(hold.place).acquired == self.identity:
                self.call("ReleasePlace", pb2.ReleasePlaceRequest(placename=hold.place))
        finally:
            if hold.token:
                self.cancel(hold.token)

    def kick(self, name: str) -> None:
        """Release place `name` whoever holds it (`labgrid-client release --kick`): for a
        lab's admin, and a test that cleans up after a failure."""
        holder = self.place(name).acquired
        if holder:
            req = pb2.ReleasePlaceRequest(placename=name, fromuser=holder)
            self.call("ReleasePlace", req)


def release(hold: Hold) -> None:
    """Release `hold` over a session of its own (the placement's session is long closed)."""
    if not hold.acquired_here and not hold.token:
        return
    hostname, _, username = hold.identity.partition("/")
    with LabgridClient(hold.coordinator, hostname=hostname, username=username) as client:
        client.release(hold)

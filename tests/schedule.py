"""Hand the harness's own tests to pytest-xdist workers as the runs and the CPU allow.

Most of `make test`'s CPU goes to ~60 whole-suite runs of simulated devices made in the
background (tests/runs.py), ~18 at once, each a bench whose simulated device must answer
within 1.5 s. A test that reads a run blocks its worker until the run is done; any other
test started beside the runs adds its own benches and subprocesses. pytest-xdist's own
schedulers hand tests out in a fixed order, so workers sat blocked on runs far from done
while the CPU had room (and, ordered the other way, other tests starved the runs' devices
into false BROKEN results). `RunAwareScheduling` decides each time a worker needs a test.

An xdist worker starts a test only once it knows the one after it, so a worker short of
work holds one test unstarted, and what it is sent starts that one. The choice:

1. a test whose run is done (it only reads it back), unless that would start a held
   other test the cores cannot take now;
2. another test, if no test waits on a run any more; the test whose run should be done
   first, if no other test is left (begun: by how long it took last time; then those not
   yet begun, in the order they will be);
3. if the worker holds another test: the next other test, if the held one may start (the
   cores less than `ADMIT_BUSY` busy over the last seconds and, unless it took under
   `SHORT_S` last time, no such test begun in the last `ADMIT_GAP_S`, so the measurement
   sees each before the next; within the gap a short one is held next); else nothing: it
   idles, never queueing a wait behind another test;
4. if it holds nothing, or a reader of a finished run: another test to hold, if the cores
   have room; else the reader whose run should be done first, unless `FREE_SHARE` of the
   workers would no longer be free of the runs: then another test to hold. So when the
   cores empty before the last runs end, some workers are not all stuck waiting on them
   (measured: a minute at ~40 % busy);
5. if it holds a reader of a run not done: nothing while `RUNNING` other workers run a
   test (it idles); else the reader whose run should be done first (the held one starts
   and waits).

Tests longer than a run (`Plan.first`) are begun at once, before all these: begun last,
they would end the session late.

pytest-xdist's loop runs the scheduler only when a worker reports, so a `Ticker` asks it
to look again every `TICK_S` through the loop's own queue: otherwise a run that ends, or
cores that empty, while every worker holds a reader or waits on a run go unseen until
some test ends (a 20-50 s lull at ~40 % busy near the end of the runs, measured).

Which test reads which runs, the workers write at collection (`write_plan`); the run's own
files say whether it has begun and whether it is done (tests/runs.py `RunPaths`). Tests
of one `xdist_group` go to one worker together, as with `--dist loadgroup`.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScheduling

ADMIT_BUSY = 0.70  # both cores' busy fraction below which another test may start
ADMIT_GAP_S = 3.0  # at least this long between two longer tests started beside the runs
SHORT_S = 2.0  # a test that took less than this is not held to the gap
RUNNING = 2  # a worker may idle only while at least this many others run a test
FREE_SHARE = 1 / 3  # this share of the workers (rounded down) never waits on a run
WINDOW_S = 5.0  # the busy fraction is measured over this long
TICK_S = 2.0  # the choices are looked at again this often without a test ending
PLAN = "plan.json"
LOG = "schedule.log"


@dataclass(frozen=True)
class Waits:
    """The run a test reads: the file that says it has begun, those that say it is done
    (one a half), and about how long it takes (seconds, as last measured)."""

    began: Path
    results: tuple[Path, ...]
    seconds: float

    def done(self) -> bool:
        return all(p.exists() for p in self.results)

    def expected(self) -> tuple[int, float]:
        """Sorts by when the run should be done: begun ones by their expected end (wall
        clock), then the others longest first, the order they are begun in."""
        start = _mtime(self.began)
        return (1, -self.seconds) if start is None else (0, start + self.seconds)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


@dataclass(frozen=True)
class Plan:
    """Which test reads which runs, and which other tests are begun at once (longer than
    a run: begun last, they would end the session late)."""

    readers: Mapping[str, Waits]
    first: frozenset[str] = frozenset()
    seconds: Mapping[str, float] = field(default_factory=dict)  # how long each test took


def write_plan(path: Path, plan: Plan) -> None:
    """Write the plan (every worker writes the same; atomically)."""
    readers = {
        nodeid: {
            "began": str(w.began),
            "results": [str(p) for p in w.results],
            "seconds": w.seconds,
        }
        for nodeid, w in plan.readers.items()
    }
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    data = {"readers": readers, "first": sorted(plan.first), "seconds": dict(plan.seconds)}
    tmp.write_text(json.dumps(data), "utf-8")
    tmp.replace(path)


def read_plan(path: Path) -> Plan | None:
    """The plan the workers wrote, or None if there is none (yet)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    readers = {
        nodeid: Waits(
            Path(d["began"]),
            tuple(Path(p) for p in d["results"]),
            float(d["seconds"]),
        )
        for nodeid, d in data["readers"].items()
    }
    return Plan(readers, frozenset(data["first"]), data.get("seconds", {}))


class CpuBusy:
    """The busy fraction of all cores over the last `window_s`, from /proc/stat, sampled
    once a second by a daemon thread; None where it cannot be read (not Linux)."""

    def __init__(self, window_s: float = WINDOW_S, stat: Path = Path("/proc/stat")) -> None:
        self._stat = stat
        self._samples: deque[tuple[float, int, int]] = deque(maxlen=int(window_s) + 1)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def _read(self) -> tuple[int, int] | None:
        try:
            with self._stat.open() as f:
                fields = [int(x) for x in f.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        if len(fields) < 5:
            return None
        total = sum(fields)
        idle = fields[3] + fields[4]  # idle, iowait
        return total - idle, total

    def sample(self) -> None:
        got = self._read()
        if got is not None:
            with self._lock:
                self._samples.append((time.monotonic(), *got))

    def _loop(self) -> None:
        while True:
            self.sample()
            time.sleep(1.0)

    def start(self) -> CpuBusy:
        if self._thread is None and self._read() is not None:
            self.sample()
            self._thread = threading.Thread(target=self._loop, name="cpu-busy", daemon=True)
            self._thread.start()
        return self

    def busy(self) -> float | None:
        with self._lock:
            if len(self._samples) < 2:
                return None
            (_, b0, t0), (_, b1, t1) = self._samples[0], self._samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else None


class Ticker:
    """Puts an event asking for `recheck` on pytest-xdist's loop queue every `every_s` (the
    loop calls `worker_<event>` on its session for each event it takes: the one method this
    adds). A daemon thread; events left when the loop has ended are never read."""

    EVENT = "tally_recheck"

    def __init__(self, dsession: Any, sched: RunAwareScheduling, every_s: float = TICK_S) -> None:
        self._dsession = dsession
        self._sched = sched
        self._every_s = every_s
        self._thread = threading.Thread(target=self._loop, name="schedule-tick", daemon=True)

    def start(self) -> Ticker:
        setattr(self._dsession, f"worker_{self.EVENT}", self._sched.recheck)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while True:
            time.sleep(self._every_s)
            self._dsession.queue.put((self.EVENT, {}))


class RunAwareScheduling(LoadScheduling):
    """pytest-xdist's load scheduling, each test chosen when a worker needs one (above)."""

    def __init__(
        self,
        config: pytest.Config,
        log: Any,
        plan_path: Path,
        busy: Callable[[], float | None],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(config, log)
        self._plan_path = plan_path
        self._plan: Plan | None = None
        self._busy = busy
        self._clock = clock
        self._last_admitted = float("-inf")
        self.admitted = 0  # other tests started beside the runs still to be made

    def schedule(self) -> None:
        assert self.collection_is_completed
        if self.collection is None:
            if not self._check_nodes_have_same_collection():
                self.log("**Different tests collected, aborting run**")
                return
            self.collection = next(iter(self.node2collection.values()))
            self.pending[:] = range(len(self.collection))
        for node in self.nodes:
            self.check_schedule(node)

    def check_schedule(self, node: Any, duration: float = 0) -> None:
        """Keep two tests on the node (one running, the next: an xdist worker starts a
        test only once it knows the one after it)."""
        if node.shutting_down:
            return
        if not self.pending:
            node.shutdown()
            return
        while len(self.node2pending[node]) < 2 and self.pending:
            unit = self._pick(node)
            if not unit:  # idle: the worker holds its test unstarted
                return
            for i in unit:
                self.pending.remove(i)
            self.node2pending[node].extend(unit)
            node.send_runtest_some(unit)

    def mark_test_complete(self, node: Any, item_index: int, duration: float = 0) -> None:
        """Any test's end is when an idle worker may be given one (the CPU may allow it)."""
        self.node2pending[node].remove(item_index)
        self.recheck()

    def recheck(self) -> None:
        """Look at every worker's choice again (a test ended, or the `Ticker` asks)."""
        if self.collection is None:  # not scheduled yet
            return
        for n in self.nodes:
            self.check_schedule(n)

    # -- the choice --------------------------------------------------------------------

    @property
    def plan(self) -> Plan:
        if self._plan is None:  # read until the workers have written it
            self._plan = read_plan(self._plan_path)
        return self._plan or Plan({})

    def _waits(self, i: int) -> Waits | None:
        assert self.collection is not None
        return self.plan.readers.get(self.collection[i])

    def _pick(self, node: Any) -> list[int]:
        """The node's next test (an empty list: none now, see the module's doc). What is
        sent is held behind the node's held test, and starts that one."""
        assert self.collection is not None
        readers = {i: w for i in self.pending if (w := self._waits(i)) is not None}
        others = [i for i in self.pending if i not in readers]
        queued = self.node2pending[node]
        held = queued[-1] if queued else None  # what the node starts once sent another
        held_waits = None if held is None else self._waits(held)
        holds_other = held is not None and held_waits is None
        for i, w in readers.items():
            if w.done():
                # ... unless it would start a held other test the cores cannot take now
                if holds_other and not self._admit(held):
                    break
                return self._note("done", self._unit(i))
        for i in others:
            if self.collection[i] in self.plan.first:
                return self._note("first", self._unit(i))
        if not readers:
            return self._note("other", self._unit(others[0]))
        soonest = min(readers, key=lambda i: readers[i].expected())
        if not others:
            return self._note("waits", self._unit(soonest))
        if holds_other:  # started beside the runs as the cores allow; never behind a wait
            if not self._admit(held):
                return []
            gap = self._clock() - self._last_admitted < ADMIT_GAP_S
            after = next((i for i in others if self._short(i)), others[0]) if gap else others[0]
            return self._note("beside", self._unit(after))  # within a gap, a short one next
        if held_waits is None or held_waits.done():  # nothing, or a quick reader, starts
            if self._room():
                return self._note("holds", self._unit(others[0]))
            if sum(self._pinned(n) for n in self.nodes if n is not node) >= self._may_pin():
                return self._note("keeps", self._unit(others[0]))  # kept free of the runs
            return self._note("waits", self._unit(soonest))
        running = sum(len(self.node2pending[n]) >= 2 for n in self.nodes if n is not node)
        if running >= RUNNING:  # it holds a reader whose run is not done: it idles
            return []
        return self._note("waits", self._unit(soonest))

    def _pinned(self, node: Any) -> bool:
        """Whether the node runs or holds a test that waits on a run not yet done."""
        waits = (self._waits(i) for i in self.node2pending[node])
        return any(w is not None and not w.done() for w in waits)

    def _may_pin(self) -> int:
        """How many workers may wait on runs at once: the rest (`FREE_SHARE`) are kept for
        other tests, to take them as soon as the cores empty, not once a run has ended."""
        return len(self.nodes) - int(len(self.nodes) * FREE_SHARE)

    def _note(self, why: str, unit: list[int]) -> list[int]:
        """Log the choice (`schedule.log` beside the plan: time, why, busy, first test)."""
        assert self.collection is not None
        busy = self._busy()
        line = f"{time.time():.1f} {why} {'-' if busy is None else f'{busy:.2f}'} "
        with contextlib.suppress(OSError), self._plan_path.with_name(LOG).open("a") as f:
            f.write(line + self.collection[unit[0]] + "\n")
        return unit

    def _admit(self, i: int) -> bool:
        """Whether test `i` may start now beside the runs still to be made (counted if so):
        the cores under `ADMIT_BUSY`, and, unless it is short, no longer one started within
        `ADMIT_GAP_S` (the busy reading sees each before the next)."""
        if not self._room():
            return False
        if not self._short(i):
            now = self._clock()
            if now - self._last_admitted < ADMIT_GAP_S:
                return False
            self._last_admitted = now
        self.admitted += 1
        return True

    def _room(self) -> bool:
        """Whether the cores were under `ADMIT_BUSY` busy (no reading: no)."""
        busy = self._busy()
        return busy is not None and busy < ADMIT_BUSY

    def _short(self, i: int) -> bool:
        assert self.collection is not None
        return self.plan.seconds.get(self.collection[i], SHORT_S) < SHORT_S

    def _unit(self, i: int) -> list[int]:
        """Test `i`, with the rest of its xdist group (`nodeid@group`, --dist loadgroup)."""
        assert self.collection is not None
        nodeid = self.collection[i]
        if "@" not in nodeid:
            return [i]
        group = "@" + nodeid.rsplit("@", 1)[1]
        return [j for j in self.pending if self.collection[j].endswith(group)]

"""The scheduler of make test (tests/schedule.py), on stand-in workers and a stand-in CPU
reading: which test a worker is given next, as runs begin and end and the cores fill."""

from __future__ import annotations

import os
import queue
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.schedule import (
    CpuBusy,
    Plan,
    RunAwareScheduling,
    Ticker,
    Waits,
    read_plan,
    write_plan,
)


class Config:
    """What LoadScheduling reads of a pytest config: how many workers, no chunk limit."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def getvalue(self, name: str) -> Any:
        assert name == "tx"
        return [f"{self.workers}*popen"]

    def getoption(self, name: str) -> Any:
        assert name == "maxschedchunk"
        return None


class Node:
    """A worker: the tests it was sent, in order."""

    def __init__(self, name: str) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.sent: list[int] = []
        self.shutting_down = False

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent += indices

    def shutdown(self) -> None:
        self.shutting_down = True


class Bench:
    """Runs as files (tests/runs.py RunPaths), a scheduler over `tests`, a CPU reading."""

    def __init__(
        self,
        root: Path,
        tests: list[str],
        runs: dict[str, float],
        workers: int = 2,
        first: frozenset[str] = frozenset(),
        seconds: dict[str, float] | None = None,
    ) -> None:
        self.root = root
        self.busy: float | None = 0.9
        self.now = 100.0
        self.tests = tests
        plan = {
            t: Waits(root / f"{r}.began", (root / f"{r}.result",), runs[r])
            for t in tests
            if (r := t.split("[")[-1].rstrip("]")) in runs
        }
        write_plan(root / "plan.json", Plan(plan, first, seconds or {}))
        self.sched = RunAwareScheduling(
            Config(workers), None, root / "plan.json", lambda: self.busy, clock=lambda: self.now
        )  # type: ignore[arg-type]
        self.nodes = [Node(f"gw{n}") for n in range(workers)]
        for node in self.nodes:
            self.sched.add_node(node)  # type: ignore[arg-type]
            self.sched.add_node_collection(node, tests)  # type: ignore[arg-type]

    def begin(self, run: str, at: float) -> None:
        path = self.root / f"{run}.began"
        path.write_text("")
        os.utime(path, (at, at))

    def end(self, run: str) -> None:
        (self.root / f"{run}.result").write_text("{}")

    def sent(self, node: int) -> list[str]:
        return [self.tests[i] for i in self.nodes[node].sent]

    def complete(self, node: int) -> None:
        """The node's running test ends (it starts the next; it is sent another)."""
        n = self.nodes[node]
        running = self.sched.node2pending[n][0]  # type: ignore[index]
        self.sched.mark_test_complete(n, running)  # type: ignore[arg-type]


def begun(tmp_path: Path, n: int, others: list[str], workers: int) -> Bench:
    """`n` runs r1..rn, all begun, each read by one test (`read[rN]`), then `others`."""
    runs = {f"r{i}": 100.0 * i for i in range(1, n + 1)}
    b = Bench(tmp_path, [f"read[{r}]" for r in runs] + others, runs, workers=workers)
    for r in runs:
        b.begin(r, time.time())
    return b


def test_a_reader_waits_on_the_run_that_ends_first_while_the_cores_are_busy(
    tmp_path: Path,
) -> None:
    tests = ["read[long]", "read[short]", "read[late]", "other_a", "other_b", "other_c"]
    b = Bench(tmp_path, tests, {"long": 300.0, "short": 100.0, "late": 120.0})
    now = time.time()
    b.begin("long", now)
    b.begin("short", now)  # `late` not begun: it is begun after these
    b.sched.schedule()
    # the run that ends first, then the other begun one, then the one not begun; another
    # test only once no test is left that waits on a run
    assert b.sent(0) == ["read[short]", "read[long]"]
    assert b.sent(1) == ["read[late]", "other_a"]
    assert b.sched.admitted == 0


def test_a_reader_whose_run_is_done_goes_first(tmp_path: Path) -> None:
    tests = ["other_a", "read[x]", "other_b"]
    b = Bench(tmp_path, tests, {"x": 100.0})
    b.begin("x", time.time())
    b.end("x")
    b.sched.schedule()
    assert b.sent(0)[0] == "read[x]"


def test_other_tests_start_beside_the_runs_only_below_the_busy_limit_one_at_a_time(
    tmp_path: Path,
) -> None:
    b = begun(tmp_path, 6, ["other_a", "other_b", "other_c", "other_d"], workers=2)
    b.busy = 0.5
    b.sched.schedule()
    # each worker holds another test; one starts (sent the next), the other's would start
    # within the gap: it idles
    assert b.sent(0) == ["other_a", "other_b"]
    assert b.sent(1) == ["other_c"]
    assert b.sched.admitted == 1
    b.now += 3.5  # the gap passed
    b.end("r1")
    b.complete(0)  # other_a ends; r1's reader goes next, starting other_b
    assert b.sent(0) == ["other_a", "other_b", "read[r1]"]
    assert b.sched.admitted == 2
    b.busy = 0.95  # busy: no other test starts; a worker not kept free waits on a run
    b.now += 10
    b.complete(0)
    assert b.sent(0)[-1] == "read[r2]"
    b.sched.recheck()
    assert b.sent(1) == ["other_c"]


def test_without_a_reading_of_the_cores_no_test_starts_beside_the_runs(tmp_path: Path) -> None:
    tests = ["read[x]", "read[y]", "read[z]", "other_a"]
    b = Bench(tmp_path, tests, {"x": 100.0, "y": 150.0, "z": 200.0})
    for r in "xyz":
        b.begin(r, time.time())
    b.busy = None
    b.sched.schedule()
    assert b.sent(1) == ["read[z]", "other_a"]  # other_a only once no reader is left
    assert b.sched.admitted == 0


def test_a_worker_waiting_on_a_run_is_given_another_reader(tmp_path: Path) -> None:
    tests = ["read[x]", "read[y]", "read[z]", "read[w]", "other_a"]
    runs = {"x": 100.0, "y": 150.0, "z": 200.0, "w": 300.0}
    b = Bench(tmp_path, tests, runs, workers=1)
    for r in "xyz":  # w is still to be begun
        b.begin(r, time.time())
    b.sched.schedule()
    assert b.sent(0) == ["read[x]", "read[y]"]
    b.end("x")
    b.busy = 0.1  # another test could start now, but not queued behind read[y]'s wait
    b.now += 10
    b.complete(0)
    assert b.sent(0)[-1] == "read[z]"
    assert b.sched.admitted == 0


def test_once_no_test_waits_on_a_run_the_rest_go_in_order(tmp_path: Path) -> None:
    tests = ["other_a", "other_b", "other_c", "other_d"]
    b = Bench(tmp_path, tests, {})
    b.busy = 1.0
    b.sched.schedule()
    assert b.sent(0) + b.sent(1) == ["other_a", "other_b", "other_c", "other_d"]
    b.complete(0)
    assert b.nodes[0].shutting_down  # nothing left to send


def test_an_xdist_group_goes_to_one_worker_whole(tmp_path: Path) -> None:
    tests = ["a@g", "other", "b@g", "c@g"]
    b = Bench(tmp_path, tests, {})
    b.sched.schedule()
    assert b.sent(0) == ["a@g", "b@g", "c@g"]
    assert b.sent(1) == ["other"]


def test_the_plan_reads_back_and_a_missing_one_is_none(tmp_path: Path) -> None:
    readers = {"t": Waits(tmp_path / "b", (tmp_path / "r1", tmp_path / "r2"), 12.5)}
    plan = Plan(readers, frozenset({"long"}), {"long": 400.0, "other": 1.5})
    write_plan(tmp_path / "plan.json", plan)
    assert read_plan(tmp_path / "plan.json") == plan
    assert read_plan(tmp_path / "nope.json") is None
    (tmp_path / "bad.json").write_text("{")
    assert read_plan(tmp_path / "bad.json") is None


def test_a_test_longer_than_a_run_is_begun_at_once(tmp_path: Path) -> None:
    tests = ["read[x]", "other_a", "long_one"]
    b = Bench(tmp_path, tests, {"x": 100.0}, first=frozenset({"long_one"}))
    b.begin("x", time.time())
    b.sched.schedule()
    assert b.sent(0)[0] == "long_one"


def test_a_worker_kept_free_of_the_runs_holds_another_test_until_the_cores_empty(
    tmp_path: Path,
) -> None:
    b = begun(tmp_path, 8, ["other_a", "other_b"], workers=3)
    b.sched.schedule()  # busy: two workers wait on runs, the third (a third) is kept free
    assert b.sent(0) == ["read[r1]", "read[r2]"]
    assert b.sent(1) == ["read[r3]", "read[r4]"]
    assert b.sent(2) == ["other_a"]  # held, not started
    b.sched.recheck()
    assert b.sent(2) == ["other_a"]
    b.busy = 0.3  # the cores empty before any run ends: it starts other_a at once
    b.sched.recheck()
    assert b.sent(2) == ["other_a", "other_b"]
    assert b.sched.admitted == 1


def test_a_run_ending_while_every_worker_holds_or_waits_is_seen_at_the_next_tick(
    tmp_path: Path,
) -> None:
    b = begun(tmp_path, 8, ["other_a", "other_b"], workers=4)
    b.sched.schedule()
    assert b.sent(2) == ["read[r5]"]  # holds a reader, idle while two others wait on runs
    assert b.sent(3) == ["other_a"]  # kept free of the runs, idle while the cores are busy
    loop = SimpleNamespace(queue=queue.Queue())  # pytest-xdist's DSession, as far as used
    Ticker(loop, b.sched, every_s=0.01).start()
    b.end("r5")  # the held reader's run ends; no test ends
    name, kwargs = loop.queue.get(timeout=5)
    getattr(loop, f"worker_{name}")(**kwargs)  # what xdist's loop does with an event
    assert b.sent(2) == ["read[r5]", "read[r6]"]  # it started (the next reader held)
    assert b.sent(3) == ["other_a"]


def test_a_short_test_is_not_held_to_the_gap(tmp_path: Path) -> None:
    runs = {f"r{n}": 100.0 * n for n in range(1, 5)}
    tests = [f"read[r{n}]" for n in range(1, 5)] + ["long_a", "long_b", "long_c", "short"]
    took = {"long_a": 30.0, "long_b": 30.0, "long_c": 30.0, "short": 0.5}
    b = Bench(tmp_path, tests, runs, workers=1, seconds=took)
    for r in runs:
        b.begin(r, time.time())
    b.busy = 0.3
    b.sched.schedule()
    assert b.sent(0) == ["long_a", "short"]  # long_a starts; within its gap a short one next
    b.complete(0)  # long_a ends; the short one starts, gap or not
    assert b.sent(0) == ["long_a", "short", "long_b"]
    b.complete(0)  # short ends; long_b would start within the gap: the worker idles
    assert b.sent(0) == ["long_a", "short", "long_b"]
    b.now += 3.5
    b.sched.recheck()  # the gap passed
    assert b.sent(0) == ["long_a", "short", "long_b", "long_c"]
    assert b.sched.admitted == 3


def test_cpu_busy_is_the_share_of_non_idle_time_between_samples(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    cpu = CpuBusy(stat=stat)
    assert cpu.busy() is None  # nothing read yet
    # user nice system idle iowait irq softirq steal
    stat.write_text("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 ...\n")
    cpu.sample()
    stat.write_text("cpu  160 0 80 860 60 0 0 0 0 0\n")  # +90 busy, +70 idle and iowait
    cpu.sample()
    assert cpu.busy() == pytest.approx(90 / 160)
    assert CpuBusy(stat=tmp_path / "missing").start().busy() is None

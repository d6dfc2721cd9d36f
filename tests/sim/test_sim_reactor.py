"""The simulated device's loop keeps its own order under a starved thread: what came due
before a request was read happens before the request is answered."""

from __future__ import annotations

import os
import select
import threading
import time
from pathlib import Path

import pytest

from harness.sim import reactor as reactor_module
from harness.sim.pty_port import PtyPort
from harness.sim.reactor import Reactor


def test_a_change_due_before_a_request_is_read_happens_before_its_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, bool]] = []
    changed = threading.Event()
    port = PtyPort(tmp_path / "dut")
    port.open()
    loop = Reactor(port, lambda data, t: seen.append((data.decode(), changed.is_set())), "t")
    real = select.select
    starved = threading.Event()

    def late_select(r, w, x, timeout=None):  # type: ignore[no-untyped-def]
        """The first wait the timer bounds returns 0.3 s late, with the request readable
        too: the device's thread did not get the CPU in time."""
        if timeout and not starved.is_set() and port.master in r:
            starved.set()
            time.sleep(0.3)
            return real(r, w, x, 0)
        return real(r, w, x, timeout)

    monkeypatch.setattr(reactor_module.select, "select", late_select)
    loop.call_at(time.monotonic() + 0.1, changed.set)  # e.g. the indicator going off
    loop.start()
    try:
        time.sleep(0.2)  # past the change's time, within the starved wait
        with open(port.path, "wb", buffering=0) as dut:
            dut.write(b'{"id":1,"cmd":"state"}\n')
            deadline = time.monotonic() + 5
            while not seen and time.monotonic() < deadline:
                time.sleep(0.01)
    finally:
        loop.stop()
        port.close()
    assert starved.is_set()
    assert seen == [('{"id":1,"cmd":"state"}\n', True)]
    assert not os.path.exists(port.path)

"""A real power cut through the bench supply: output off, wait, output on, wait for boot.

A `device.reboot` lets the firmware clean up first; a power cut does not, which is what
the power-loss clauses need (consent and deleted data must not survive it either). The
wait for `boot` is bounded, and a DUT whose USB serial port disappears with its power
is reconnected within the same bound.

The same cut revives a device that stopped answering (a hung firmware): `revive` tries
it once; a device still silent after it, or a station without a supply, is a bench
fault with both reasons.
"""

from __future__ import annotations

import time

from harness.bench.assembled import Bench
from harness.errors import BenchFault, ProtocolError, ResponseTimeout, TallyError, TransportError
from harness.wire.messages import Event


def power_cycle(bench: Bench, off_s: float | None = None) -> Event:
    """Cut the DUT's power for `off_s` (the station's `power.off_s`), restore it, and
    return the `boot` event (reason `power_on`); the clock is synced to the new session."""
    supply = bench.power
    if supply is None:
        raise BenchFault("power_cycle needs a bench supply ([power] in the station file)")
    cfg = bench.station.power
    off = off_s if off_s is not None else (cfg.off_s if cfg is not None else 1.0)
    client = bench.client
    client.log.note(f"power cycle: output off for {off:g} s")
    supply.output(False)
    time.sleep(off)
    mark = client.event_mark
    supply.output(True)
    deadline = time.monotonic() + client.boot_timeout_s
    boot = _wait_boot(bench, mark, deadline)
    reason = boot.get("reason")
    if reason != "power_on":
        raise ProtocolError(
            f"after the supply's OUTP ON the device booted with reason {reason!r}, not "
            "'power_on' (power-scpi.md)"
        )
    bench.sync.sync()
    return boot


def _wait_boot(bench: Bench, mark: int, deadline: float) -> Event:
    client = bench.client
    for _ in range(2):
        try:
            return client.wait_boot(since=mark, timeout_s=max(0.0, deadline - time.monotonic()))
        except ResponseTimeout:
            raise
        except TransportError as exc:  # the port went with the power (USB): find it again
            client.log.note(f"power cycle: link lost ({exc}); reconnecting")
            client.reconnect(timeout_s=max(0.1, deadline - time.monotonic()))
    raise ResponseTimeout("no boot event after the power cycle (the port kept failing)")


def revive(bench: Bench, silence: BaseException) -> None:
    """A device that fell silent (`silence`): with a supply, cut its power once and bring it
    back (answering `hello`, clock synced); otherwise, or if it stays silent, BenchFault."""
    client = bench.client
    if bench.power is None:
        raise BenchFault(
            f"the device stopped answering ({silence}) and the station has no bench supply "
            "to power-cycle it"
        ) from silence
    client.log.note(f"device silent ({silence}): power-cycling it once")
    try:
        power_cycle(bench)
        bench.hello = client.hello()
    except TallyError as exc:
        raise BenchFault(
            f"the device stopped answering ({silence}) and is still silent after a power "
            f"cycle: {exc}"
        ) from exc
    client.log.note("power cycle revived the device: it answers again")

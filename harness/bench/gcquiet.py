"""Keep the garbage collector's full passes short while a bench is being timed.

The supply's current poll and the photodiode's trigger time their readings by the host
clock around each exchange, on threads that share the GIL with everything else in the
pytest process. A full (generation 2) collection holds the GIL for its whole length, and
its length grows with every object alive: in a whole-suite run they took 80 ms at the
median and up to 355 ms on a loaded host (18 runs at once on two cores), and each supply
reading whose answer arrived meanwhile was timed that loosely (a reading ±102 ms wide left
a dark gap IND-7 could not bound: a conforming device's INCONCLUSIVE).

So once a bench opens, what is alive by then (modules, classes, the collected tests, the
station) is collected once and frozen out of the collector's reach (`gc.freeze`): later
full passes scan only what the run made since. Once per process: freezing again would also
freeze the short-lived objects of the tests in between, which cycles could then never free.
"""

from __future__ import annotations

import gc
import threading

_frozen = False
_lock = threading.Lock()


def freeze_once() -> bool:
    """Collect, then freeze what is alive; only the first call in a process (True) acts."""
    global _frozen
    with _lock:
        if _frozen:
            return False
        gc.collect()
        gc.freeze()
        _frozen = True
        return True

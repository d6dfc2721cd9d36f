"""Tally: a hardware-in-the-loop harness that checks AI glasses keep their privacy promises."""

import os
from importlib.metadata import PackageNotFoundError, version

# numpy's OpenBLAS keeps a thread per core that spins after each BLAS call (numpy makes one
# as it is imported): `import numpy` took 143 ms of CPU here, 90 ms with one thread, in
# every pytest run, simulator and media sandbox, for arrays too small to gain from threads.
# Set before numpy is imported (children inherit it); a lab may still set its own.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

try:
    __version__ = version("tally-hil")  # the installed distribution's own version
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.1.0"

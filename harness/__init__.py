"""Tally: a hardware-in-the-loop harness that checks AI glasses keep their privacy promises."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tally-hil")  # the installed distribution's own version
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.1.0"

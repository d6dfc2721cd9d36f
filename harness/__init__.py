"""Tally: a hardware-in-the-loop harness that checks AI glasses keep their privacy promises."""

__version__ = "0.1.0"

"""A minimal real-bench station file for the lab tests; `{name}` is its station name."""

from __future__ import annotations

STATION = """
[station]
name = "{name}"
[dut]
port = "/dev/ttyACM0"
[photodiode]
resource = "TCPIP0::10.0.0.5::5025::SOCKET"
visible_v = 0.5
"""

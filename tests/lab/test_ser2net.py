"""Network serial through a real ser2net: the suites pass against an rfc2217:// DUT port.

The simulated bench runs as its own process; ser2net (Debian's 4.x, started here with the
generated config on a free 127.0.0.1 port) serves the device's pty over RFC 2217, and the
station names only network addresses: `rfc2217://127.0.0.1:PORT?ign_set_control` and the
instruments' TCP sockets.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.bench.simproc import SimProcess
from harness.bench.station import load_station
from harness.lab.ser2net import Ser2Net, ser2net_yaml
from harness.wire.client import DeviceClient
from tests.runs import run_pytest

SUITES = (
    "suites/test_indicator.py",
    "suites/test_consent.py",
    "suites/test_minimum.py",
    "suites/test_power.py",
)

pytestmark = pytest.mark.needs("ser2net")


def test_generated_config_serves_one_device_on_one_local_address():
    text = ser2net_yaml("/dev/serial/by-id/usb-glasses", 3001)
    assert "accepter: telnet(rfc2217),tcp(nodelay),127.0.0.1,3001" in text
    assert "connector: serialdev,/dev/serial/by-id/usb-glasses,115200n81,local" in text
    assert "chardelay: false" in text


@pytest.fixture
def networked_station(tmp_path: Path) -> Iterator[Path]:
    """A station file whose every address is a network address of a simulated bench."""
    with SimProcess(log_path=tmp_path / "sim.log") as sim:
        live = load_station(sim.station_path)
        assert live.power is not None
        with Ser2Net(live.dut.port) as s2n:
            path = tmp_path / "net-sim.toml"
            path.write_text(
                '[station]\nname = "net-sim"\n'
                f'[dut]\nport = "{s2n.url}"\n'
                f'[photodiode]\nresource = "{live.photodiode.resource}"\n'
                "visible_v = 0.5\nsample_interval_s = 0.0002\n"
                f'[power]\nresource = "{live.power.resource}"\n'
                '[hypothesis]\nprofile = "sim"\n'
            )
            yield path


@pytest.mark.slow
def test_suites_pass_through_ser2net_rfc2217(tmp_path: Path, networked_station: Path):
    out = tmp_path / "out"
    run = run_pytest([*SUITES, "--station", str(networked_station)], report_dir=out)
    summary = run.summary
    assert run.returncode == 0 and summary["verdict"] == "PASS", (
        f"{summary.get('deviations')}\n{run.output[-4000:]}"
    )
    port = summary["station_config"]["dut"]["port"]
    assert port.startswith("rfc2217://127.0.0.1:") and port.endswith("?ign_set_control")
    logs = list(out.glob("tests/*/serial.log"))
    assert logs and all("> message" in p.read_text() for p in logs)
    currents = list(out.glob("tests/*power*/supply-current.csv"))
    assert currents, "the power suite ran and logged the supply current"


def test_the_link_reads_network_serial_itself(sim_device):
    """After pyserial has negotiated RFC 2217 with ser2net, the link reads the socket
    itself (pyserial's reader thread is gone) and every line is still logged."""
    dev, direct = sim_device()
    direct.close()  # the pty must have one reader at a time: ser2net's
    with Ser2Net(dev.link_path) as s2n, DeviceClient(s2n.url, boot_timeout_s=5) as client:
        assert client.hello().vendor
        replies = [client.clock() for _ in range(200)]
        assert all(a.result["t_us"] < b.result["t_us"] for a, b in itertools.pairwise(replies))
        assert all(r.sent < r.received for r in replies)
        threads = [t.name for t in threading.enumerate()]
        assert not [n for n in threads if "RFC 2217 reader" in n], threads
        messages = [ln for ln in client.log.since(0) if ln.kind == "message"]
        assert len(messages) == 2 * 201 and not client.anomalies
    assert not s2n.config_path.parent.exists(), "ser2net's folder is left behind"

"""ClockSync: device microseconds to host monotonic seconds, with a stated uncertainty.

Each sync point is the tightest of a burst of `clock` exchanges: the device read its
clock somewhere inside that round trip, so half the round trip bounds the error of the
point. Between two points the mapping interpolates linearly (the drift, up to 200 ppm,
is what the slope absorbs); outside, it extrapolates with the estimated drift and lets
the uncertainty grow by the worst drift the estimate leaves open. A reboot starts a new
epoch: the device clock restarts from an arbitrary value.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass

from harness.errors import ProtocolError, ResponseBreach
from harness.judge.timebase import Mapped
from harness.spec import MAX_DRIFT_PPM
from harness.wire.client import DeviceClient

QUANTUM_S = 1e-6  # the device clock's resolution


@dataclass(frozen=True)
class SyncPoint:
    host_t: float  # midpoint of the round trip
    device_s: float  # t_us / 1e6
    half_rtt: float


class ClockSync:
    """Keeps sync points per power session (epoch) and maps device times to host times."""

    def __init__(self, client: DeviceClient, burst: int = 8) -> None:
        self.client = client
        self.burst = burst
        self._points: dict[int, list[SyncPoint]] = {}
        self._lock = threading.Lock()

    def sync(self, burst: int | None = None) -> SyncPoint:
        """One burst of `clock` exchanges; keep the tightest as a new sync point.

        A `boot` arriving mid-burst (a device that just came up) voids the burst; it is
        retried in the new power session, a bounded number of times.
        """
        for _ in range(3):
            best: SyncPoint | None = None
            epoch = self.client.epoch
            for _ in range(burst or self.burst):
                reply = self.client.clock()
                half = (reply.received - reply.sent) / 2
                point = SyncPoint(reply.sent + half, reply.result["t_us"] / 1e6, half)
                if best is None or point.half_rtt < best.half_rtt:
                    best = point
            assert best is not None
            if self.client.epoch == epoch:
                self.add(epoch, best)
                return best
        raise ProtocolError("the device kept rebooting during clock sync")

    def add(self, epoch: int, point: SyncPoint) -> None:
        with self._lock:
            pts = self._points.setdefault(epoch, [])
            if pts and point.device_s < pts[-1].device_s:
                raise ResponseBreach(
                    "clock", "device clock went backwards within one power session"
                )
            pts.append(point)

    def points(self, epoch: int) -> list[SyncPoint]:
        with self._lock:
            return list(self._points.get(epoch, []))

    def drift_ppm(self, epoch: int) -> float | None:
        """Estimated drift of the device clock against the host's (None until two points)."""
        pts = self.points(epoch)
        if len(pts) < 2 or pts[-1].device_s == pts[0].device_s:
            return None
        slope = (pts[-1].host_t - pts[0].host_t) / (pts[-1].device_s - pts[0].device_s)
        return (1 / slope - 1) * 1e6

    def to_host(self, t_us: int, epoch: int) -> Mapped:
        """Map device time `t_us` of power session `epoch` to host time, with uncertainty."""
        pts = self.points(epoch)
        if not pts:
            raise ProtocolError(f"no clock sync for power session {epoch}")
        d = t_us / 1e6
        if len(pts) == 1:
            p = pts[0]
            dist = abs(d - p.device_s)
            return Mapped(p.host_t + (d - p.device_s), p.half_rtt + _drift_bound(dist) + QUANTUM_S)
        keys = [p.device_s for p in pts]
        i = bisect.bisect_left(keys, d)
        if 0 < i < len(pts):
            a, b = pts[i - 1], pts[i]
            slope = _slope(a, b)
            return Mapped(
                a.host_t + (d - a.device_s) * slope, max(a.half_rtt, b.half_rtt) + QUANTUM_S
            )
        # Outside the synced span: extrapolate from the nearer end with the slope both the
        # span and the spec allow (`_outside_slope`), its error growing with the distance.
        first, last = pts[0], pts[-1]
        slope, slope_u = _outside_slope(first, last)
        end = last if i >= len(pts) else first
        dist = abs(d - end.device_s)
        return Mapped(
            end.host_t + (d - end.device_s) * slope, end.half_rtt + dist * slope_u + QUANTUM_S
        )

    def to_device_us(self, host_t: float, epoch: int) -> tuple[float, float]:
        """Map a host time to the device clock of `epoch`: (t_us, expanded uncertainty in µs)."""
        pts = self.points(epoch)
        if not pts:
            raise ProtocolError(f"no clock sync for power session {epoch}")
        # Invert through the nearest point's local mapping; the slope is ~1.
        nearest = min(pts, key=lambda p: abs(p.host_t - host_t))
        approx = (nearest.device_s + (host_t - nearest.host_t)) * 1e6
        m = self.to_host(int(approx), epoch)
        corrected = approx + (host_t - m.t) * 1e6
        return corrected, m.u * 1e6


def _slope(a: SyncPoint, b: SyncPoint) -> float:
    if b.device_s == a.device_s:
        return 1.0
    return (b.host_t - a.host_t) / (b.device_s - a.device_s)


def _outside_slope(first: SyncPoint, last: SyncPoint) -> tuple[float, float]:
    """Host seconds per device second beyond the synced span, and its error bound.

    The span says the slope lies within its endpoints' errors over its length; the spec
    says within the drift bound (200 ppm). Both hold for a conforming device, so the slope
    is the middle of where they overlap. A short span under a loaded host (two sync points
    0.5 s apart, each good to 1.5 ms) says little (+-6000 ppm): the spec's bound then
    decides, and its error is never understated by capping one number and not the other.
    Where the two disagree (a clock drifting beyond the spec) both ranges are kept.
    """
    d = MAX_DRIFT_PPM * 1e-6
    lo, hi = 1 / (1 + d), 1 / (1 - d)
    span = last.device_s - first.device_s
    if span > 0:
        est = (last.host_t - first.host_t) / span
        err = (first.half_rtt + last.half_rtt) / span
        if est - err <= hi and est + err >= lo:
            lo, hi = max(lo, est - err), min(hi, est + err)
        else:
            lo, hi = min(lo, est - err), max(hi, est + err)
    return (lo + hi) / 2, (hi - lo) / 2


def _drift_bound(dist_s: float) -> float:
    """How far a clock within the spec's drift bound can stray over `dist_s` device seconds."""
    d = MAX_DRIFT_PPM * 1e-6
    return dist_s * d / (1 - d)

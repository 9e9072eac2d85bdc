"""Launch events from space-based infrared lines of sight, before any radar track exists.

A geostationary infrared satellite sees the plume of a burning motor as a line of
sight (LOS). Consecutive LOS that stay within an angular gate of each other belong
to one launch; after ``confirm_hits`` of them the detector declares a launch: the
place is where the first LOS meets the altitude the plume typically has when it
clears the clouds, the time is the first detection less the typical climb to that
altitude. Both are rough (tens of kilometres, tens of seconds) and carry their
uncertainty; their worth is that they come a minute before any radar track.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from warnlink import frames
from warnlink.messages import LaunchEvent

FIRST_SIGHT_ALTITUDE_M = 15e3  # plume first seen above the clouds
FIRST_SIGHT_ALTITUDE_SIGMA_M = 7e3
CLIMB_TO_FIRST_SIGHT_S = 40.0  # time to reach that altitude after launch
CLIMB_SIGMA_S = 15.0
MAX_PLUME_ANGULAR_RATE = 2e-4  # rad/s seen from GEO: 7 km/s at 36,000 km


@dataclass
class _Candidate:
    first_t: float
    last_t: float
    last_los: np.ndarray
    first_sat: np.ndarray
    first_los: np.ndarray
    sensors: set[str] = field(default_factory=set)
    hits: int = 1
    declared: bool = False
    source_wall_ns: int = 0


def ray_altitude_intersection(origin: np.ndarray, direction: np.ndarray, altitude_m: float) -> np.ndarray | None:
    """First point where a ray from ``origin`` meets the ellipsoid raised by ``altitude_m``."""
    scale = np.array([frames.WGS84_A + altitude_m, frames.WGS84_A + altitude_m, frames.WGS84_B + altitude_m])
    o = origin / scale
    d = direction / scale
    a = d @ d
    b = 2.0 * o @ d
    c = o @ o - 1.0
    disc = b * b - 4 * a * c
    if disc < 0:
        return None
    s = (-b - np.sqrt(disc)) / (2 * a)
    if s < 0:
        return None
    return origin + s * direction


class LaunchDetector:
    """Turns one nation's infrared reports into LaunchEvents."""

    def __init__(self, nation: str, epoch_ns: int, confirm_hits: int = 3, expire_s: float = 60.0):
        self.nation = nation
        self.epoch_ns = epoch_ns
        self.confirm_hits = confirm_hits
        self.expire_s = expire_s
        self.candidates: list[_Candidate] = []
        self._count = 0
        self._pending: list[LaunchEvent] = []

    def process_ir(self, report, wall_ns: int = 0) -> None:
        t = (report.time_ns - self.epoch_ns) / 1e9
        sat = np.asarray(report.satellite_ecef_m, float)
        self.candidates = [c for c in self.candidates if t - c.last_t <= self.expire_s]
        used: set[int] = set()
        for plot in report.plots:
            los = np.asarray(plot.los_ecef, float)
            los /= np.linalg.norm(los)
            best, best_angle = None, np.inf
            for k, c in enumerate(self.candidates):
                if k in used:
                    continue
                angle = np.arccos(np.clip(c.last_los @ los, -1.0, 1.0))
                gate = 5.0 * report.sigma_los_rad + MAX_PLUME_ANGULAR_RATE * (t - c.last_t)
                if angle < gate and angle < best_angle:
                    best, best_angle = k, angle
            if best is None:
                self.candidates.append(_Candidate(t, t, los, sat, los, {report.sensor_id}, source_wall_ns=wall_ns))
                used.add(len(self.candidates) - 1)
                continue
            c = self.candidates[best]
            used.add(best)
            c.last_t, c.last_los, c.hits = t, los, c.hits + 1
            c.sensors.add(report.sensor_id)
            c.source_wall_ns = max(c.source_wall_ns, wall_ns)
            if c.hits >= self.confirm_hits and not c.declared:
                event = self._declare(c)
                if event is not None:
                    c.declared = True
                    self._pending.append(event)

    def _declare(self, c: _Candidate) -> LaunchEvent | None:
        point = ray_altitude_intersection(c.first_sat, c.first_los, FIRST_SIGHT_ALTITUDE_M)
        if point is None:
            return None
        lat, lon, _ = frames.ecef_to_geodetic(point)
        # Altitude uncertainty slides the point along the LOS: ground error = dh * tan(zenith).
        up = frames.enu_rotation(lat, lon)[2]
        cos_zenith = abs(float(-c.first_los @ up))
        tan_zenith = np.sqrt(max(1.0 - cos_zenith**2, 0.0)) / max(cos_zenith, 0.05)
        sigma = float(np.hypot(FIRST_SIGHT_ALTITUDE_SIGMA_M * tan_zenith, 5e3))
        self._count += 1
        return LaunchEvent(
            origin=self.nation,
            event_id=f"{self.nation}-L{self._count}",
            time_ns=self.epoch_ns + round((c.first_t - CLIMB_TO_FIRST_SIGHT_S) * 1e9),
            lat_rad=float(lat),
            lon_rad=float(lon),
            sigma_position_m=sigma,
            sigma_time_s=CLIMB_SIGMA_S,
            detected_ns=self.epoch_ns + round(c.first_t * 1e9),
            sensors=sorted(c.sensors),
            source_wall_ns=c.source_wall_ns,
        )

    def events(self) -> list[LaunchEvent]:
        """Launch events declared since the last call."""
        out, self._pending = self._pending, []
        return out

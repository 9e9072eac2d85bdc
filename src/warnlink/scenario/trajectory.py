"""A truth trajectory: ECEF position and velocity of one missile at any scenario time.

The flight generator integrates the equations of motion once; this class keeps the
samples and interpolates them with cubic Hermite splines (position with its
derivative the velocity, velocity with its derivative the acceleration), which is
exact to fourth order between samples and costs nothing to evaluate for many times
at once. Before launch and after impact the state is NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import CubicHermiteSpline

from warnlink import frames


@dataclass(frozen=True, eq=False)
class Trajectory:
    """Sampled truth of one flight; times are scenario seconds."""

    launch_id: str
    t: np.ndarray  # (n,) sample times, strictly increasing, t[0] = launch, t[-1] = impact
    r: np.ndarray  # (n, 3) ECEF position, m
    v: np.ndarray  # (n, 3) ECEF velocity, m/s
    a: np.ndarray  # (n, 3) ECEF acceleration (all forces, rotating frame), m/s^2
    t_burnout: float  # end of the last motor burn
    _r_spline: CubicHermiteSpline = field(init=False, repr=False)
    _v_spline: CubicHermiteSpline = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_r_spline", CubicHermiteSpline(self.t, self.r, self.v, axis=0))
        object.__setattr__(self, "_v_spline", CubicHermiteSpline(self.t, self.v, self.a, axis=0))

    @property
    def t_launch(self) -> float:
        return float(self.t[0])

    @property
    def t_impact(self) -> float:
        return float(self.t[-1])

    @property
    def flight_time_s(self) -> float:
        return self.t_impact - self.t_launch

    def in_flight(self, t) -> np.ndarray:
        t = np.asarray(t, float)
        return (t >= self.t[0]) & (t <= self.t[-1])

    def thrusting(self, t) -> np.ndarray:
        """True while a motor burns (the boost phase)."""
        t = np.asarray(t, float)
        return (t >= self.t[0]) & (t < self.t_burnout)

    def state(self, t) -> tuple[np.ndarray, np.ndarray]:
        """ECEF position and velocity (..., 3) at scenario times t; NaN outside the flight."""
        t = np.asarray(t, float)
        inside = self.in_flight(t)
        tc = np.clip(t, self.t[0], self.t[-1])
        r = self._r_spline(tc)
        v = self._v_spline(tc)
        r[~inside] = np.nan
        v[~inside] = np.nan
        return r, v

    def position(self, t) -> np.ndarray:
        return self.state(t)[0]

    def acceleration(self, t) -> np.ndarray:
        """ECEF acceleration (..., 3) at scenario times t (all forces, rotating frame); NaN outside."""
        t = np.asarray(t, float)
        a = self._v_spline.derivative()(np.clip(t, self.t[0], self.t[-1]))
        a[~self.in_flight(t)] = np.nan
        return a

    def geodetic(self, t) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Latitude, longitude (rad) and altitude (m) at scenario times t."""
        return frames.ecef_to_geodetic(self.position(t))

    @property
    def apogee_m(self) -> float:
        """Highest altitude above the ellipsoid over the flight."""
        fine = np.linspace(self.t[0], self.t[-1], 4001)
        alt = frames.altitude(self.position(fine))
        i = int(np.nanargmax(alt))
        # Refine around the sampled maximum.
        lo, hi = fine[max(i - 1, 0)], fine[min(i + 1, len(fine) - 1)]
        finer = np.linspace(lo, hi, 401)
        return float(np.nanmax(frames.altitude(self.position(finer))))

    @property
    def launch_point(self) -> tuple[float, float]:
        """Latitude, longitude (rad) of the launch site."""
        lat, lon, _ = frames.ecef_to_geodetic(self.r[0])
        return float(lat), float(lon)

    @property
    def impact_point(self) -> tuple[float, float]:
        """Latitude, longitude (rad) where the flight meets the ellipsoid."""
        lat, lon, _ = frames.ecef_to_geodetic(self.r[-1])
        return float(lat), float(lon)

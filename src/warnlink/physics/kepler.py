"""Closed-form ballistic arcs over a spherical, non-rotating Earth in vacuum.

These are the textbook relations (Regan & Anandakrishnan, *Dynamics of Atmospheric
Re-Entry*, ch. 3): they give first guesses to the flight solver, define the
minimum-energy range that classifies missiles, and check the numerical integrator.
Angles in radians, lengths in metres, speeds in m/s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from warnlink.frames import EARTH_GM, EARTH_MEAN_RADIUS


@dataclass(frozen=True)
class BallisticArc:
    """A symmetric ellipse from radius r0 back to r0 covering ``range_angle``."""

    speed: float  # at r0
    flight_path_angle: float  # above the local horizontal at r0
    flight_time: float  # r0 to r0
    apogee_radius: float
    eccentricity: float


def arc_through_apogee(range_angle: float, apogee_radius: float, r0: float = EARTH_MEAN_RADIUS) -> BallisticArc:
    """The ellipse that leaves radius r0, peaks at ``apogee_radius`` and returns after ``range_angle``."""
    if not 0.0 < range_angle < 2.0 * np.pi:
        raise ValueError(f"range angle {range_angle} rad must be in (0, 2 pi)")
    if apogee_radius <= r0:
        raise ValueError("apogee must be above the start radius")
    c, s = np.cos(range_angle / 2.0), np.sin(range_angle / 2.0)
    e = (apogee_radius - r0) / (apogee_radius - r0 * c)
    p = apogee_radius * (1.0 - e)
    a = p / (1.0 - e * e)
    speed = np.sqrt(EARTH_GM * (2.0 / r0 - 1.0 / a))
    gamma = np.arctan2(e * s, 1.0 - e * c)
    f0 = np.pi - range_angle / 2.0  # true anomaly at r0, before apogee
    ecc_anomaly = 2.0 * np.arctan(np.sqrt((1.0 - e) / (1.0 + e)) * np.tan(f0 / 2.0))
    mean_anomaly = ecc_anomaly - e * np.sin(ecc_anomaly)
    flight_time = 2.0 * (np.pi - mean_anomaly) / np.sqrt(EARTH_GM / a**3)
    return BallisticArc(float(speed), float(gamma), float(flight_time), float(apogee_radius), float(e))


def min_energy_range_angle(speed, radius) -> np.ndarray:
    """Range angle of the minimum-energy arc for a burnout speed at a radius.

    sin(psi/2) = nu / (2 - nu) with nu = v^2 r / mu; at nu >= 1 the body would orbit, and the
    range is capped at half the Earth's circumference (pi).
    """
    nu = np.asarray(speed, float) ** 2 * np.asarray(radius, float) / EARTH_GM
    ratio = np.clip(nu / (2.0 - np.minimum(nu, 1.0)), 0.0, 1.0)
    return np.where(nu >= 1.0, np.pi, 2.0 * np.arcsin(ratio))


def min_energy_apogee_radius(range_angle, r0: float = EARTH_MEAN_RADIUS) -> np.ndarray:
    """Apogee radius of the minimum-energy arc that covers ``range_angle`` from r0 to r0."""
    s = np.sin(np.asarray(range_angle, float) / 2.0)
    nu = 2.0 * s / (1.0 + s)
    gamma = (np.pi - np.asarray(range_angle, float)) / 4.0
    a = r0 / (2.0 - nu)
    e = np.sqrt(1.0 - nu * (2.0 - nu) * np.cos(gamma) ** 2)
    return a * (1.0 + e)


def burnout_for_arc(r_burnout: float, range_angle: float, apogee_radius: float, r_end: float) -> tuple[float, float]:
    """Speed and flight-path angle at r_burnout for the arc that peaks at ``apogee_radius``
    and comes down to ``r_end`` after ``range_angle``.

    With true anomaly measured from perigee, the burnout lies ``alpha`` before apogee and the
    end ``range_angle - alpha`` after it; both points on the same conic fix alpha, found by
    bisection (the difference of the two eccentricities falls monotonically in alpha).
    """
    from scipy.optimize import brentq

    ra = apogee_radius
    if ra <= max(r_burnout, r_end):
        raise ValueError("apogee must be above both ends of the arc")

    def ecc(r, angle):
        return (ra - r) / (ra - r * np.cos(angle))

    alpha = brentq(lambda al: ecc(r_burnout, al) - ecc(r_end, range_angle - al), 1e-9, range_angle - 1e-9)
    e = ecc(r_burnout, alpha)
    p = ra * (1.0 - e)
    a = p / (1.0 - e * e)
    speed = np.sqrt(EARTH_GM * (2.0 / r_burnout - 1.0 / a))
    gamma = np.arctan2(e * np.sin(alpha), 1.0 - e * np.cos(alpha))
    return float(speed), float(gamma)

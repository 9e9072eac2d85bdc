"""Missile class by minimum-energy range, and whether the flight is lofted.

The class of a missile is how far it could reach on a minimum-energy trajectory
(SRBM < 1,000 km <= MRBM < 3,000 km <= IRBM < 5,500 km <= ICBM), which depends on
its burnout energy, not on where it was aimed: a lofted ICBM that lands 1,000 km
away is still an ICBM. The same formula as the truth side
(:func:`warnlink.scenario.flight.min_energy_range`) is applied to every sigma point
of the track's state, so the class comes with a probability.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from warnlink import frames
from warnlink.prediction.sigma_points import sigma_points
from warnlink.scenario.flight import classify, is_lofted, min_energy_range


@dataclass(frozen=True)
class Classification:
    missile_class: str
    probability: float  # weight of the sigma points that agree with the class
    lofted: bool
    min_energy_range_m: float
    still_boosting: bool  # a motor still burns: the class is a lower bound


def burnout_equivalent(x6: np.ndarray, burnout_ecef: np.ndarray) -> np.ndarray:
    """The state at ``burnout_ecef`` with the same orbital energy as ``x6`` (and its direction of flight).

    Energy is conserved in coasting flight, so a state seen high on a lofted arc, slow at
    apogee, tells the burnout speed; the minimum-energy range must be computed from the
    burnout radius, not from where the missile happens to be.
    """
    r, v = x6[:3], x6[3:6]
    spin = np.cross(frames.OMEGA_VECTOR, r)
    v_in = v + spin
    energy = 0.5 * v_in @ v_in - frames.EARTH_GM / np.linalg.norm(r)
    rb = np.asarray(burnout_ecef, float)
    speed_b = np.sqrt(max(2.0 * (energy + frames.EARTH_GM / np.linalg.norm(rb)), 0.0))
    v_b = v_in / max(np.linalg.norm(v_in), 1e-9) * speed_b - np.cross(frames.OMEGA_VECTOR, rb)
    return np.concatenate([rb, v_b])


def classify_track(x6, P6, t_s: float, boost_probability: float, *, launch_ecef=None, burnout_ecef=None,
                   impact_range_m: float | None = None, apogee_m: float | None = None) -> Classification:
    """Class of one system track from its state (6,) and covariance (6, 6).

    ``launch_ecef`` (the estimated pad; default: the point under the track) gives the
    ground covered during the boost; ``burnout_ecef`` (where the track was first seen
    coasting; default: where it is) the radius its energy is referred to;
    ``impact_range_m`` and ``apogee_m`` (from the impact prediction) decide whether the
    flight is lofted.
    """
    x6 = np.asarray(x6, float).reshape(6)
    P6 = np.asarray(P6, float).reshape(6, 6)
    if launch_ecef is None:
        lat, lon, _ = frames.ecef_to_geodetic(x6[:3])
        launch_ecef = frames.geodetic_to_ecef(lat, lon, 0.0)
    points, weights = sigma_points(x6[None], P6[None])
    if burnout_ecef is not None:
        states = [burnout_equivalent(p, burnout_ecef) for p in points[0]]
    else:
        states = list(points[0])
    ranges = np.array([min_energy_range(launch_ecef, p[:3], p[3:6]) for p in states])
    votes: Counter = Counter()
    for rng_m, w in zip(ranges, weights):
        votes[classify(rng_m)] += w
    best, weight = max(votes.items(), key=lambda kv: kv[1])
    lofted = bool(impact_range_m is not None and apogee_m is not None and is_lofted(impact_range_m, apogee_m))
    return Classification(best, float(min(weight, 1.0)), lofted, float(ranges[0]), bool(boost_probability > 0.5))

"""Radar measurement model: range, azimuth and elevation of ECEF states seen from a site.

h(x) and its Jacobian for extended Kalman updates, and the inverse (a plot to an ECEF
position with its covariance) for starting tracks. Vectorized over states.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from warnlink import frames


@dataclass(frozen=True)
class RadarSite:
    """What a tracker knows of a radar: where it is and how precisely it measures."""

    sensor_id: str
    ecef: np.ndarray  # (3,) m
    rotation: np.ndarray  # (3, 3) rows east, north, up in ECEF
    sigma: np.ndarray  # (3,) range m, azimuth rad, elevation rad

    @classmethod
    def from_geodetic(cls, sensor_id: str, lat: float, lon: float, alt: float, sigma) -> "RadarSite":
        return cls(
            sensor_id,
            frames.geodetic_to_ecef(lat, lon, alt),
            frames.enu_rotation(lat, lon),
            np.asarray(sigma, float),
        )

    @property
    def noise(self) -> np.ndarray:
        return np.diag(self.sigma**2)


def measure(site: RadarSite, r: np.ndarray) -> np.ndarray:
    """Range (m), azimuth (rad, [0, 2pi)), elevation (rad) of ECEF positions (n, 3) -> (n, 3)."""
    enu = (np.asarray(r, float) - site.ecef) @ site.rotation.T
    az, el, rng = frames.enu_to_aer(enu)
    return np.stack([rng, az, el], axis=-1)


def jacobian(site: RadarSite, r: np.ndarray) -> np.ndarray:
    """d(range, azimuth, elevation)/d(ECEF position) (n, 3, 3)."""
    d = (np.asarray(r, float) - site.ecef) @ site.rotation.T
    e, n, u = d[:, 0], d[:, 1], d[:, 2]
    h2 = np.maximum(e * e + n * n, 1e-6)
    h = np.sqrt(h2)
    rho2 = h2 + u * u
    rho = np.sqrt(rho2)
    J = np.zeros((d.shape[0], 3, 3))
    J[:, 0] = d / rho[:, None]
    J[:, 1, 0] = n / h2
    J[:, 1, 1] = -e / h2
    J[:, 2, 0] = -e * u / (rho2 * h)
    J[:, 2, 1] = -n * u / (rho2 * h)
    J[:, 2, 2] = h / rho2
    return J @ site.rotation


def wrap_innovation(nu: np.ndarray) -> np.ndarray:
    """Innovations (..., 3) with the azimuth difference wrapped to (-pi, pi]."""
    nu = np.array(nu, float, copy=True)
    nu[..., 1] = (nu[..., 1] + np.pi) % (2.0 * np.pi) - np.pi
    return nu


def plot_to_ecef(site: RadarSite, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ECEF position (n, 3) and its covariance (n, 3, 3) of plots z (n, 3): range, az, el."""
    z = np.atleast_2d(np.asarray(z, float))
    enu = frames.aer_to_enu(z[:, 1], z[:, 2], z[:, 0])
    r = site.ecef + enu @ site.rotation
    J = jacobian(site, r)  # d z / d r; invert for d r / d z
    Jinv = np.linalg.inv(J)
    cov = Jinv @ site.noise @ np.swapaxes(Jinv, 1, 2)
    return r, cov

"""Earth gravity: point mass plus the J2 oblateness term, in Earth-fixed axes.

J2 is symmetric about the polar axis, so the same formula holds in ECEF and in an
inertial frame sharing its z axis. Vectorized over leading axes.
"""

from __future__ import annotations

import numpy as np

from warnlink.frames import EARTH_GM, EARTH_J2, WGS84_A


def gravity_j2(r: np.ndarray) -> np.ndarray:
    """Gravitational acceleration (m/s^2, shape of r) at ECEF positions r (m, (..., 3))."""
    r = np.asarray(r, float)
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    r2 = x * x + y * y + z * z
    rn = np.sqrt(r2)
    k = -EARTH_GM / (r2 * rn)
    j = 1.5 * EARTH_J2 * (WGS84_A * WGS84_A / r2)
    z2 = 5.0 * z * z / r2
    f_xy = k * (1.0 + j * (1.0 - z2))
    f_z = k * (1.0 + j * (3.0 - z2))
    return np.stack([f_xy * x, f_xy * y, f_z * z], axis=-1)


def gravity_point_mass(r: np.ndarray) -> np.ndarray:
    """Acceleration of a spherical Earth (used by tests and analytic checks)."""
    r = np.asarray(r, float)
    rn = np.linalg.norm(r, axis=-1, keepdims=True)
    return -EARTH_GM * r / rn**3


def gravity_gradient_point_mass(r: np.ndarray) -> np.ndarray:
    """d(gravity)/d(r) (..., 3, 3) of the point-mass term; J2 adds < 0.2 % and is left out.

    Used for the covariance propagation of filters, where this accuracy is ample.
    """
    r = np.asarray(r, float)
    rn = np.linalg.norm(r, axis=-1)
    u = r / rn[..., None]
    eye = np.eye(3)
    return (EARTH_GM / rn**3)[..., None, None] * (3.0 * u[..., :, None] * u[..., None, :] - eye)

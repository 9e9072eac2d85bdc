"""Earth gravity: point mass plus the J2 oblateness term, in Earth-fixed axes; and the
largest terms beyond J2, which the truth flies and the trackers leave to their process noise.

J2 is symmetric about the polar axis, so the same formula holds in ECEF and in an
inertial frame sharing its z axis. Vectorized over leading axes.

Beyond J2 the geopotential's next terms are J3, J4 and the tesseral C22, S22 (EGM2008,
unnormalised), each some 1e-6 of the central term: together 1.2e-4 m/s^2 RMS over the
surface (2e-4 at most), falling as (R / r)^4 to (R / r)^6. A truth without them follows
the trackers' J2 model exactly, and a tracker's process noise for "the gravity beyond J2"
then stands for nothing (`warnlink evaluate scenarios/demo.toml --runs 50`: the lofted
ICBM's midcourse velocity NEES was 2.13 against a J2 truth, 2.91 with these terms flown
and the noise sized for them; 3 is right).
Written out here (potential and gradient of four closed-form terms) because the libraries
that evaluate full geopotential models are large compiled packages for this.
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


# EGM2008 unnormalised coefficients (the normalised C30 = 9.571612e-7, C40 = 5.399658e-7,
# C22 = 2.439384e-6, S22 = -1.400274e-6 times sqrt(7), 3 and sqrt(10/24)); J3 = -C30, J4 = -C40.
EARTH_C30 = 2.532436e-6
EARTH_C40 = 1.619897e-6
EARTH_C22 = 1.574461e-6
EARTH_S22 = -9.038681e-7


def potential_beyond_j2(x: float, y: float, z: float) -> float:
    """Gravitational potential (m^2/s^2, gravity is its gradient) of the J3, J4, C22 and S22
    terms at the ECEF position (x, y, z) in m."""
    r2 = x * x + y * y + z * z
    r = r2**0.5
    a = WGS84_A
    u30 = a**3 * EARTH_C30 * (5.0 * z**3 - 3.0 * z * r2) / (2.0 * r**7)
    u40 = a**4 * EARTH_C40 * (35.0 * z**4 - 30.0 * z * z * r2 + 3.0 * r2 * r2) / (8.0 * r**9)
    u22 = 3.0 * a * a * (EARTH_C22 * (x * x - y * y) + 2.0 * EARTH_S22 * x * y) / r**5
    return EARTH_GM * (u30 + u40 + u22)


def gravity_beyond_j2(x, y, z):
    """Gravitational acceleration (m/s^2) of the J3, J4, C22 and S22 terms at the ECEF
    position (x, y, z) in m: the gradient of :func:`potential_beyond_j2`. Plain floats for
    the truth integrator, which calls it once a step; arrays of positions work alike."""
    r2 = x * x + y * y + z * z
    r = r2**0.5
    a = WGS84_A
    # Each term is c N(x, y, z) / r^k, whose gradient is c (grad N / r^k - k N (x, y, z) / r^(k + 2)).
    c30, n30 = a**3 * EARTH_C30 / 2.0, 5.0 * z**3 - 3.0 * z * r2
    c40, n40 = a**4 * EARTH_C40 / 8.0, 35.0 * z**4 - 30.0 * z * z * r2 + 3.0 * r2 * r2
    c22, n22 = 3.0 * a * a, EARTH_C22 * (x * x - y * y) + 2.0 * EARTH_S22 * x * y
    g30 = (-6.0 * x * z, -6.0 * y * z, 9.0 * z * z - 3.0 * r2)
    g40 = ((12.0 * r2 - 60.0 * z * z) * x, (12.0 * r2 - 60.0 * z * z) * y, 80.0 * z**3 - 48.0 * z * r2)
    g22 = (2.0 * (EARTH_C22 * x + EARTH_S22 * y), 2.0 * (EARTH_S22 * x - EARTH_C22 * y), 0.0)
    out = []
    for i, p in enumerate((x, y, z)):
        gi = (c30 * (g30[i] / r**7 - 7.0 * n30 * p / r**9)
              + c40 * (g40[i] / r**9 - 9.0 * n40 * p / r**11)
              + c22 * (g22[i] / r**5 - 5.0 * n22 * p / r**7))
        out.append(EARTH_GM * gi)
    return out[0], out[1], out[2]

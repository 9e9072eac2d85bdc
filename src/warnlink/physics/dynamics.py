"""Equations of motion of a point mass in the rotating Earth-fixed (ECEF) frame.

    dr/dt = v
    dv/dt = g_J2(r) - 2 w x v - w x (w x r) + a_drag + a_thrust

with w the Earth's rotation vector. The air turns with the Earth, so the velocity
relative to the air is the ECEF velocity v, and drag is -rho |v| v / (2 beta) for a
ballistic coefficient beta = m / (Cd A) in kg/m^2. ``inv_beta`` (1/beta, m^2/kg) is
used so that 0 means "no drag". Vectorized over leading axes.
"""

from __future__ import annotations

import math

import numpy as np

from warnlink.frames import EARTH_GM, EARTH_J2, EARTH_ROTATION_RATE, WGS84_A, WGS84_B
from warnlink.physics.atmosphere import density_fast, density_scalar
from warnlink.physics.gravity import gravity_j2, gravity_point_mass

_W = EARTH_ROTATION_RATE
_A2 = WGS84_A * WGS84_A
_B2 = WGS84_B * WGS84_B
_R_ATMOSPHERE_TOP2 = (WGS84_A + 1000e3) ** 2  # no state inside this radius: above all air


def fast_altitude(r: np.ndarray) -> np.ndarray:
    """Height (m) above the ellipsoid measured along the geocentric radius.

    Exact on the ellipsoid and within a few metres of the geodetic height up to
    1,000 km: good enough for air density and ground-crossing tests, and much cheaper
    than a full geodetic conversion inside the equations of motion.
    """
    r = np.asarray(r, float)
    rn2, _, surface = _surface_along(r)
    return np.sqrt(rn2) - surface


def _surface_along(r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """|r|^2, q = (x^2 + y^2) / a^2 + z^2 / b^2 and the ellipsoid's radius along r, sqrt(|r|^2 / q)
    (1 / R^2 = cos^2 / a^2 + sin^2 / b^2), for positions r (..., 3)."""
    rho2 = r[..., 0] ** 2 + r[..., 1] ** 2
    z2 = r[..., 2] ** 2
    rn2 = rho2 + z2
    q = rho2 / _A2 + z2 / _B2
    return rn2, q, np.sqrt(rn2 / q)


def fast_altitude_gradient(r: np.ndarray) -> np.ndarray:
    """Gradient (..., 3) of :func:`fast_altitude` at positions r (..., 3): the direction in which
    the air thins. Not the geocentric radius: at mid-latitudes the ellipsoid's radius under a
    missile changes as it moves north or south, by some 20 km between equator and pole, so a
    missile flying level at 2 km/s on a bearing of 100 degrees at 39 degrees north sinks 1 m/s
    through the air while its geocentric radius holds still."""
    r = np.asarray(r, float)
    rn2, q, surface = _surface_along(r)
    weights = np.array([1.0 / _A2, 1.0 / _A2, 1.0 / _B2])
    grad_surface = (r / q[..., None] - (rn2 / q**2)[..., None] * r * weights) / surface[..., None]
    return r / np.sqrt(rn2)[..., None] - grad_surface


def frame_acceleration(r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Coriolis plus centrifugal acceleration of the rotating frame."""
    r = np.asarray(r, float)
    v = np.asarray(v, float)
    ax = 2.0 * _W * v[..., 1] + _W * _W * r[..., 0]
    ay = -2.0 * _W * v[..., 0] + _W * _W * r[..., 1]
    return np.stack([ax, ay, np.zeros_like(ax)], axis=-1)


def drag_acceleration(r: np.ndarray, v: np.ndarray, inv_beta) -> np.ndarray:
    """Aerodynamic drag for ballistic coefficient 1/inv_beta (kg/m^2)."""
    rho = density_fast(fast_altitude(r))
    speed = np.linalg.norm(v, axis=-1)
    k = -0.5 * rho * speed * np.asarray(inv_beta, float)
    return k[..., None] * v


def acceleration(r: np.ndarray, v: np.ndarray, inv_beta=0.0, j2: bool = True) -> np.ndarray:
    """Total acceleration of an unpowered body (gravity, frame, drag) in ECEF.

    ``j2=False`` leaves a spherical Earth, for checks against conserved quantities.
    """
    a = (gravity_j2(r) if j2 else gravity_point_mass(r)) + frame_acceleration(r, v)
    if np.any(inv_beta):
        a = a + drag_acceleration(r, v, inv_beta)
    return a


def state_derivative(x: np.ndarray, inv_beta=0.0, j2: bool = True) -> np.ndarray:
    """d/dt of states x = [r, v] (..., 6) of unpowered bodies.

    :func:`acceleration` written out on columns: the propagators call this on a few
    dozen states at a time, where numpy's per-call overhead is the cost (tested equal).
    """
    x = np.asarray(x, float)
    if not j2:
        r, v = x[..., :3], x[..., 3:6]
        return np.concatenate([v, acceleration(r, v, inv_beta, j2)], axis=-1)
    shape = x.shape
    x = x.reshape(-1, 6)
    x0, x1, x2, v0, v1, v2 = x.T
    rho2 = x0 * x0 + x1 * x1
    z2 = x2 * x2
    r2 = rho2 + z2
    rn = np.sqrt(r2)
    k = -EARTH_GM / (r2 * rn)
    j = (1.5 * EARTH_J2 * WGS84_A * WGS84_A) / r2
    q = 5.0 * z2 / r2
    f_xy = k * (1.0 + j * (1.0 - q)) + _W * _W  # gravity plus centrifugal in x and y
    out = np.empty_like(x)
    out[:, :3] = x[:, 3:]
    out[:, 3] = f_xy * x0 + (2.0 * _W) * v1
    out[:, 4] = f_xy * x1 - (2.0 * _W) * v0
    out[:, 5] = k * (1.0 + j * (3.0 - q)) * x2
    inv_beta = np.asarray(inv_beta, float)
    # Above the atmosphere's top (1,000 km, where density_fast is 0) drag is exactly nothing.
    if inv_beta.any() and r2.min() < _R_ATMOSPHERE_TOP2:
        altitude = rn - np.sqrt(r2 / (rho2 / _A2 + z2 / _B2))
        d = -0.5 * density_fast(altitude) * np.sqrt(v0 * v0 + v1 * v1 + v2 * v2)
        d = d * (inv_beta.reshape(-1) if inv_beta.ndim else inv_beta)
        out[:, 3:] += d[:, None] * x[:, 3:]
    return out.reshape(shape)


def jacobi_energy(r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Jacobi integral v^2/2 - mu/r - |w x r|^2/2 of the point-mass problem in ECEF (J/kg).

    Conserved in the rotating frame without J2 and drag; used to test the integrator and to
    compare a missile's energy at different altitudes.
    """
    r = np.asarray(r, float)
    v = np.asarray(v, float)
    rn = np.linalg.norm(r, axis=-1)
    rho2 = r[..., 0] ** 2 + r[..., 1] ** 2
    return 0.5 * np.sum(v * v, axis=-1) - EARTH_GM / rn - 0.5 * _W * _W * rho2


def acceleration_scalar(x: list[float] | np.ndarray, inv_beta: float) -> tuple[float, float, float]:
    """:func:`acceleration` for one state in plain floats.

    The truth generator integrates one trajectory at a time with an adaptive solver that
    calls this tens of thousands of times; numpy's per-call overhead would dominate.
    Tested against the vectorized form.
    """
    x0, x1, x2, v0, v1, v2 = (float(c) for c in x[:6])
    r2 = x0 * x0 + x1 * x1 + x2 * x2
    rn = math.sqrt(r2)
    k = -EARTH_GM / (r2 * rn)
    j = 1.5 * EARTH_J2 * (WGS84_A * WGS84_A / r2)
    z2 = 5.0 * x2 * x2 / r2
    f_xy = k * (1.0 + j * (1.0 - z2))
    f_z = k * (1.0 + j * (3.0 - z2))
    ax = f_xy * x0 + 2.0 * _W * v1 + _W * _W * x0
    ay = f_xy * x1 - 2.0 * _W * v0 + _W * _W * x1
    az = f_z * x2
    if inv_beta:
        rho2 = x0 * x0 + x1 * x1
        altitude = rn - math.sqrt(r2 / (rho2 / _A2 + x2 * x2 / _B2))
        rho = density_scalar(altitude)
        if rho > 0.0:
            d = -0.5 * rho * math.sqrt(v0 * v0 + v1 * v1 + v2 * v2) * inv_beta
            ax += d * v0
            ay += d * v1
            az += d * v2
    return ax, ay, az

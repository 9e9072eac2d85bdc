"""Motion models for filters: the truth side's ballistic dynamics plus a non-gravitational
acceleration state, with the covariance carried along by the linearized dynamics.

A track's state is 9-D in ECEF: position r, velocity v, and ``a``, the specific force
that gravity, the Earth's rotation and nominal drag do not explain (thrust while a
motor burns, the drag error of an uncertain ballistic coefficient, a manoeuvre).
Each model says how ``a`` behaves:

* ``BALLISTIC``: ``a`` decays to zero within seconds (Gauss-Markov, short time
  constant) and the velocity takes a little white noise, more of it low in the
  atmosphere where the true ballistic coefficient is not known.
* ``BOOST``: ``a`` grows as the rocket equation says a motor's thrust acceleration
  does (da/dt = |a| a / c for an exhaust velocity c: the same thrust pushes less and
  less mass), plus white jerk for the turn of the pitch programme and the unknown
  exhaust velocity. Staging is not in the model: the IMM has a model for it
  (:mod:`warnlink.tracking.imm`).

Everything is vectorized over the leading axis (tracks, or tracks x models).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from warnlink.frames import EARTH_ROTATION_RATE
from warnlink.physics.atmosphere import density_fast
from warnlink.physics.dynamics import fast_altitude, state_derivative
from warnlink.physics.gravity import gravity_gradient_point_mass

NOMINAL_INV_BETA = 1.0 / 10000.0  # m^2/kg: the filters' prior ballistic coefficient
INV_BETA_RELATIVE_SIGMA = 0.5  # the true coefficient is known to within a factor of two
DRAG_ERROR_CORRELATION_S = 2.0  # how long a drag error persists, for its white-noise equivalent

_OMEGA_CROSS = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]) * EARTH_ROTATION_RATE
_CENTRIFUGAL = -(_OMEGA_CROSS @ _OMEGA_CROSS)  # d(-w x (w x r))/dr


@dataclass(frozen=True)
class MotionModel:
    """Parameters of one model of the non-gravitational acceleration ``a``."""

    name: str
    accel_time_constant_s: float  # inf: random walk; small: a is forced to 0
    jerk_psd: float  # (m/s^3)^2 / Hz driving a
    velocity_psd: float  # (m/s^2)^2 / Hz white acceleration on v (unmodelled forces)
    exhaust_velocity_mps: float = np.inf  # a grows as |a| a / this (a burning motor); inf: no growth

    @property
    def decay_rate(self) -> float:
        return 0.0 if not np.isfinite(self.accel_time_constant_s) else 1.0 / self.accel_time_constant_s

    @property
    def growth_rate(self) -> float:
        return 0.0 if not np.isfinite(self.exhaust_velocity_mps) else 1.0 / self.exhaust_velocity_mps


# The ballistic model's noise is the gravity it leaves out: beyond J2 the Earth's field
# differs by some 5e-5 m/s^2 (J3, J4, tesseral terms, anomalies), nearly constant over a
# flight of T ~ 300 s. A white noise q grows the same position error over T when
# q = 3 b^2 T / 4 ~ 6e-7 (m/s^2)^2/Hz; 1e-6 is taken. The drag error is added apart
# (process_noise), where there is air.
BALLISTIC = MotionModel("ballistic", accel_time_constant_s=2.0, jerk_psd=1e-6, velocity_psd=1e-6)
# A motor at constant mass flow m' and exhaust velocity c pushes a = c m' / m, so
# da/dt = a^2 / c: a single-stage SRBM's thrust acceleration doubles or triples over its
# burn (jerk up to 6 m/s^3 at burnout), which a random walk can follow only by lagging
# behind it. Public estimates of the motors' specific impulse run from about 230 to 300 s
# (c = 2,250 to 2,950 m/s); 2,600 m/s is the middle, and the ~12% spread is a jerk error of
# under 1 m/s^3, inside the white jerk below. That white jerk is mostly the pitch
# programme turning the thrust (up to ~3.5 m/s^3 across it early in an SRBM's burn).
# The growth is logistic, |a| a (1 - |a| / THRUST_ACCEL_LIMIT) / c: no missile motor pushes
# 40 g, and a boost estimate held over a long gap (all radars blind) stays bounded instead
# of running off to infinity at t = c / |a|, where the pure law would have burnt the
# whole mass. At the 50-135 m/s^2 of real burns it is the rocket law to within 12-34%.
BOOST_EXHAUST_VELOCITY_MPS = 2600.0
THRUST_ACCEL_LIMIT = 400.0
BOOST = MotionModel("boost", accel_time_constant_s=np.inf, jerk_psd=25.0, velocity_psd=1e-2,
                    exhaust_velocity_mps=BOOST_EXHAUST_VELOCITY_MPS)


def rates(models: list[MotionModel] | MotionModel, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-state decay (1/time constant) and growth (1/exhaust velocity) rates of ``a``, (n,) each."""
    if isinstance(models, MotionModel):
        return np.full(n, models.decay_rate), np.full(n, models.growth_rate)
    return np.array([m.decay_rate for m in models]), np.array([m.growth_rate for m in models])


def _derivative(x: np.ndarray, decay: np.ndarray, growth: np.ndarray) -> np.ndarray:
    a = x[:, 6:9]
    out = np.empty_like(x)
    out[:, :6] = state_derivative(x[:, :6], NOMINAL_INV_BETA)
    out[:, 3:6] += a
    norm = np.linalg.norm(a, axis=1)
    out[:, 6:9] = a * (growth * norm * (1.0 - norm / THRUST_ACCEL_LIMIT) - decay)[:, None]
    return out


def propagate_mean(x: np.ndarray, dt: float, decay: np.ndarray, growth: np.ndarray | None = None) -> np.ndarray:
    """RK4 step of 9-D states (n, 9) over dt (s); ``decay`` and ``growth`` (n,) as from :func:`rates`."""
    growth = np.zeros(len(x)) if growth is None else growth
    k1 = _derivative(x, decay, growth)
    k2 = _derivative(x + 0.5 * dt * k1, decay, growth)
    k3 = _derivative(x + 0.5 * dt * k2, decay, growth)
    k4 = _derivative(x + dt * k3, decay, growth)
    return x + (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def jacobian(x: np.ndarray, decay: np.ndarray, growth: np.ndarray | None = None) -> np.ndarray:
    """d(dx/dt)/dx (n, 9, 9): point-mass gravity gradient, frame terms, drag, the dynamics of a."""
    n = x.shape[0]
    r, v = x[:, :3], x[:, 3:6]
    A = np.zeros((n, 9, 9))
    eye = np.eye(3)
    A[:, 0:3, 3:6] = eye
    A[:, 3:6, 0:3] = gravity_gradient_point_mass(r) + _CENTRIFUGAL
    A[:, 3:6, 3:6] = -2.0 * _OMEGA_CROSS
    A[:, 3:6, 6:9] = eye
    A[:, 6:9, 6:9] = -decay[:, None, None] * eye
    if growth is not None and np.any(growth):  # d(s(|a|) a)/da = s I + s'(|a|) a a^T / |a|
        a = x[:, 6:9]
        norm = np.maximum(np.linalg.norm(a, axis=1), 1e-9)
        s = growth * norm * (1.0 - norm / THRUST_ACCEL_LIMIT)
        ds = growth * (1.0 - 2.0 * norm / THRUST_ACCEL_LIMIT)
        A[:, 6:9, 6:9] += s[:, None, None] * eye + ds[:, None, None] * a[:, :, None] * a[:, None, :] / norm[:, None, None]
    # Drag -k |v| v with k = rho / (2 beta): d/dv = -k (|v| I + v v^T / |v|); density's
    # dependence on altitude is left out (it matters only in the last seconds of flight).
    k = 0.5 * density_fast(fast_altitude(r)) * NOMINAL_INV_BETA
    speed = np.maximum(np.linalg.norm(v, axis=1), 1e-3)
    A[:, 3:6, 3:6] -= k[:, None, None] * (
        speed[:, None, None] * eye + v[:, :, None] * v[:, None, :] / speed[:, None, None]
    )
    return A


def process_noise(x: np.ndarray, dt: float, models: list[MotionModel] | MotionModel) -> np.ndarray:
    """Discrete process noise (n, 9, 9) over dt for each state's model.

    White jerk on ``a`` enters r, v, a as the integrated-random-walk blocks
    [dt^5/20, dt^4/8, dt^3/6; dt^4/8, dt^3/3, dt^2/2; dt^3/6, dt^2/2, dt];
    white acceleration on v adds [dt^3/3, dt^2/2; dt^2/2, dt]. The velocity noise grows
    with the drag the nominal ballistic coefficient predicts, because the true coefficient
    is uncertain by INV_BETA_RELATIVE_SIGMA.
    """
    n = x.shape[0]
    if isinstance(models, MotionModel):
        models = [models] * n
    jerk = np.array([m.jerk_psd for m in models])
    vel = np.array([m.velocity_psd for m in models])
    drag = 0.5 * density_fast(fast_altitude(x[:, :3])) * NOMINAL_INV_BETA * np.sum(x[:, 3:6] ** 2, axis=1)
    # A drag error of sigma persisting tau seconds acts like white noise of PSD 2 sigma^2 tau.
    vel = vel + 2.0 * DRAG_ERROR_CORRELATION_S * (INV_BETA_RELATIVE_SIGMA * drag) ** 2
    d2, d3, d4, d5 = dt**2, dt**3, dt**4, dt**5
    blocks = np.zeros((n, 3, 3))
    blocks[:, 0, 0] = jerk * d5 / 20.0 + vel * d3 / 3.0
    blocks[:, 0, 1] = blocks[:, 1, 0] = jerk * d4 / 8.0 + vel * d2 / 2.0
    blocks[:, 0, 2] = blocks[:, 2, 0] = jerk * d3 / 6.0
    blocks[:, 1, 1] = jerk * d3 / 3.0 + vel * dt
    blocks[:, 1, 2] = blocks[:, 2, 1] = jerk * d2 / 2.0
    blocks[:, 2, 2] = jerk * dt
    # The same block on each axis: Q[3i + j, 3k + j] = blocks[i, k].
    return np.einsum("nik,jl->nijkl", blocks, np.eye(3)).reshape(n, 9, 9)


def predict(x: np.ndarray, P: np.ndarray, dt: float, models: list[MotionModel] | MotionModel) -> tuple[np.ndarray, np.ndarray]:
    """Extended-Kalman prediction of 9-D states and covariances over dt (s), any sign.

    The mean takes one RK4 step (sub-stepped to at most 2 s); the covariance the
    second-order transition I + A dt + (A dt)^2 / 2 per sub-step plus process noise.
    """
    x, P, _ = predict_split(x, P, None, dt, models)
    return x, P


def predict_split(x: np.ndarray, P: np.ndarray, P_ind: np.ndarray | None, dt: float,
                  models: list[MotionModel] | MotionModel):
    """:func:`predict`, also moving ``P_ind``, the part of ``P`` owed to the track's own measurements.

    The process noise is what every tracker of the same missile shares (the missile's
    true deviation from the model), so it goes to ``P`` only: ``P_ind`` takes the
    transition alone. Returns (x, P, P_ind), ``P_ind`` None when none was given.
    """
    n = x.shape[0]
    if isinstance(models, MotionModel):
        models = [models] * n
    decay, growth = rates(models, n)
    steps = max(1, int(np.ceil(abs(dt) / 2.0)))
    h = dt / steps
    eye = np.eye(9)
    for _ in range(steps):
        Ah = jacobian(x, decay, growth) * h
        F = eye + Ah + 0.5 * Ah @ Ah
        Ft = np.swapaxes(F, 1, 2)
        x = propagate_mean(x, h, decay, growth)
        P = F @ P @ Ft + process_noise(x, abs(h), models)
        if P_ind is not None:
            P_ind = F @ P_ind @ Ft
    P = 0.5 * (P + np.swapaxes(P, 1, 2))
    if P_ind is not None:
        P_ind = 0.5 * (P_ind + np.swapaxes(P_ind, 1, 2))
    return x, P, P_ind


def predict_kinematic(x6: np.ndarray, P6: np.ndarray, dt: float, model: MotionModel = BALLISTIC) -> tuple[np.ndarray, np.ndarray]:
    """Prediction of 6-D position/velocity states (n, 6) and covariances (n, 6, 6).

    For states shared between nations, which carry no acceleration: the 9-D model with
    ``a`` = 0 and known to be 0.
    """
    n = x6.shape[0]
    x = np.concatenate([x6, np.zeros((n, 3))], axis=1)
    P = np.zeros((n, 9, 9))
    P[:, :6, :6] = P6
    x, P = predict(x, P, dt, model)
    return x[:, :6], P[:, :6, :6]

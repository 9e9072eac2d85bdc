"""Motion models for filters: the truth side's ballistic dynamics plus a non-gravitational
acceleration state, with the covariance carried along by the linearized dynamics.

A track's state is 9-D in ECEF: position r, velocity v, and ``a``, the specific force
that gravity, the Earth's rotation and nominal drag do not explain (thrust while a
motor burns, the drag error of an uncertain ballistic coefficient, a manoeuvre).
Each model says how ``a`` behaves:

* ``BALLISTIC``: ``a`` holds the gravity beyond J2 that the filters leave out, a slowly
  varying force (a Gauss-Markov process over minutes, on every axis). Above the air it
  also holds what is left of the drag error, along the velocity, with a time constant of
  seconds and a spread INV_BETA_RELATIVE_SIGMA of the nominal drag: nothing at all far up.
  In the air ``a`` is, along the velocity, the error of the nominal drag: the true
  ballistic coefficient is not known, and an error in 1/beta is a force along the drag
  that lasts the whole re-entry and grows as the drag does (density times speed
  squared; e-fold in a few seconds low down). So there ``a`` is a constant share of the
  nominal drag and grows with it, with no noise driving it: what is not known of it is
  its prior spread, INV_BETA_RELATIVE_SIGMA times the nominal drag, which it gets where
  it starts (a burnt-out motor, :mod:`warnlink.tracking.imm`; a shared state,
  :func:`ballistic_state9`; the edge of the air). As white noise on the velocity (as it
  was) the drag error was forgotten within seconds, and in a steep re-entry with a low
  ballistic coefficient the boost model, whose ``a`` persists, explained the drag
  better than the ballistic model did: a falling missile read as burning.
* ``BOOST``: ``a`` grows as the rocket equation says a motor's thrust acceleration
  does (da/dt = |a| a / c for an exhaust velocity c: the same thrust pushes less and
  less mass), plus white jerk for what that leaves out, sized from the track itself:
  across the velocity the pitch programme turning the thrust about as fast as the
  flight path turns, along it the error of the growth law. Staging is not in the
  model: the IMM has a model for it (:mod:`warnlink.tracking.imm`).

Everything is vectorized over the leading axis (tracks, or tracks x models).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from warnlink.frames import EARTH_ROTATION_RATE, WGS84_A
from warnlink.physics.atmosphere import density_fast, log_density_slope
from warnlink.physics.dynamics import fast_altitude, fast_altitude_gradient, state_derivative
from warnlink.physics.gravity import gravity_gradient_point_mass

NOMINAL_INV_BETA = 1.0 / 10000.0  # m^2/kg: the filters' prior ballistic coefficient
# The drag error's prior spread, as a share of the nominal drag. The truth's 1/beta is
# log-normal, a factor of 1.5 at one sigma (scenario.world): its share (ratio - 1) has an
# RMS of 0.47, but a long upper side. A body at a third of the nominal coefficient, 2.6
# sigma out, is a share of +1.9, 3.8 times a spread of 0.5: tracked from radar plots it is
# found within seconds either way (tests/test_tracker.py: boost probability at most 0.011
# and position NEES 4.4 at 0.5, 0.003 and 2.9 at 0.7), but a partner's state of it released
# without its drag error stands on the prior alone (tests/test_fusion.py: NEES 11.4 over 2 s
# at 0.5, beyond the 99% bound). The depressed SRBMs, whose coefficients are the
# population's, were tracked the same at either (warnlink evaluate
# scenarios/hard-depressed.toml --runs 20: NEES in band 0.923 and 0.921, position NEES
# after burnout 3.09 and 3.12).
INV_BETA_RELATIVE_SIGMA = 0.7
DRAG_ERROR_CORRELATION_S = 2.0  # how long a drag error persists in thin air (effective_decay; thrusting models' white noise)
DRAG_ERROR_MIN_MPS2 = 2e-3  # nominal drag below this (~90 km at 3 km/s) is thin air: a decays within seconds.
# Above it the drag error is still there, and still INV_BETA_RELATIVE_SIGMA of the nominal
# drag, but too small to outlast the air's thinning: the ballistic model drives a, along the
# velocity, to that spread with its own short time constant and as fast as the spread grows
# (process_noise), so a enters the air with the spread of a drag error, and far above it,
# where there is no drag, has none.
DRAG_GROWTH_LIMIT = 3.0  # 1/s: bound on the drag's relative growth rate (numerical guard)
# A steep re-entry grows its drag at over 1/s: the demo's lofted ICBM, falling at 7.3 km/s
# through air of 6 km scale height, at 1.1-1.3/s from 90 km down. Bounded at 1/s, and with
# a thin-air noise that lagged the growing spread (process_noise), the drag error's spread along the velocity, as a share of the drag, fell from 0.48 at 115 km
# to 0.12 at 60 km and 0.05 at 8 km, and an all-radar tracker on that ICBM's last 150 s
# (2 seeds) had a velocity NEES of 35-150 in its last 8 s. It now keeps its prior's share
# to within 10% (tests/test_motion_models.py), and the same tracker's velocity NEES there
# is 2.4-3.0 (6 seeds; 3 is right).
# The ballistic model's drag error has no white share on the velocity. One (0.08 of the drag
# error's spread, on every axis) once covered the last seconds of a steep re-entry, where the
# error's direction lagged the path's turn; the error now turns with the velocity
# (_a_dynamics; tests/test_motion_models.py), and the share only widened the covariance (the
# short SRBM's terminal NEES was below its band at 0.22 of its steps, now 0.11). What
# made dropping it split tracks once, a partner's member flown on low in the air, now leaves
# within seconds (fusion.system_tracks.AIR_COAST_S).
# Nor is the drag error forgotten: the body's 1/beta is one number over its flight (the
# truth's, and the impact prediction's sigma points'), so a share of the drag measured
# once stays measured. A forgetting over 30 s (a Gauss-Markov error, driven to its spread)
# stood in for something else: a motor burning out in the air handed the ballistic model
# an ``a`` known to 0.1 m/s^2 (then its spread at burnout) where the drag error's prior
# spread was metres per second squared, and only the forgetting's noise widened it
# (without it the short SRBM's climb after burnout was held far too tightly). The handover
# now adds that prior (imm._into), and the forgetting only held the tracks wider than their
# errors, which the depressed SRBMs, in the air from burnout to impact, showed (warnlink
# evaluate scenarios/hard-depressed.toml --runs 20, position and velocity NEES after
# burnout, 3 is right): 2.73 and 2.27 with the 30 s forgetting, 2.70 and 2.22 with the
# prior at the handover and a forgetting over 60 or 120 s; 3.12 and 3.13 now.

VACUUM_STEP_S = 2.0  # s: the longest step (the mean's RK4 and the second-order transition hold over it)
# In the air the drag and its error grow at g = d ln(drag)/dt (_drag_growth), and the
# second-order transition falls short of that growth by (g h)^3 / 6 a step of h: a step
# takes at most DRAG_GROWTH_PER_STEP of it: 0.13% a step, 0.2 s steps at a steep re-entry's
# 1-1.2/s, the full VACUUM_STEP_S at an SRBM's gentle 0.1/s. Over a lofted ICBM's descent
# in 2 s predictions the drag error's spread then falls at most 8% short of its prior: the
# smallest share in the 7.3 km/s, 2 s case of tests/test_motion_models.py's
# test_an_unmeasured_drag_error_keeps_its_prior_spread_all_the_way_down is 0.92 (0.87 at
# 0.33 a step, 0.90 in fixed quarter-second steps).
DRAG_GROWTH_PER_STEP = 0.2

_OMEGA_CROSS = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]) * EARTH_ROTATION_RATE
_CENTRIFUGAL = -(_OMEGA_CROSS @ _OMEGA_CROSS)  # d(-w x (w x r))/dr


@dataclass(frozen=True)
class MotionModel:
    """Parameters of one model of the non-gravitational acceleration ``a``."""

    name: str
    accel_time_constant_s: float  # inf: random walk; small: a is forced to 0
    jerk_psd: float  # (m/s^3)^2 / Hz driving a
    velocity_psd: float  # (m/s^2)^2 / Hz white acceleration on v (unmodelled forces)
    # A slowly varying force in ``a`` (the gravity beyond J2), a field fixed to the Earth: of
    # this variance per axis at the Earth's radius, times (WGS84_A / r)^residual_falloff, and
    # forgotten as the state moves across the Earth by residual_correlation_rad
    # (residual_rates); driven by white jerk 2 variance x that rate.
    residual_accel_variance: float = 0.0  # (m/s^2)^2
    residual_falloff: float = 0.0
    residual_correlation_rad: float = np.inf
    exhaust_velocity_mps: float = np.inf  # a grows as |a| a / this (a burning motor); inf: no growth
    drag_error_in_a: bool = False  # in the air, a is the drag error (see the module docstring)
    thrust_jerk: bool = False  # white jerk beyond jerk_psd from the thrust's turn and growth (thrust_jerk_psd)

    @property
    def decay_rate(self) -> float:
        return 0.0 if not np.isfinite(self.accel_time_constant_s) else 1.0 / self.accel_time_constant_s

    @property
    def growth_rate(self) -> float:
        return 0.0 if not np.isfinite(self.exhaust_velocity_mps) else 1.0 / self.exhaust_velocity_mps


# The ballistic model's noise is what it leaves out: the drag error (a, process_noise) and
# the gravity beyond J2. That differs from J2's by 1.2e-4 m/s^2 RMS at the surface, b = 7e-5
# per axis (J3, J4, C22, S22: warnlink.physics.gravity, which the truth flies). A degree-n
# term falls as (R / r)^(n + 2), so the slowest of them (degree 2, the tesseral C22 and S22,
# as large as J3) as (R / r)^4, its variance as (R / r)^8: at 1,000 km 0.3 of the surface's,
# at a lofted ICBM's apogee (6,500 km) 0.004. It is a field fixed to the Earth, so a missile
# feels it change as it moves across the Earth: at one radius the field is correlated to 0.37
# (1/e) between points 0.47 rad apart, 0.41 at 0.45 rad and 0.71 at 0.3 rad
# (tests/test_motion_models.py), and GRAVITY_RESIDUAL_CORRELATION_RAD is about that 1/e angle,
# a Gauss-Markov process's own. Along the path its decay rate is the state's angular rate about
# the Earth's centre over that angle (residual_rates), and it shrinks as (R / r)^4 as the
# missile climbs, grows so as it falls. An IRBM at 0.6 mrad/s forgets it over some 12
# minutes; the demo's lofted ICBM, nearly still across the Earth for an hour near apogee,
# hardly at all (the truth's field along its path: 0.97 correlated over 40 minutes). With
# one time constant of 300 s instead, that ICBM's estimate an hour on was given a random
# walk's spread of a force that was in truth constant; found again, fused with the new track
# (whose position pins the old estimate's velocity), its midcourse velocity NEES was 4.05
# (warnlink evaluate, seeds 1-50; 3 is right), 4.4-7.4 in its last 200 s of midcourse (seeds 1-5).
# Not white noise on the velocity: that stands for the force over one track memory only, and
# held tracks under nine radars wider than their errors (the gap scenario's control).
# Where the drag error is felt ``a`` decays much faster (effective_decay). No white jerk
# floor is needed: the residual's spread, 4e-6 m/s^2 even at a lofted ICBM's apogee, keeps
# the covariance invertible where there is no drag.
GRAVITY_RESIDUAL_MPS2 = 7e-5  # per axis, at the Earth's radius
GRAVITY_RESIDUAL_CORRELATION_RAD = 0.45
BALLISTIC = MotionModel("ballistic", accel_time_constant_s=np.inf, jerk_psd=0.0, velocity_psd=0.0,
                        residual_accel_variance=GRAVITY_RESIDUAL_MPS2**2, residual_falloff=8.0,
                        residual_correlation_rad=GRAVITY_RESIDUAL_CORRELATION_RAD, drag_error_in_a=True)
# A motor at constant mass flow m' and exhaust velocity c pushes a = c m' / m, so
# da/dt = a^2 / c: a single-stage SRBM's thrust acceleration doubles or triples over its
# burn (jerk up to 6 m/s^3 at burnout), which a random walk can follow only by lagging
# behind it. The growth is capped, |a| a (1 - (|a| / THRUST_ACCEL_LIMIT)^THRUST_CAP_SHARPNESS) / c:
# no missile motor pushes 40 g, and a boost estimate held over a long gap (all radars blind)
# stays bounded instead of running off to infinity at t = c / |a|, where the pure law would
# have burnt the whole mass. At the 40-150 m/s^2 of real burns the cap takes at most 2% off the
# rocket law (tests/test_motion_models.py). A logistic cap, 1 - |a| / THRUST_ACCEL_LIMIT, took
# 10-34%: 28% at the 110-125 m/s^2 the demo's ICBM reaches at the end of each stage, a growth
# 1.3 m/s^3 short for its last seconds (an all-radar tracker on that ICBM, seeds 1-20: velocity
# error 14.8 m/s RMS 20-10 s before burnout, 13.3 m/s with this cap). Above the
# cap, where only an update can put ``a``, the growth is held at zero: a decaying law there is
# stiff, and RK4 over a 1 s step took a thrust of 2,600 m/s^2 to 1e14 within seconds (a trial of
# the code; the tracker now also drops such a track, tracker.LocalTracker._drop_diverged).
BOOST_EXHAUST_VELOCITY_MPS = 2600.0
THRUST_ACCEL_LIMIT = 400.0
THRUST_CAP_SHARPNESS = 4.0
# What the growth law leaves out is white jerk sized from the track (thrust_jerk_psd). Along
# the velocity, the law's error: |a|^2 / c times the spread of c (public specific impulses
# run from about 230 to 300 s: 12%) and the cap's departure (|a| / THRUST_ACCEL_LIMIT)^4. Across
# it, the pitch programme turning the thrust, taken to turn about as fast as the flight path
# does (|a| omega, omega the velocity's turn rate: the acceleration across it over the
# speed): up to 3 m/s^3 early in an SRBM's burn, under 0.2 m/s^3 in a lofted ICBM's upper
# stages. A jerk j that persists THRUST_JERK_CORRELATION_S acts as white jerk of PSD
# 2 j^2 tau. One white jerk of 25 (m/s^3)^2/Hz on every axis, sized for the SRBM, held the
# boost covariance of the demo's multi-stage missiles wider than their errors: an EKF over
# the lofted ICBM's second stage had a velocity NEES of 1.7 where 3 is right (3.0 now,
# tests/test_motion_models.py). jerk_psd is the floor on every axis, a jerk of some 0.04 m/s^3
# held for THRUST_JERK_CORRELATION_S (yaw steering, thrust ripple): at 0.1 (0.13 m/s^3) it held
# the demo's boosts, fused, wider than their errors (`warnlink evaluate`, 50 seeds: the lofted
# ICBM's boost below its band at 0.49 of the steps, 0.30 at 0.01, the boost RMSE the same).
# Off the pad the pitch programme turns the thrust before the path follows it (the path's
# turn rate was a quarter of the thrust's 5 s after an SRBM's vertical rise, two thirds at
# 10 s): below PITCH_OVER_SPEED_MPS the turn is taken to be at least PITCH_OVER_RATE, the
# rate at which a short-range missile turns over some 70 degrees in its first 20 s, falling
# to nothing at that speed.
PITCH_OVER_RATE = 0.07  # rad/s
PITCH_OVER_SPEED_MPS = 1000.0
EXHAUST_VELOCITY_SPREAD = 0.12
THRUST_JERK_CORRELATION_S = 3.0
THRUST_JERK_PSD_MAX = 100.0  # (m/s^3)^2/Hz: bounds the turn of a slow missile just off the pad
BOOST = MotionModel("boost", accel_time_constant_s=np.inf, jerk_psd=0.01, velocity_psd=1e-2,
                    exhaust_velocity_mps=BOOST_EXHAUST_VELOCITY_MPS, thrust_jerk=True)


def rates(models: list[MotionModel] | MotionModel, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-state decay (1/time constant) and growth (1/exhaust velocity) rates of ``a``, (n,) each."""
    if isinstance(models, MotionModel):
        return np.full(n, models.decay_rate), np.full(n, models.growth_rate)
    return np.array([m.decay_rate for m in models]), np.array([m.growth_rate for m in models])


def drag_flags(models: list[MotionModel] | MotionModel, n: int) -> np.ndarray:
    """Which states (n,) carry the drag error in ``a`` while in the air."""
    if isinstance(models, MotionModel):
        return np.full(n, models.drag_error_in_a)
    return np.array([m.drag_error_in_a for m in models])


def nominal_drag(x: np.ndarray) -> np.ndarray:
    """Magnitude (n,) of the drag the nominal ballistic coefficient predicts, m/s^2."""
    return 0.5 * density_fast(fast_altitude(x[:, :3])) * NOMINAL_INV_BETA * np.sum(x[:, 3:6] ** 2, axis=1)


def _along_velocity(x6: np.ndarray) -> np.ndarray:
    """Unit vectors (n, 3) along the velocity: the direction of drag and of its error."""
    return x6[:, 3:6] / np.maximum(np.linalg.norm(x6[:, 3:6], axis=1), 1e-3)[:, None]


def inv_beta_log_ratio(x6: np.ndarray, accel: np.ndarray, accel_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What a ballistic track's drag error says of its ballistic coefficient: the log of the
    true 1/beta over NOMINAL_INV_BETA (n,) and its sigma (n,); NaN above the air.

    The drag error along the velocity is (1 - ratio) times the nominal drag, so the ratio
    is 1 - (a . v_hat) / drag, known to the error of ``a`` along the velocity (from its
    covariance rows ``accel_rows`` (n, 3, 9)) over the drag. The ratio is held above 0.1
    (no body has a negative drag).
    """
    drag = nominal_drag(x6)
    in_air = drag > DRAG_ERROR_MIN_MPS2
    v_hat = _along_velocity(x6)
    along = np.sum(accel * v_hat, axis=1)
    var = np.einsum("ni,nij,nj->n", v_hat, accel_rows[:, :, 6:9], v_hat)
    safe_drag = np.where(in_air, drag, 1.0)
    ratio = np.maximum(1.0 - along / safe_drag, 0.1)
    log_ratio = np.where(in_air, np.log(ratio), np.nan)
    sigma = np.where(in_air, np.sqrt(np.maximum(var, 0.0)) / safe_drag / ratio, np.nan)
    return log_ratio, sigma


def _in_air(x: np.ndarray, drag: np.ndarray | None) -> np.ndarray | None:
    """Which states (n,) carry a drag error now: flagged (:func:`drag_flags`) and in the air.
    None if none does, the common case in midcourse, which then costs no density lookup more."""
    if drag is None or not drag.any():
        return None
    in_air = np.zeros(len(x), bool)
    in_air[drag] = nominal_drag(x[drag]) > DRAG_ERROR_MIN_MPS2
    return in_air if in_air.any() else None


def _drag_growth(x: np.ndarray, dv: np.ndarray | None = None, dlnrho_dh: np.ndarray | None = None) -> np.ndarray:
    """The nominal drag's relative growth rate d ln(rho v^2)/dt (n,), 1/s, of 9-D states x (n, 9),
    bounded by DRAG_GROWTH_LIMIT. ``dv`` is dv/dt (n, 3) and ``dlnrho_dh`` (n,) as from
    :func:`~warnlink.physics.atmosphere.log_density_slope`, each computed when not given."""
    r, v = x[:, :3], x[:, 3:6]
    if dv is None:
        dv = state_derivative(x[:, :6], NOMINAL_INV_BETA)[:, 3:6] + x[:, 6:9]
    climb = np.sum(fast_altitude_gradient(r) * v, axis=1)  # through the air, not along the radius
    speed2 = np.maximum(np.sum(v * v, axis=1), 1.0)
    dlnrho_dh = log_density_slope(fast_altitude(r)) if dlnrho_dh is None else dlnrho_dh
    return np.clip(dlnrho_dh * climb + 2.0 * np.sum(v * dv, axis=1) / speed2, -DRAG_GROWTH_LIMIT, DRAG_GROWTH_LIMIT)


def _a_dynamics(x: np.ndarray, decay: np.ndarray, in_air: np.ndarray | None, dv: np.ndarray | None = None,
                dlnrho_dh: np.ndarray | None = None) -> np.ndarray:
    """M (n, 3, 3) in da/dt = M a (thrust growth apart): -decay I; or, for a drag error in the
    air (``in_air`` from :func:`_in_air`), along the velocity the nominal drag's relative
    growth (:func:`_drag_growth`), and across it -decay (drag has no sideways part). ``dv``
    and ``dlnrho_dh`` as for :func:`_drag_growth`."""
    M = -decay[:, None, None] * np.eye(3)
    if in_air is None:
        return M
    i = np.nonzero(in_air)[0]  # only those rows: in a raid most tracks are in midcourse
    xi, di = x[i], decay[i]
    dv = state_derivative(xi[:, :6], NOMINAL_INV_BETA)[:, 3:6] + xi[:, 6:9] if dv is None else dv[i]
    v = xi[:, 3:6]
    speed2 = np.maximum(np.sum(v * v, axis=1), 1.0)
    rate = _drag_growth(xi, dv, None if dlnrho_dh is None else dlnrho_dh[i])
    along = v[:, :, None] * v[:, None, :] / speed2[:, None, None]
    across = np.eye(3) - along
    # The drag error turns with the velocity: d(alpha v_hat)/dt holds alpha dv_hat/dt, the path's
    # bend (gravity's share across the velocity) over the speed.
    speed = np.sqrt(speed2)
    turn = np.einsum("nij,nj->ni", across, dv) / speed[:, None]
    M[i] = (rate[:, None, None] * along - di[:, None, None] * across
            + turn[:, :, None] * (v / speed[:, None])[:, None, :])
    return M


def _thrust_growth(norm: np.ndarray, growth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The thrust's relative growth rate s (n,), 1/s, in da/dt = s a, at thrusts |a| ``norm``
    (n,) and growth rates (1/exhaust velocity) ``growth`` (n,), and ds/d|a| (n,): the rocket
    law |a| / c capped at THRUST_ACCEL_LIMIT (see BOOST), held at zero above the cap."""
    share = np.clip(norm / THRUST_ACCEL_LIMIT, 0.0, 1.0) ** THRUST_CAP_SHARPNESS
    below = norm < THRUST_ACCEL_LIMIT
    s = growth * norm * (1.0 - share)
    ds = np.where(below, growth * (1.0 - (THRUST_CAP_SHARPNESS + 1.0) * share), 0.0)
    return s, ds


def _derivative(x: np.ndarray, decay: np.ndarray, growth: np.ndarray, in_air: np.ndarray | None = None) -> np.ndarray:
    a = x[:, 6:9]
    out = np.empty_like(x)
    out[:, :6] = state_derivative(x[:, :6], NOMINAL_INV_BETA)
    out[:, 3:6] += a
    thrust, _ = _thrust_growth(np.linalg.norm(a, axis=1), growth)
    if in_air is None:  # a decays (or grows as thrust) alike on every axis
        out[:, 6:9] = a * (thrust - decay)[:, None]
    else:
        M = _a_dynamics(x, decay, in_air, out[:, 3:6])
        out[:, 6:9] = np.einsum("nij,nj->ni", M, a) + a * thrust[:, None]
    return out


def propagate_mean(x: np.ndarray, dt: float, decay: np.ndarray, growth: np.ndarray | None = None,
                   drag: np.ndarray | None = None) -> np.ndarray:
    """RK4 step of 9-D states (n, 9) over dt (s); ``decay`` and ``growth`` (n,) as from :func:`rates`
    (or :func:`effective_decay`), ``drag`` from :func:`drag_flags` (which states are in the
    air is judged at the step's start)."""
    growth = np.zeros(len(x)) if growth is None else growth
    in_air = _in_air(x, drag)
    k1 = _derivative(x, decay, growth, in_air)
    k2 = _derivative(x + 0.5 * dt * k1, decay, growth, in_air)
    k3 = _derivative(x + 0.5 * dt * k2, decay, growth, in_air)
    k4 = _derivative(x + dt * k3, decay, growth, in_air)
    out = x + (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    if in_air is not None:
        _hold_drag_share(x, out, in_air)
    return out


def _hold_drag_share(start: np.ndarray, end: np.ndarray, in_air: np.ndarray) -> None:
    """Set ``a`` along the velocity of the states ``end`` (n, 9) in the air (``in_air`` (n,)) to
    the share of the nominal drag it was at ``start``: the drag error is a constant share of the
    drag (the module docstring), and its growth law, d ln(drag)/dt, jumps where the air's
    lapse rate does (11 km, 20 km...). RK4 over a 1 s step across the tropopause missed the
    drag's growth there by 0.2% of the drag error (a depressed SRBM at 6 g: 0.03 m/s^2 that
    lasted to impact)."""
    i = np.nonzero(in_air)[0]
    before, after = nominal_drag(start[i]), nominal_drag(end[i])
    ok = (before > 0.0) & (after > 0.0)
    i, before, after = i[ok], before[ok], after[ok]
    if not len(i):
        return
    along_start = np.sum(start[i, 6:9] * _along_velocity(start[i]), axis=1)
    v_hat = _along_velocity(end[i])
    a = end[i, 6:9]
    end[i, 6:9] = a + (along_start * after / before - np.sum(a * v_hat, axis=1))[:, None] * v_hat


def jacobian(x: np.ndarray, decay: np.ndarray, growth: np.ndarray | None = None,
             drag: np.ndarray | None = None) -> np.ndarray:
    """d(dx/dt)/dx (n, 9, 9): point-mass gravity gradient, frame terms, drag, the dynamics of a."""
    n = x.shape[0]
    r, v = x[:, :3], x[:, 3:6]
    A = np.zeros((n, 9, 9))
    eye = np.eye(3)
    A[:, 0:3, 3:6] = eye
    A[:, 3:6, 0:3] = gravity_gradient_point_mass(r) + _CENTRIFUGAL
    A[:, 3:6, 3:6] = -2.0 * _OMEGA_CROSS
    A[:, 3:6, 6:9] = eye
    # Drag -k |v| v with k = rho / (2 beta): d/dv = -k (|v| I + v v^T / |v|), d/dr = drag
    # (d ln rho / dh) r^T / |r| (the density's gradient, which in the last seconds of a steep
    # re-entry is most of it; left out where the drag is not felt, as in midcourse). Where
    # ``a`` carries the drag error, the drag those derivatives scale is the estimated one,
    # the nominal plus a's share along the velocity.
    h = fast_altitude(r)
    k = 0.5 * density_fast(h) * NOMINAL_INV_BETA
    speed = np.maximum(np.linalg.norm(v, axis=1), 1e-3)
    nominal = k * speed * speed
    felt = nominal > DRAG_ERROR_MIN_MPS2
    dlnrho_dh = np.zeros(n)
    if felt.any():
        dlnrho_dh[felt] = log_density_slope(h[felt])
    in_air = None
    if drag is not None and (drag & felt).any():
        in_air = drag & felt
    # The drag error's growth and direction taken as given.
    A[:, 6:9, 6:9] = _a_dynamics(x, decay, in_air, dlnrho_dh=dlnrho_dh)
    if growth is not None and np.any(growth):  # d(s(|a|) a)/da = s I + s'(|a|) a a^T / |a|
        a = x[:, 6:9]
        norm = np.maximum(np.linalg.norm(a, axis=1), 1e-9)
        s, ds = _thrust_growth(norm, growth)
        A[:, 6:9, 6:9] += s[:, None, None] * eye + ds[:, None, None] * a[:, :, None] * a[:, None, :] / norm[:, None, None]
    scale = np.ones(n)
    if in_air is not None:
        extra = -np.sum(x[:, 6:9] * v, axis=1) / speed / np.maximum(nominal, 1e-300)
        scale = np.where(in_air, 1.0 + np.clip(extra, -0.9, 9.0), 1.0)
    ks = (k * scale)[:, None, None]
    A[:, 3:6, 3:6] -= ks * (speed[:, None, None] * eye + v[:, :, None] * v[:, None, :] / speed[:, None, None])
    if felt.any():
        drag_vec = -(k * scale * speed)[felt, None] * v[felt]
        up = fast_altitude_gradient(r[felt])
        A[felt, 3:6, 0:3] += dlnrho_dh[felt, None, None] * drag_vec[:, :, None] * up[:, None, :]
    return A


def residual_variance(x: np.ndarray, models: list[MotionModel] | MotionModel) -> np.ndarray:
    """Variance (n,) per axis of each model's slowly varying force in ``a`` at states x (n, >= 3)
    (the ballistic model's gravity beyond J2; see MotionModel), (m/s^2)^2."""
    n = x.shape[0]
    if isinstance(models, MotionModel):
        models = [models] * n
    radius = np.maximum(np.linalg.norm(x[:, :3], axis=1), WGS84_A)
    return (np.array([m.residual_accel_variance for m in models])
            * (WGS84_A / radius) ** np.array([m.residual_falloff for m in models]))


def residual_rates(x: np.ndarray, models: list[MotionModel] | MotionModel) -> tuple[np.ndarray, np.ndarray]:
    """Rates (n,), 1/s, at states x (n, >= 6) of each model's slowly varying force in ``a``
    (see MotionModel): how fast it is forgotten (the state's angular rate about the Earth's
    centre over residual_correlation_rad; 0 without one), and how fast it shrinks as the state
    climbs (residual_falloff / 2 x dr/dt / r: negative, a growth, while it falls)."""
    n = x.shape[0]
    if isinstance(models, MotionModel):
        models = [models] * n
    angle = np.array([m.residual_correlation_rad for m in models])
    falloff = np.array([m.residual_falloff for m in models])
    r, v = x[:, :3], x[:, 3:6]
    r2 = np.sum(r * r, axis=1)
    forget = np.linalg.norm(np.cross(r, v), axis=1) / r2 / angle
    shrink = np.where(r2 > WGS84_A**2, 0.5 * falloff * np.sum(r * v, axis=1) / r2, 0.0)
    return forget, shrink


def effective_decay(x: np.ndarray, models: list[MotionModel] | MotionModel,
                    nominal: np.ndarray | None = None) -> np.ndarray:
    """Decay rate (n,), 1/s, of ``a`` at states x (n, 9): the model's (:func:`rates`) plus its
    slowly varying force's (:func:`residual_rates`: forgotten, and shrinking as the state
    climbs), and, for models whose ``a`` carries the drag error, faster where that error is felt.

    There ``a`` holds two forces: the drag error, forgotten within DRAG_ERROR_CORRELATION_S
    as the air thins above it and with no part across the velocity, and the slowly varying
    residual (minutes or more). One state decays at one rate, so it
    takes the drag error's, weighted by that error's share of the variance (a spread
    INV_BETA_RELATIVE_SIGMA of the nominal drag, against :func:`residual_variance`): within
    seconds below some 105 km at 3 km/s and 115 km at 7 km/s, over minutes far above. In
    the air the part along the velocity follows the drag instead (_a_dynamics). Kept at the
    residual's rate, what a boost leaves in ``a`` lasts minutes: the drag error's prior at
    burnout lies along the boost model's velocity, not the ballistic model's, and its part
    across (a spread of 7e-3 m/s^2, a hundred times the residual's, an all-radar tracker on
    the gap's control flight) let the track's ``a`` wander by 1e-3 to 5e-3 m/s^2 in midcourse and
    doubled its velocity error. Kept at the drag error's, a lofted ICBM's gravity residual
    would be lost. ``nominal`` is :func:`nominal_drag` of x, computed when not given.
    """
    n = x.shape[0]
    if isinstance(models, MotionModel):
        models = [models] * n
    decay, _ = rates(models, n)
    forget, shrink = residual_rates(x, models)
    decay = decay + forget + shrink
    flagged = drag_flags(models, n)
    if not flagged.any():
        return decay
    nominal = nominal_drag(x) if nominal is None else nominal
    felt = flagged & (nominal > 0.0)
    if not felt.any():
        return decay
    spread2 = (INV_BETA_RELATIVE_SIGMA * nominal[felt]) ** 2
    share = spread2 / (spread2 + residual_variance(x, models)[felt])
    decay[felt] += share / DRAG_ERROR_CORRELATION_S
    return decay


def process_noise(x: np.ndarray, dt: float, models: list[MotionModel] | MotionModel,
                  nominal: np.ndarray | None = None, decay: np.ndarray | None = None) -> np.ndarray:
    """Discrete process noise (n, 9, 9) over dt for each state's model.

    White jerk on ``a`` enters r, v, a as the integrated-random-walk blocks
    [dt^5/20, dt^4/8, dt^3/6; dt^4/8, dt^3/3, dt^2/2; dt^3/6, dt^2/2, dt];
    white acceleration on v adds [dt^3/3, dt^2/2; dt^2/2, dt]. A slowly varying force in
    ``a`` (:func:`residual_variance`) is a Gauss-Markov process: white jerk of twice its
    variance times the rate it is forgotten (:func:`residual_rates`; its shrinking and growing
    with height scale it, adding nothing). The drag the nominal
    ballistic coefficient predicts is uncertain by INV_BETA_RELATIVE_SIGMA: in thin air that
    drives the ballistic model's ``a`` along the velocity, and always the other models'
    velocity. In the air the ballistic model's ``a`` is the drag error itself, a constant
    share of the drag: no noise drives it. ``x`` is the state at the step's start;
    ``nominal`` its :func:`nominal_drag` and ``decay`` its :func:`effective_decay`,
    computed when not given.
    """
    n = x.shape[0]
    if isinstance(models, MotionModel):
        models = [models] * n
    forget, _ = residual_rates(x, models)
    jerk = np.array([m.jerk_psd for m in models]) + 2.0 * residual_variance(x, models) * forget
    vel = np.array([m.velocity_psd for m in models])
    drag = nominal_drag(x) if nominal is None else nominal
    if decay is None:
        decay = effective_decay(x, models, drag)
    flagged = drag_flags(models, n)
    in_a = flagged & (drag > DRAG_ERROR_MIN_MPS2)
    sigma = INV_BETA_RELATIVE_SIGMA * drag
    # In thin air the ballistic model's a is driven to the drag error's spread sigma along
    # the velocity (drag has no sideways part, and the velocity takes the error only through
    # a), so that it enters the air with that spread; in the air nothing drives it (see the
    # module docstring). A Gauss-Markov process of decay rate d driven at 2 sigma^2 d lags a
    # spread that grows, at g = d ln(drag)/dt, e-folding in a second on a steep descent: the
    # noise that holds its variance at sigma^2 is 2 sigma^2 (d + g), which over a step of dt
    # from sigma at its start adds sigma^2 (e^(2 g dt) - e^(-2 d dt)). That, as a PSD, so
    # that a step ending in the air hands a the spread there, however long the step.
    # Elsewhere a drag error of sigma persisting DRAG_ERROR_CORRELATION_S acts like white
    # noise on the velocity of PSD 2 sigma^2 tau.
    thin = flagged & ~in_a & (drag > 0.0)
    along = np.zeros(n)
    if thin.any() and dt > 0.0:
        rise = np.maximum(_drag_growth(x[thin]), 0.0)
        along[thin] = sigma[thin] ** 2 * (np.exp(2.0 * rise * dt) - np.exp(-2.0 * decay[thin] * dt)) / dt
    vel = vel + np.where(flagged, 0.0, 2.0 * DRAG_ERROR_CORRELATION_S * sigma**2)
    # A thrust's own jerk (thrust_jerk_psd): its part across the velocity on every axis, and
    # along the velocity what its along part adds to that.
    thrusting = np.array([m.thrust_jerk for m in models])
    if thrusting.any():
        i = np.nonzero(thrusting)[0]
        thrust_along, thrust_across = thrust_jerk_psd(x[i])
        jerk = jerk.copy()
        jerk[i] += thrust_across
        along = along.copy()
        along[i] += thrust_along - thrust_across
    Q = np.einsum("nik,jl->nijkl", _blocks(jerk, vel, dt), np.eye(3))  # the same block on each axis
    if flagged.any() or thrusting.any():
        v_hat = _along_velocity(x)
        Q = Q + np.einsum("nik,nj,nl->nijkl", _blocks(along, np.zeros(n), dt), v_hat, v_hat)
    return Q.reshape(n, 9, 9)  # Q[3i + j, 3k + l] = block[i, k] * axes[j, l]


def thrust_jerk_psd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """White jerk PSDs (n,) along and across the velocity that a thrust ``a`` of states x (n, 9)
    leaves out of the growth law, (m/s^3)^2/Hz (see BOOST)."""
    v = x[:, 3:6]
    speed = np.linalg.norm(v, axis=1)
    v_hat = _along_velocity(x)
    accel = state_derivative(x[:, :6], NOMINAL_INV_BETA)[:, 3:6] + x[:, 6:9]
    across = accel - np.sum(accel * v_hat, axis=1)[:, None] * v_hat
    turn_rate = np.maximum(np.linalg.norm(across, axis=1) / np.maximum(speed, 100.0),
                           PITCH_OVER_RATE * np.clip(1.0 - speed / PITCH_OVER_SPEED_MPS, 0.0, 1.0))
    thrust = np.linalg.norm(x[:, 6:9], axis=1)
    growth_error = np.hypot(EXHAUST_VELOCITY_SPREAD, np.clip(thrust / THRUST_ACCEL_LIMIT, 0.0, 1.0) ** THRUST_CAP_SHARPNESS)
    along_jerk = growth_error * thrust**2 / BOOST_EXHAUST_VELOCITY_MPS
    across_jerk = thrust * turn_rate
    scale = 2.0 * THRUST_JERK_CORRELATION_S
    return (np.minimum(scale * along_jerk**2, THRUST_JERK_PSD_MAX),
            np.minimum(scale * across_jerk**2, THRUST_JERK_PSD_MAX))


def _blocks(jerk: np.ndarray, vel: np.ndarray, dt: float) -> np.ndarray:
    """Per-axis (r, v, a) noise blocks (n, 3, 3) of white jerk and white acceleration PSDs (n,)."""
    d2, d3, d4, d5 = dt**2, dt**3, dt**4, dt**5
    blocks = np.zeros((len(jerk), 3, 3))
    blocks[:, 0, 0] = jerk * d5 / 20.0 + vel * d3 / 3.0
    blocks[:, 0, 1] = blocks[:, 1, 0] = jerk * d4 / 8.0 + vel * d2 / 2.0
    blocks[:, 0, 2] = blocks[:, 2, 0] = jerk * d3 / 6.0
    blocks[:, 1, 1] = jerk * d3 / 3.0 + vel * dt
    blocks[:, 1, 2] = blocks[:, 2, 1] = jerk * d2 / 2.0
    blocks[:, 2, 2] = jerk * dt
    return blocks


def predict(x: np.ndarray, P: np.ndarray, dt: float, models: list[MotionModel] | MotionModel) -> tuple[np.ndarray, np.ndarray]:
    """Extended-Kalman prediction of 9-D states and covariances over dt (s), any sign.

    dt is split into equal sub-steps of at most VACUUM_STEP_S, shorter where the drag grows
    fast (DRAG_GROWTH_PER_STEP); in each the mean takes one RK4 step, the covariance the
    second-order transition I + A h + (A h)^2 / 2 plus process noise.
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
    # Each state is stepped by its own drag's growth, not by its batch's: a tracker's tracks
    # and models come in one batch, and one low down once took them all to quarter-second
    # steps (twice the time per scan at ten targets, benchmarks/tracker_vs_stonesoup.py). So
    # one model predicts the same alone as in the IMM.
    longest = np.full(n, VACUUM_STEP_S)
    in_air = nominal_drag(x) > DRAG_ERROR_MIN_MPS2
    if in_air.any():
        growth = np.maximum(np.abs(_drag_growth(x[in_air])), 1e-9)
        longest[in_air] = np.minimum(VACUUM_STEP_S, DRAG_GROWTH_PER_STEP / growth)
    steps = np.maximum(1, np.ceil(abs(dt) / longest)).astype(int)
    counts = np.unique(steps)
    if len(counts) == 1:
        return _predict_steps(x, P, P_ind, dt, models, int(counts[0]))
    x_out, P_out = np.empty_like(x), np.empty_like(P)
    P_ind_out = None if P_ind is None else np.empty_like(P_ind)
    for count in counts:
        rows = np.flatnonzero(steps == count)
        x_out[rows], P_out[rows], P_ind_rows = _predict_steps(
            x[rows], P[rows], None if P_ind is None else P_ind[rows], dt, [models[i] for i in rows], int(count))
        if P_ind_out is not None:
            P_ind_out[rows] = P_ind_rows
    return x_out, P_out, P_ind_out


def _predict_steps(x: np.ndarray, P: np.ndarray, P_ind: np.ndarray | None, dt: float,
                   models: list[MotionModel], steps: int):
    """:func:`predict_split` of states (n, 9) over dt (s) in ``steps`` equal sub-steps."""
    n = x.shape[0]
    _, growth = rates(models, n)
    drag = drag_flags(models, n)
    h = dt / steps
    eye = np.eye(9)
    for _ in range(steps):
        nominal = nominal_drag(x)
        decay = effective_decay(x, models, nominal)  # judged at the step's start, as F is
        Ah = jacobian(x, decay, growth, drag) * h
        F = eye + Ah + 0.5 * Ah @ Ah
        Ft = np.swapaxes(F, 1, 2)
        Q = process_noise(x, abs(h), models, nominal, decay)
        x = propagate_mean(x, h, decay, growth, drag)
        P = F @ P @ Ft + Q
        if P_ind is not None:
            P_ind = F @ P_ind @ Ft
    P = 0.5 * (P + np.swapaxes(P, 1, 2))
    if P_ind is not None:
        P_ind = 0.5 * (P_ind + np.swapaxes(P_ind, 1, 2))
    return x, P, P_ind


def covariance9(P6: np.ndarray, P_aa: np.ndarray | None = None) -> np.ndarray:
    """9-D covariances (n, 9, 9) of 6-D ones (n, 6, 6), ``a`` uncorrelated with them: its
    covariance ``P_aa`` (3, 3) or (n, 3, 3), 0 if not given."""
    P = np.zeros((len(P6), 9, 9))
    P[:, :6, :6] = P6
    if P_aa is not None:
        P[:, 6:9, 6:9] = P_aa
    return P


def drag_error_prior(x: np.ndarray) -> np.ndarray:
    """Covariance (n, 3, 3) of the drag error a ballistic state (n, >= 6) has before any
    plot has measured it: in the air, INV_BETA_RELATIVE_SIGMA of the nominal drag along
    the velocity (the ballistic coefficient is not known); above it, none."""
    drag = nominal_drag(x)
    spread = np.where(drag > DRAG_ERROR_MIN_MPS2, INV_BETA_RELATIVE_SIGMA * drag, 0.0)
    v_hat = _along_velocity(x[:, :6])
    return spread[:, None, None] ** 2 * v_hat[:, :, None] * v_hat[:, None, :]


def ballistic_accel_prior(x: np.ndarray) -> np.ndarray:
    """Covariance (n, 3, 3) of the ballistic model's ``a`` at states x (n, >= 6) that no plot
    has measured: the drag error's prior (:func:`drag_error_prior`) and the gravity
    residual's spread (:func:`residual_variance`) on every axis."""
    return drag_error_prior(x) + residual_variance(x, BALLISTIC)[:, None, None] * np.eye(3)


def ballistic_state9(x6: np.ndarray, P6: np.ndarray, accel: np.ndarray | None = None,
                     accel_rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """9-D ballistic states (n, 9) and covariances (n, 9, 9) of shared 6-D ones.

    Above the air ``a`` is 0 with the gravity residual's spread (the ballistic model's own
    noise takes it to the small spread of the drag error left there within seconds). In the
    air ``a`` is also the drag error. Where the sender released its rows of the 9x9
    covariance (``accel_rows`` (n, 3, 9), NaN where not), ``a`` is the released ``accel``
    with them. Elsewhere its mean
    is the released ``accel`` along the velocity (0 if withheld) and its covariance the prior spread of a
    drag error along the velocity, INV_BETA_RELATIVE_SIGMA of the nominal drag: the
    sender's own is smaller, so that is on the safe side. Set to 0 instead, a state flown
    on in the air kept a drag error of 0 and was too sure of itself.
    """
    x = np.concatenate([x6, np.zeros((len(x6), 3))], axis=1)
    P = covariance9(P6, ballistic_accel_prior(x6))
    drag = nominal_drag(x6)
    in_air = drag > DRAG_ERROR_MIN_MPS2
    if in_air.any():
        v_hat = _along_velocity(x6)
        if accel is not None:
            along = np.sum(accel * v_hat, axis=1)
            x[:, 6:9] = np.where(in_air[:, None], along[:, None] * v_hat, 0.0)
        if accel is not None and accel_rows is not None:
            own = in_air & np.isfinite(accel_rows).all(axis=(1, 2))
            x[own, 6:9] = accel[own]
            P[own, 6:9, :] = accel_rows[own]
            P[own, :6, 6:9] = np.swapaxes(accel_rows[own, :, :6], 1, 2)
    return x, P

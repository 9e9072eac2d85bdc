"""The launch point, back-extrapolated from an early boost-phase state.

A missile rises from rest under thrust along its velocity (a gravity turn), so
flying the state backwards with that thrust, gravity and the rotating Earth's frame
forces brings it back to the ground near the pad. The thrust acceleration now is the
track's ``a``; earlier it was smaller, the rocket being heavier: with constant thrust
and mass flow, ``a(t - s) = a0 T / (T + s)`` where ``T = v_e / a0`` is the time the
remaining mass would take to burn at the current rate and ``v_e`` a typical exhaust
speed. Staging breaks that law; the model error is part of the stated uncertainty.
Sigma points over the 9-D state carry the track's uncertainty to the ground.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from warnlink import frames
from warnlink.physics.dynamics import fast_altitude, state_derivative
from warnlink.prediction.sigma_points import sigma_points

STEP_S = 1.0  # RK4 on a smooth thrust law: far below the model's own error (MODEL_SIGMA_M)
MAX_BACK_S = 400.0
REST_SPEED_MPS = 30.0  # a back-flown state this slow has reached the pad
MODEL_SIGMA_M = 5e3  # what the constant-thrust model misses, added to the spread
MODEL_SIGMA_S = 5.0
EXHAUST_SPEED_MPS = 2600.0  # typical of the solid and storable-liquid motors of ballistic missiles


@dataclass(frozen=True)
class LaunchPointEstimate:
    ok: bool
    lat_rad: float = float("nan")
    lon_rad: float = float("nan")
    t_s: float = float("nan")  # estimated launch time, scenario s
    cov_en_m2: tuple[float, float, float, float] = (np.nan,) * 4
    sigma_t_s: float = float("nan")
    reason: str = ""


def _fly_back(x9: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fly states (k, 9) backwards to the ground or to rest; (positions (k, 3), elapsed s (k,))."""
    x = x9[:, :6].copy()
    thrust = np.maximum(np.linalg.norm(x9[:, 6:9], axis=1), 1e-3)
    burn_scale = EXHAUST_SPEED_MPS / thrust  # T, s
    k = x.shape[0]
    done = np.zeros(k, bool)
    elapsed = np.zeros(k)
    t = 0.0
    while not done.all() and t < MAX_BACK_S:
        live = ~done

        def deriv(s, back_s):
            r, v = s[:, :3], s[:, 3:6]
            speed = np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-3)
            T = burn_scale[live]
            a_thrust = thrust[live] * T / (T + back_s)
            out = state_derivative(s, 0.0)  # gravity and the rotating frame, no drag
            out[:, 3:6] += a_thrust[:, None] * v / speed
            return out

        s = x[live]
        h = -STEP_S
        k1 = deriv(s, t)
        k2 = deriv(s + 0.5 * h * k1, t + 0.5 * STEP_S)
        k3 = deriv(s + 0.5 * h * k2, t + 0.5 * STEP_S)
        k4 = deriv(s + h * k3, t + STEP_S)
        s_new = s + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
        t += STEP_S
        stop = (fast_altitude(s_new[:, :3]) <= 0.0) | (np.linalg.norm(s_new[:, 3:6], axis=1) < REST_SPEED_MPS)
        idx = np.nonzero(live)[0]
        x[idx] = s_new
        elapsed[idx] = t
        done[idx[stop]] = True
    return x[:, :3], np.where(done, elapsed, np.nan)


def estimate_launch_point(x9, P9, t_s: float) -> LaunchPointEstimate:
    """Launch point and time from a boost-phase state [r, v, a] (9,) with covariance (9, 9)."""
    x9 = np.asarray(x9, float).reshape(9)
    P9 = np.asarray(P9, float).reshape(9, 9)
    if not np.all(np.isfinite(x9)) or not np.all(np.isfinite(P9)):
        return LaunchPointEstimate(ok=False, reason="non-finite state")
    points, weights = sigma_points(x9[None], P9[None])
    r, back = _fly_back(points[0])
    valid = np.isfinite(back)
    if not valid[0] or valid.mean() < 0.5:
        return LaunchPointEstimate(ok=False, reason="the state does not fly back to the ground")
    w = np.where(valid, weights, 0.0)
    w /= w.sum()
    lat0, lon0, _ = frames.ecef_to_geodetic(r[0])
    enu = frames.ecef_to_enu(np.where(valid[:, None], r, r[0]), lat0, lon0)[:, :2]
    mean = w @ enu
    d = enu - mean
    cov = (w[:, None] * d).T @ d + np.eye(2) * MODEL_SIGMA_M**2
    centre = frames.enu_to_ecef(np.array([mean[0], mean[1], 0.0]), lat0, lon0)
    lat, lon, _ = frames.ecef_to_geodetic(centre)
    back_mean = float(w @ np.where(valid, back, 0.0))
    sigma_t = float(np.sqrt(w @ (np.where(valid, back, back_mean) - back_mean) ** 2 + MODEL_SIGMA_S**2))
    return LaunchPointEstimate(ok=True, lat_rad=float(lat), lon_rad=float(lon), t_s=t_s - back_mean,
                               cov_en_m2=tuple(float(v) for v in cov.ravel()), sigma_t_s=sigma_t)

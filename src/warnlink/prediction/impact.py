"""The impact point and time of each system track, with a calibrated 95% ellipse.

The state (ECEF position and velocity) and the logarithm of an uncertain inverse
ballistic coefficient (the prior, or in the air what the tracker's drag error says of
it, whichever is tighter) form a 7-D Gaussian; its sigma points (or Monte Carlo samples)
fly unpowered, with J2 gravity, the rotating Earth and drag in the standard
atmosphere, the same dynamics as the truth, until they reach the ellipsoid. The spread
of their impact points about the central point's, in its tangent plane, gives the
ellipse, the spread of their impact times the time's uncertainty. All sigma points of
all tracks fly together in one vectorized propagation.

While a motor still burns this is the *instantaneous* impact point: where the missile
would come down if thrust stopped now.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from warnlink import frames
from warnlink.physics.dynamics import fast_altitude
from warnlink.physics.propagator import propagate_to_ground
from warnlink.prediction.sigma_points import moments_about_centre, sigma_points

# Re-entry vehicles of the missiles modelled have ballistic coefficients of several
# thousand kg/m^2; the filters assume 10,000 with a factor of 1.5 (1 sigma, log-normal).
NOMINAL_INV_BETA = 1.0 / 10_000.0
LOG_INV_BETA_SIGMA = np.log(1.5)
GROUND_TRACK_EVERY_S = 10.0
# Sigma points at +-sqrt(3) sigma, not +-sqrt(7): 1/beta is log-normal and the impact moves
# faster than linearly with it, so points at 2.6 sigma (1/beta x2.9 or /2.9) overstated the
# along-track spread (an SRBM at mid-flight: 1.2 times the 95% semi-major axis of 4,000 random
# draws, tests/test_prediction.py).
UT_SPREAD = 3.0


@dataclass
class ImpactPrediction:
    """Where and when one track comes down, and the path until then (scenario seconds, radians)."""

    ok: bool
    reason: str = ""
    lat_rad: float = float("nan")
    lon_rad: float = float("nan")
    cov_en_m2: np.ndarray = field(default_factory=lambda: np.full((2, 2), np.nan))
    impact_t_s: float = float("nan")
    impact_sigma_s: float = float("nan")
    apogee_m: float = float("nan")
    ground_track_lat_rad: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ground_track_lon_rad: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ground_track_t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    valid_fraction: float = 0.0  # of the sigma points / samples that came down within the horizon

    @property
    def semi_major_95_m(self) -> float:
        values = np.linalg.eigvalsh(np.asarray(self.cov_en_m2))
        return float(np.sqrt(5.991 * max(values[-1], 0.0)))


def predict_impacts(x: np.ndarray, P: np.ndarray, t_s: float, *, inv_beta_nominal: float = NOMINAL_INV_BETA,
                    log_inv_beta_sigma: float = LOG_INV_BETA_SIGMA, log_inv_beta_estimate: np.ndarray | None = None,
                    method: str = "ut", n_samples: int = 256, seed: int = 0,
                    horizon_s: float = 7200.0) -> list[ImpactPrediction]:
    """Impact predictions for states ``x`` (n, 6) with covariances ``P`` (n, 6, 6) at scenario time ``t_s``.

    1/beta is ``inv_beta_nominal`` with a log-normal spread ``log_inv_beta_sigma``, unless
    ``log_inv_beta_estimate`` (n, 2) gives a track's own (log of 1/beta over the nominal,
    sigma), from the drag its tracker has measured in the air, that is tighter than that
    (NaN rows: none). ``method`` "ut" uses 15 sigma points per track; "mc" ``n_samples``
    random draws (seeded). A track whose mean does not come down within ``horizon_s``
    (or that is under the ground already) gets ``ok=False`` and a reason.
    """
    x = np.atleast_2d(np.asarray(x, float))
    P = np.asarray(P, float).reshape(-1, 6, 6)
    n = x.shape[0]
    if P.shape[0] != n:
        raise ValueError(f"{n} states but {P.shape[0]} covariances")
    if n == 0:
        return []
    log_mean, log_sigma = np.zeros(n), np.full(n, float(log_inv_beta_sigma))
    if log_inv_beta_estimate is not None:
        est = np.asarray(log_inv_beta_estimate, float).reshape(n, 2)
        tighter = np.isfinite(est).all(axis=1) & (est[:, 1] < log_sigma)
        log_mean[tighter], log_sigma[tighter] = est[tighter, 0], est[tighter, 1]
    mean = np.concatenate([x, log_mean[:, None]], axis=1)
    cov = np.zeros((n, 7, 7))
    cov[:, :6, :6] = P
    cov[:, 6, 6] = log_sigma**2
    if method == "ut":
        points, weights = sigma_points(mean, cov, spread=UT_SPREAD)
    elif method == "mc":
        rng = np.random.default_rng(seed)
        L = np.linalg.cholesky(cov + np.eye(7) * 1e-9)
        draws = rng.standard_normal((n, n_samples, 7))
        draws[:, 0] = 0.0  # the first sample is the mean: its path is the ground track
        points = mean[:, None, :] + np.einsum("nij,nkj->nki", L, draws)
        weights = np.full(n_samples, 1.0 / n_samples)
    else:
        raise ValueError(f"method {method!r} is not 'ut' or 'mc'")
    k = points.shape[1]
    flat = points.reshape(n * k, 7)
    crossing, path = propagate_to_ground(flat[:, :6], inv_beta_nominal * np.exp(flat[:, 6]), max_time_s=horizon_s,
                                         record_every_s=GROUND_TRACK_EVERY_S)
    t_hit = crossing.time_s.reshape(n, k)
    r_hit = crossing.r.reshape(n, k, 3)
    path_t = np.array([p[0] for p in path])
    path_r = np.stack([p[1] for p in path], axis=0).reshape(len(path), n, k, 3) if path else np.zeros((0, n, k, 3))
    altitude_now = fast_altitude(x[:, :3])
    return [
        _one(t_s, weights, method == "ut", t_hit[i], r_hit[i], path_t, path_r[:, i, 0], x[i], altitude_now[i],
             horizon_s)
        for i in range(n)
    ]


def _one(t_s, weights, unscented, t_hit, r_hit, path_t, mean_path, x_now, altitude_now, horizon_s) -> ImpactPrediction:
    if altitude_now <= 0.0:
        return ImpactPrediction(ok=False, reason="the track is at or under the ground")
    if not np.isfinite(t_hit[0]):
        return ImpactPrediction(ok=False, reason=f"does not come down within {horizon_s:.0f} s (orbital or escaping)")
    valid = np.isfinite(t_hit)
    lat0, lon0, _ = frames.ecef_to_geodetic(r_hit[0])
    enu = frames.ecef_to_enu(np.where(valid[:, None], r_hit, r_hit[0]), lat0, lon0)[:, :2]
    landing = np.column_stack([enu, np.where(valid, t_hit, t_hit[0])])  # east, north, time
    if unscented:
        mean, cov = moments_about_centre(landing, weights, valid)
    else:
        w = np.where(valid, weights, 0.0)
        w = w / w.sum()
        mean = w @ landing
        d = landing - mean
        cov = (w[:, None] * d).T @ d
    cov_en = cov[:2, :2]
    centre = frames.enu_to_ecef(np.array([mean[0], mean[1], 0.0]), lat0, lon0)
    lat, lon, _ = frames.ecef_to_geodetic(centre)
    t_mean = float(mean[2])
    t_sigma = float(np.sqrt(max(cov[2, 2], 0.0)))

    flying = path_t < t_hit[0]
    track_r = np.concatenate([x_now[None, :3], mean_path[flying], r_hit[0][None]], axis=0)
    track_t = np.concatenate([[0.0], path_t[flying], [t_hit[0]]])
    glat, glon, galt = frames.ecef_to_geodetic(track_r)
    return ImpactPrediction(
        ok=True, lat_rad=float(lat), lon_rad=float(lon), cov_en_m2=0.5 * (cov_en + cov_en.T),
        impact_t_s=t_s + t_mean, impact_sigma_s=t_sigma, apogee_m=float(max(np.max(galt), altitude_now)),
        ground_track_lat_rad=np.asarray(glat), ground_track_lon_rad=np.asarray(glon),
        ground_track_t_s=t_s + track_t, valid_fraction=float(valid.mean()),
    )

"""Probabilities that a predicted missile threatens an area: impact in it, or overflight of it.

Both are estimated by testing a FIXED set of points against the area, so that the same
prediction always gives the same probability (no alert flips from sampling noise) and a
probability is a pure function of its inputs:

* impact: a scrambled Sobol set of standard-normal pairs, generated once at import from a
  fixed seed, is mapped through the Cholesky factor of the east/north covariance onto the
  tangent plane at the mean, carried to lon/lat (geo.enu_offsets_to_lat_lon_rad) and tested
  with shapely.contains_xy against the prepared area.
* overflight: the mean ground track is displaced sideways by z * sigma_i at each point i,
  with one standard-normal factor z common to the whole track (fixed stratified quantiles of
  z). A ballistic ground track's cross-range error comes mostly from the error in the
  direction of the burnout velocity, which swings the whole downrange track rigidly about
  the launch region, growing with range; the caller's per-point sigma carries that growth
  (small near "now", the impact ellipse's cross-range sigma at the end). Independent noise
  per point would make jagged tracks that cross areas far more often than any real
  trajectory. P(overflight) is the weighted fraction of displaced tracks that intersect
  the area.
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy.stats import norm, qmc

from warnlink.warning import geo
from warnlink.warning.areas import Area, as_area

N_SAMPLES_MAX = 16384
N_SAMPLES_DEFAULT = 4096  # QMC error on half-planes: 5e-4 typical, < 3e-3 worst; 41 points at P = 0.01
N_OVERFLIGHT_SAMPLES_DEFAULT = 200  # stratified: resolves probabilities to 0.005
QUICK_REJECT_SIGMA = 6.0  # an area farther than this from the mean gets 0 without sampling
_SEED = 20231218
_MEAN_RADIUS_M = 6371008.8


def _standard_normal_pairs(n: int) -> np.ndarray:
    """n (a power of two) deterministic standard-normal pairs: scrambled Sobol through the
    inverse normal CDF. Any power-of-two prefix is itself a balanced Sobol set."""
    u = qmc.Sobol(d=2, scramble=True, seed=_SEED).random_base2(int(np.log2(n)))
    return norm.ppf(np.clip(u, 1e-12, 1.0 - 1e-12))


_Z2 = _standard_normal_pairs(N_SAMPLES_MAX)
_Z2.setflags(write=False)


def _stratified_normal(n: int) -> np.ndarray:
    """n standard-normal quantiles at the centres of n equal-probability strata."""
    return norm.ppf((np.arange(n) + 0.5) / n)


def _sqrt_factors(cov_en_m2: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors (T, 2, 2); semidefinite covariances fall back to eigen roots."""
    cov = 0.5 * (cov_en_m2 + np.swapaxes(cov_en_m2, -1, -2))
    if not np.all(np.isfinite(cov)):
        raise ValueError("impact covariance has non-finite entries")
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(cov)
        if np.any(values < -1e-6 * np.abs(values).max(axis=-1, keepdims=True) - 1e-9):
            raise ValueError("impact covariance is not positive semidefinite") from None
        return vectors * np.sqrt(np.clip(values, 0.0, None))[..., None, :]


def distance_to_bounds_m(lat_rad, lon_rad, area: Area) -> np.ndarray:
    """Approximate great-circle distance (m) from points to the area's lon/lat bounding box."""
    lon0, lat0, lon1, lat1 = area.bounds_deg
    lat_deg = np.degrees(lat_rad)
    lon_deg = geo.wrap_lon_deg(np.degrees(lon_rad), area.centre_lon_deg)
    near_lat = np.radians(np.clip(lat_deg, lat0, lat1))
    near_lon = np.radians(np.clip(lon_deg, lon0, lon1))
    lat = np.radians(lat_deg)
    h = (np.sin(0.5 * (near_lat - lat)) ** 2
         + np.cos(lat) * np.cos(near_lat) * np.sin(0.5 * (near_lon - np.radians(lon_deg))) ** 2)
    return 2.0 * _MEAN_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def impact_probabilities(mean_lat_rad, mean_lon_rad, cov_en_m2, area,
                         n_samples: int = N_SAMPLES_DEFAULT) -> np.ndarray:
    """P(impact in area) for T predictions at once: means (T,) rad, covariances (T, 2, 2) m^2."""
    if not 1 <= n_samples <= N_SAMPLES_MAX:
        raise ValueError(f"n_samples must be in [1, {N_SAMPLES_MAX}], not {n_samples}")
    area = as_area(area)
    lat = np.atleast_1d(np.asarray(mean_lat_rad, float))
    lon = np.atleast_1d(np.asarray(mean_lon_rad, float))
    cov = np.asarray(cov_en_m2, float).reshape(-1, 2, 2)
    if not (lat.ndim == 1 and lat.shape == lon.shape and cov.shape[0] == lat.shape[0]):
        raise ValueError(f"impact means {lat.shape}, {lon.shape} and covariances {cov.shape} "
                         "do not match")
    if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon))):
        raise ValueError("impact mean latitude/longitude is not finite")
    result = np.zeros(lat.shape[0])
    sigma_max_m = np.sqrt(np.clip(np.linalg.eigvalsh(cov)[:, -1], 0.0, None))
    live = distance_to_bounds_m(lat, lon, area) <= QUICK_REJECT_SIGMA * sigma_max_m
    if not live.any():
        return result
    offsets = _Z2[:n_samples] @ np.swapaxes(_sqrt_factors(cov[live]), -1, -2)  # (T, n, 2) east, north
    s_lat, s_lon = geo.enu_offsets_to_lat_lon_rad(
        offsets[..., 0], offsets[..., 1], lat[live, None], lon[live, None]
    )
    s_lat_deg = np.degrees(s_lat)
    s_lon_deg = geo.wrap_lon_deg(np.degrees(s_lon), area.centre_lon_deg)
    lon0, lat0, lon1, lat1 = area.bounds_deg
    in_box = (s_lon_deg >= lon0) & (s_lon_deg <= lon1) & (s_lat_deg >= lat0) & (s_lat_deg <= lat1)
    inside = np.zeros(in_box.shape, bool)
    inside[in_box] = shapely.contains_xy(area.geometry, s_lon_deg[in_box], s_lat_deg[in_box])
    result[live] = inside.sum(axis=1) / n_samples
    return result


def impact_probability(mean_lat_rad: float, mean_lon_rad: float, cov_en_m2, area,
                       n_samples: int = N_SAMPLES_DEFAULT) -> float:
    """P(impact in area) of a Gaussian impact point: mean (rad), east/north covariance (m^2)."""
    return float(impact_probabilities(mean_lat_rad, mean_lon_rad, cov_en_m2, area, n_samples)[0])


def _track_lon_deg(lon_rad, centre_lon_deg: float) -> np.ndarray:
    """Track longitudes (deg), continuous across the antimeridian, shifted near the area."""
    lon_deg = np.degrees(np.unwrap(np.asarray(lon_rad, float)))
    shift = 360.0 * np.round((lon_deg.mean() - centre_lon_deg) / 360.0)
    return lon_deg - shift


def _first_crossing_segment(lon_deg: np.ndarray, lat_deg: np.ndarray, area: Area) -> int | None:
    """Index i of the first segment (points i, i+1) of a polyline that meets the area."""
    lon0, lat0, lon1, lat1 = area.bounds_deg
    a_lon, b_lon, a_lat, b_lat = lon_deg[:-1], lon_deg[1:], lat_deg[:-1], lat_deg[1:]
    near = ((np.maximum(a_lon, b_lon) >= lon0) & (np.minimum(a_lon, b_lon) <= lon1)
            & (np.maximum(a_lat, b_lat) >= lat0) & (np.minimum(a_lat, b_lat) <= lat1))
    idx = np.flatnonzero(near)
    if idx.size == 0:
        return None
    starts = np.stack([a_lon[idx], a_lat[idx]], -1)
    ends = np.stack([b_lon[idx], b_lat[idx]], -1)
    coords = np.stack([starts, ends], 1)  # (segments, 2 points, lon/lat)
    hit = shapely.intersects(area.geometry, shapely.linestrings(coords))
    return int(idx[np.argmax(hit)]) if hit.any() else None


def _polyline(lat_rad, lon_rad) -> tuple[np.ndarray, np.ndarray]:
    lat = np.atleast_1d(np.asarray(lat_rad, float))
    lon = np.atleast_1d(np.asarray(lon_rad, float))
    if lat.shape != lon.shape or lat.ndim != 1:
        raise ValueError("ground track latitudes and longitudes must be 1-D arrays of one length")
    if lat.size == 1:  # a single point: a zero-length segment
        lat, lon = np.repeat(lat, 2), np.repeat(lon, 2)
    return lat, lon


def overflight_probability(ground_track_lat_rad, ground_track_lon_rad, lateral_sigma_m, area,
                           n_samples: int = N_OVERFLIGHT_SAMPLES_DEFAULT) -> tuple[float, int | None]:
    """P(the ground track passes over the area) and the index of the first track point of
    the segment where a likely displaced track first meets it (None when P is 0).

    ``lateral_sigma_m`` is the 1-sigma cross-track error at each track point (or one value).
    The index is the earliest entry among the crossing tracks closest to the mean and the
    two outermost crossing tracks: conservative (early) by at most one track step.
    """
    area = as_area(area)
    lat, lon = _polyline(ground_track_lat_rad, ground_track_lon_rad)
    if lat.size == 0:
        return 0.0, None
    sigma_m = np.broadcast_to(np.asarray(lateral_sigma_m, float), lat.shape)
    if np.any(~np.isfinite(sigma_m)) or np.any(sigma_m < 0):
        raise ValueError("lateral_sigma_m must be finite and non-negative")
    lon_deg = _track_lon_deg(lon, area.centre_lon_deg)
    lat_deg = np.degrees(lat)
    # heading from neighbouring points in the local east/north metric; cross-track to the right
    d_north = np.gradient(lat)
    d_east = np.gradient(np.radians(lon_deg)) * np.cos(lat)
    cross_az = np.arctan2(d_east, d_north) + 0.5 * np.pi
    # keep only the stretch of track whose 6-sigma reach can touch the area's bounding box
    reach_deg = np.degrees(QUICK_REJECT_SIGMA * sigma_m / _MEAN_RADIUS_M) + 1e-9
    lon_reach = reach_deg / np.maximum(np.cos(lat), 0.05)
    b = area.bounds_deg
    near = ((lon_deg + lon_reach >= b[0]) & (lon_deg - lon_reach <= b[2])
            & (lat_deg + reach_deg >= b[1]) & (lat_deg - reach_deg <= b[3]))
    if not near.any():
        return 0.0, None
    keep = np.flatnonzero(near)  # widened by one point: a segment may cross the box edge
    start, stop = max(keep[0] - 1, 0), min(keep[-1] + 2, lat.size)
    lat, lon_deg, sigma_m, cross_az = (v[start:stop] for v in (lat, lon_deg, sigma_m, cross_az))
    if lat.size == 1:
        lat, lon_deg, sigma_m, cross_az = (np.repeat(v, 2) for v in (lat, lon_deg, sigma_m, cross_az))
    z = _stratified_normal(n_samples)
    if sigma_m.max() == 0.0:
        z = np.zeros(1)
    s_lat, s_lon = geo.displaced_tracks_rad(lat, np.radians(lon_deg), cross_az, sigma_m, z)
    s_lat_deg, s_lon_deg = np.degrees(s_lat), np.degrees(s_lon)
    lines = shapely.linestrings(np.stack([s_lon_deg, s_lat_deg], axis=-1))
    hits = shapely.intersects(area.geometry, lines)
    if not hits.any():
        return 0.0, None
    hit_idx = np.flatnonzero(hits)
    candidates = {hit_idx[0], hit_idx[-1], hit_idx[np.argmin(np.abs(z[hit_idx]))]}
    firsts = [_first_crossing_segment(s_lon_deg[k], s_lat_deg[k], area) for k in sorted(candidates)]
    firsts = [f for f in firsts if f is not None]
    return float(hits.mean()), (start + min(firsts) if firsts else None)


def truth_impact_in_area(impact_lat_rad: float, impact_lon_rad: float, area) -> bool:
    """True when a true impact point lies in the area (boundary counts as in)."""
    area = as_area(area)
    lon_deg = float(geo.wrap_lon_deg(np.degrees(impact_lon_rad), area.centre_lon_deg))
    return bool(shapely.intersects_xy(area.geometry, lon_deg, float(np.degrees(impact_lat_rad))))


def truth_overflight_entry_s(track_lat_rad, track_lon_rad, track_times_s, area) -> float | None:
    """Time (s) at which a true ground track first enters the area, or None if it never does.

    Interpolated linearly in lon/lat within the first segment that meets the area.
    """
    area = as_area(area)
    lat, lon = _polyline(track_lat_rad, track_lon_rad)
    times = np.atleast_1d(np.asarray(track_times_s, float))
    if times.size == 1:
        times = np.repeat(times, 2)
    if times.shape != lat.shape:
        raise ValueError("track_times_s must have one time per ground track point")
    lon_deg, lat_deg = _track_lon_deg(lon, area.centre_lon_deg), np.degrees(lat)
    i = _first_crossing_segment(lon_deg, lat_deg, area)
    if i is None:
        return None
    segment = shapely.LineString([(lon_deg[i], lat_deg[i]), (lon_deg[i + 1], lat_deg[i + 1])])
    if segment.length == 0.0:
        return float(times[i])
    part = segment.intersection(area.geometry)
    coords = shapely.get_coordinates(part)
    fractions = [segment.project(shapely.Point(c), normalized=True) for c in coords]
    fraction = min(fractions) if fractions else 0.0
    return float(times[i] + fraction * (times[i + 1] - times[i]))


def area_hit_by_truth(area, kind: str, impact_lat_rad: float, impact_lon_rad: float,
                      impact_time_s: float, track_lat_rad=None, track_lon_rad=None,
                      track_times_s=None) -> tuple[bool, float | None]:
    """Did the truth hit the area for this kind of warning, and when (s; impact or entry)?"""
    if kind == "impact":
        hit = truth_impact_in_area(impact_lat_rad, impact_lon_rad, area)
        return hit, (float(impact_time_s) if hit else None)
    if kind == "overflight":
        if track_lat_rad is None:
            raise ValueError("overflight needs the true ground track")
        t = truth_overflight_entry_s(track_lat_rad, track_lon_rad, track_times_s, area)
        return t is not None, t
    raise ValueError(f"unknown warning kind {kind!r}")

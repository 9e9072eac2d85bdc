"""From one track's prediction (impact Gaussian, ground track) to a TrackPrediction for
the AlertManager: the probabilities for each area, expected times and the ellipse.

A node calls :func:`assess_track` for every system track each step, then
``AlertManager.step(t_s, predictions)``.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from warnlink.warning.areas import Area
from warnlink.warning.geo import Ellipse
from warnlink.warning.lifecycle import TrackPrediction
from warnlink.warning.probability import (
    N_SAMPLES_DEFAULT,
    impact_probability,
    overflight_probability,
)


def lateral_sigma_profile_m(ground_track_lat_rad, ground_track_lon_rad, cov_en_m2) -> np.ndarray:
    """Cross-track sigma (m) along a ground track from now to impact: 0 at the first point
    (the missile's present position is known far better than its impact point), growing in
    proportion to distance flown to the impact ellipse's cross-track sigma at the end."""
    lat = np.asarray(ground_track_lat_rad, float)
    lon = np.unwrap(np.asarray(ground_track_lon_rad, float))
    if lat.size < 2:
        return np.zeros(lat.size)
    d_north = np.diff(lat)
    d_east = np.diff(lon) * np.cos(0.5 * (lat[1:] + lat[:-1]))
    step = np.hypot(d_north, d_east)
    along = np.concatenate([[0.0], np.cumsum(step)])
    heading = np.arctan2(d_east[-1], d_north[-1])
    cross = np.array([np.cos(heading), -np.sin(heading)])  # unit (east, north) to the right
    sigma_end_m = float(np.sqrt(max(cross @ np.asarray(cov_en_m2, float).reshape(2, 2) @ cross, 0.0)))
    return sigma_end_m * along / along[-1] if along[-1] > 0 else np.full(lat.size, sigma_end_m)


def assess_track(track_id: str, areas: Iterable[Area], mean_lat_rad: float, mean_lon_rad: float,
                 cov_en_m2, impact_time_s: float | None, impact_time_sigma_s: float = 0.0,
                 ground_track_lat_rad=None, ground_track_lon_rad=None, ground_track_t_s=None,
                 lateral_sigma_m=None, ended: bool = False,
                 n_samples: int = N_SAMPLES_DEFAULT) -> TrackPrediction:
    """Probabilities of impact in / overflight of each area for one track's prediction.

    The ground track (optional; needed for overflight warnings) runs from now to impact
    with times ``ground_track_t_s``; ``lateral_sigma_m`` defaults to
    :func:`lateral_sigma_profile_m`.
    """
    cov = np.asarray(cov_en_m2, float).reshape(2, 2)
    pred = TrackPrediction(
        track_id=track_id, impact_time_s=impact_time_s, impact_time_sigma_s=impact_time_sigma_s,
        ellipse=Ellipse.from_covariance(mean_lat_rad, mean_lon_rad, cov), ended=ended)
    has_track = ground_track_lat_rad is not None and len(ground_track_lat_rad) > 0
    if has_track and lateral_sigma_m is None:
        lateral_sigma_m = lateral_sigma_profile_m(ground_track_lat_rad, ground_track_lon_rad, cov)
    for area in areas:
        if "impact" in area.warn:
            pred.impact_probability[area.id] = impact_probability(
                mean_lat_rad, mean_lon_rad, cov, area, n_samples=n_samples)
        if "overflight" in area.warn and has_track:
            p, first = overflight_probability(ground_track_lat_rad, ground_track_lon_rad,
                                              lateral_sigma_m, area)
            pred.overflight_probability[area.id] = p
            if first is not None and ground_track_t_s is not None:
                pred.overflight_time_s[area.id] = float(ground_track_t_s[first])
    return pred

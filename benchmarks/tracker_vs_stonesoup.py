"""Benchmark: warnlink's local tracker against Stone Soup's on identical radar measurements.

    PYTHONPATH=src python benchmarks/tracker_vs_stonesoup.py --targets N [--json] [--seed S]

N ballistic missiles (boost-coast flights from sites in North Korea, launched within a
minute) are watched by one all-round ship radar in the Sea of Japan (20 m range,
1 mrad angle noise, 1 s revisit, every target detected, no false plots: the comparison
is of filtering and association, not of clutter rejection). Both trackers get the
same scans of the midcourse, from 150 s after the first launch, and start from nothing:

* warnlink: ``LocalTracker`` (IMM of ballistic and boost models in ECEF with J2 and the
  rotating Earth, GNN with scipy, 3-of-5 initiation);
* Stone Soup 1.9: ``MultiTargetTracker`` with an extended Kalman filter, a nearly
  constant acceleration model in the radar's east-north-up frame (Stone Soup has no
  ballistic model; constant acceleration absorbs gravity best of its linear models,
  and its noise intensity is tuned here for its best RMSE: ``--ss-q``),
  ``CartesianToElevationBearingRange``, ``GNNWith2DAssignment`` with a Mahalanobis
  hypothesiser, a 3-point ``MultiMeasurementInitiator`` and a covariance deleter.

Position RMSE: every update of every confirmed track, from 20 s after it was confirmed,
against the nearest truth at that time. Time per update: the tracker's own time per
radar scan (time.perf_counter around the tracker calls only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from warnlink import frames  # noqa: E402
from warnlink.scenario.sensors import simulate_sensors  # noqa: E402
from warnlink.scenario.simple_flights import RAID_EPOCH_NS as EPOCH_NS  # noqa: E402
from warnlink.scenario.simple_flights import RAID_RADAR as RADAR  # noqa: E402
from warnlink.scenario.simple_flights import srbm_raid  # noqa: E402
from warnlink.tracking.tracker import LocalTracker  # noqa: E402

START_S, SETTLE_S = 150.0, 20.0


def _rmse(estimates, truths) -> float:
    """estimates: list of (t_s, track id, position (3,), confirmed t_s); truths: callable t -> (n, 3)."""
    errors = []
    for t, _, r, confirmed in estimates:
        if t - confirmed < SETTLE_S:
            continue
        d = np.linalg.norm(truths(t) - r, axis=1)
        d = d[np.isfinite(d)]
        if d.size:
            errors.append(d.min())
    return float(np.sqrt(np.mean(np.square(errors)))) if errors else float("nan"), len(errors)


def run_warnlink(reports, truths):
    tracker = LocalTracker("JPN", EPOCH_NS)
    estimates, spent, confirmed_at = [], 0.0, {}
    for rep in reports:
        t0 = time.perf_counter()
        tracker.process_radar(rep)
        out = tracker.estimates()
        spent += time.perf_counter() - t0
        t = (rep.time_ns - EPOCH_NS) / 1e9
        for tid, x, _, _ in out:
            confirmed_at.setdefault(tid, t)
            estimates.append((t, tid, x[:3], confirmed_at[tid]))
    rmse, n = _rmse(estimates, truths)
    return {"rmse_m": rmse, "s_per_update": spent / len(reports), "samples": n, "tracks": len(confirmed_at)}


def run_stonesoup(reports, truths, q: float):
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.deleter.error import CovarianceBasedDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.nonlinear import CartesianToElevationBearingRange
    from stonesoup.models.transition.linear import CombinedLinearGaussianTransitionModel, ConstantAcceleration
    from stonesoup.predictor.kalman import ExtendedKalmanPredictor
    from stonesoup.tracker.simple import MultiTargetTracker
    from stonesoup.types.detection import Detection
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import ExtendedKalmanUpdater

    site_lat, site_lon = math.radians(RADAR.lat_deg), math.radians(RADAR.lon_deg)
    site = frames.geodetic_to_ecef(site_lat, site_lon, RADAR.alt_m)
    rot = frames.enu_rotation(site_lat, site_lon)  # rows east, north, up
    noise = np.diag([(RADAR.sigma_elevation_mrad * 1e-3) ** 2, (RADAR.sigma_azimuth_mrad * 1e-3) ** 2,
                     RADAR.sigma_range_m ** 2])
    model = CartesianToElevationBearingRange(ndim_state=9, mapping=(0, 3, 6), noise_covar=noise)
    transition = CombinedLinearGaussianTransitionModel([ConstantAcceleration(q)] * 3)
    predictor = ExtendedKalmanPredictor(transition)
    updater = ExtendedKalmanUpdater(model)
    hypothesiser = DistanceHypothesiser(predictor, updater, measure=Mahalanobis(), missed_distance=4.0)
    associator = GNNWith2DAssignment(hypothesiser)
    deleter = CovarianceBasedDeleter(covar_trace_thresh=3 * 30e3 ** 2, mapping=[0, 3, 6])
    prior = GaussianState(np.zeros((9, 1)), np.diag([0.0, 3000.0 ** 2, 40.0 ** 2] * 3))
    initiator = MultiMeasurementInitiator(prior, deleter, associator, updater, measurement_model=model, min_points=3)

    epoch = dt.datetime(2024, 3, 18)
    scans = []
    for rep in reports:
        when = epoch + dt.timedelta(seconds=(rep.time_ns - EPOCH_NS) / 1e9)
        dets = set()
        for p in rep.plots:
            bearing = math.pi / 2 - p.azimuth_rad  # Stone Soup: counter-clockwise from east
            bearing = (bearing + math.pi) % (2 * math.pi) - math.pi
            dets.add(Detection(np.array([[p.elevation_rad], [bearing], [p.range_m]]), timestamp=when,
                               measurement_model=model))
        scans.append((when, dets))

    class Reader:
        def __iter__(self):
            return iter(scans)

        @property
        def detections(self):
            return set()

    tracker = MultiTargetTracker(initiator, deleter, Reader(), associator, updater)
    estimates, spent, confirmed_at = [], 0.0, {}
    it = iter(tracker)
    for _ in range(len(scans)):
        t0 = time.perf_counter()
        when, tracks = next(it)
        spent += time.perf_counter() - t0
        t = (when - epoch).total_seconds()
        for trk in tracks:
            enu = np.array(trk.state_vector).ravel()[[0, 3, 6]]
            r = site + rot.T @ enu
            confirmed_at.setdefault(trk.id, t)
            estimates.append((t, trk.id, r, confirmed_at[trk.id]))
    rmse, n = _rmse(estimates, truths)
    return {"rmse_m": rmse, "s_per_update": spent / len(scans), "samples": n, "tracks": len(confirmed_at)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=10)
    parser.add_argument("--duration-s", type=float, default=60.0, help="seconds of midcourse scans")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ss-q", type=float, default=0.01, help="Stone Soup's constant-acceleration noise intensity")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    trajs = srbm_raid(args.targets, args.seed)
    run = simulate_sensors([RADAR], trajs, START_S + args.duration_s, EPOCH_NS, args.seed)
    reports = [r for r in run.reports if (r.time_ns - EPOCH_NS) / 1e9 >= START_S]

    def truths(t: float) -> np.ndarray:
        return np.stack([tr.position(np.array([t]))[0] for tr in trajs])

    ours = run_warnlink(reports, truths)
    theirs = run_stonesoup(reports, truths, args.ss_q)
    out = {"targets": args.targets, "scans": len(reports), "duration_s": args.duration_s,
           "warnlink_rmse_m": round(ours["rmse_m"], 2), "stonesoup_rmse_m": round(theirs["rmse_m"], 2),
           "warnlink_s_per_update": ours["s_per_update"], "stonesoup_s_per_update": theirs["s_per_update"],
           "speedup": round(theirs["s_per_update"] / ours["s_per_update"], 1),
           "warnlink_tracks": ours["tracks"], "stonesoup_tracks": theirs["tracks"],
           "warnlink_samples": ours["samples"], "stonesoup_samples": theirs["samples"]}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{args.targets} targets, {len(reports)} scans of one radar:")
        print(f"  warnlink  : RMSE {out['warnlink_rmse_m']:8.1f} m, {1e3 * ours['s_per_update']:8.2f} ms per scan, "
              f"{ours['tracks']} tracks")
        print(f"  Stone Soup: RMSE {out['stonesoup_rmse_m']:8.1f} m, {1e3 * theirs['s_per_update']:8.2f} ms per scan, "
              f"{theirs['tracks']} tracks")
        print(f"  speedup {out['speedup']}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

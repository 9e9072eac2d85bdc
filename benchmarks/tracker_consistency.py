"""Is the local tracker's covariance honest? Mean NEES (position and velocity, of the estimate a
track reports) of tracks started in boost against tracks started in midcourse, and mean NIS,
on an SRBM raid seen by one radar (no clutter, Pd 1).

    PYTHONPATH=src python benchmarks/tracker_consistency.py [--targets 30] [--seed 3]
        [--process-noise-scale 1] [--ignition-mean-s 30000]

Mean NEES (3 dof, position) should be 3 and mean NIS 3; the 95% band of a mean over
thousands of correlated samples is not printed, only the means, per 25 s after each track
has had 20 s to settle. The two knobs scale the ballistic model's process noise and set the
IMM's mean coast before an ignition, to see whether either moves the NEES.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from warnlink.scenario.sensors import simulate_sensors  # noqa: E402
from warnlink.scenario.simple_flights import RAID_EPOCH_NS as EPOCH_NS  # noqa: E402
from warnlink.scenario.simple_flights import RAID_RADAR as RADAR  # noqa: E402
from warnlink.scenario.simple_flights import srbm_raid  # noqa: E402
from warnlink.tracking import imm, motion  # noqa: E402
from warnlink.tracking.tracker import LocalTracker  # noqa: E402

SETTLE_S, BIN_S, END_S = 20.0, 25.0, 400.0


def _nis_recorder():
    """Wrap imm.update to keep the ballistic model's normalised innovation squared of every plot."""
    nis, update = [], imm.update

    def recorded(x, P, mu, z, h_fn, jac_fn, R, wrap, Pi):
        r = x[:, imm.BALLISTIC, :3]
        H = jac_fn(r)
        S = H @ P[:, imm.BALLISTIC, :3, :3] @ np.swapaxes(H, 1, 2) + R
        nu = wrap(z - h_fn(r))
        keep = imm.boost_probability(mu) < 0.01  # coasting tracks only
        nis.extend(np.einsum("ni,nij,nj->n", nu, np.linalg.inv(S), nu)[keep])
        return update(x, P, mu, z, h_fn, jac_fn, R, wrap, Pi)

    imm.update = recorded
    return nis, update


def run(trajs, reports, start_s: float) -> dict:
    nis, original_update = _nis_recorder()
    try:
        tracker = LocalTracker("JPN", EPOCH_NS)
        first_seen, by_bin, nees_v = {}, {}, []
        for rep in reports:
            t = (rep.time_ns - EPOCH_NS) / 1e9
            if t < start_s:
                continue
            tracker.process_radar(rep)
            truth = np.stack([tr.position(np.array([t]))[0] for tr in trajs])
            truth_v = np.stack([tr.state(np.array([t]))[1][0] for tr in trajs])
            xs, Ps, _ = imm.output(tracker.x, tracker.P, tracker.mu, tracker.Pi)  # what the track reports
            for i, m in enumerate(tracker.meta):
                x, P = xs[i], Ps[i]
                d = np.linalg.norm(truth - x[:3], axis=1)
                j = int(np.nanargmin(d))
                coasting = t > trajs[j].t_burnout + SETTLE_S and t < trajs[j].t_impact - 30.0
                if d[j] > 5e3 or not coasting or t - first_seen.setdefault(id(m), t) < SETTLE_S:
                    continue
                e = x[:3] - truth[j]
                lo = int((t - trajs[j].t_burnout) // BIN_S * BIN_S)
                by_bin.setdefault(lo, []).append(float(e @ np.linalg.solve(P[:3, :3], e)))
                ev = x[3:6] - truth_v[j]
                nees_v.append(float(ev @ np.linalg.solve(P[3:6, 3:6], ev)))
    finally:
        imm.update = original_update
    every = [v for vals in by_bin.values() for v in vals]
    return {"nees_mean": round(float(np.mean(every)), 2), "velocity_nees_mean": round(float(np.mean(nees_v)), 2),
            "samples": len(every), "nis_mean": round(float(np.mean(nis)), 2),
            "nees_by_s_after_burnout": {k: round(float(np.mean(v)), 2) for k, v in sorted(by_bin.items())}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=30)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--process-noise-scale", type=float, default=1.0)
    parser.add_argument("--ignition-mean-s", type=float, default=imm.MEAN_COAST_BEFORE_IGNITION_S)
    args = parser.parse_args()
    scaled = dataclasses.replace(
        motion.BALLISTIC, residual_accel_variance=motion.BALLISTIC.residual_accel_variance * args.process_noise_scale)
    imm.MODELS = (scaled, *imm.MODELS[1:])
    imm.MEAN_COAST_BEFORE_IGNITION_S = args.ignition_mean_s
    trajs = srbm_raid(args.targets, args.seed)
    reports = simulate_sensors([RADAR], trajs, END_S, EPOCH_NS, args.seed).reports
    latest_burnout = max(tr.t_burnout for tr in trajs)
    out = {"targets": args.targets, "process_noise_scale": args.process_noise_scale,
           "ignition_mean_s": args.ignition_mean_s,
           "started_in_boost": run(trajs, reports, 0.0),
           "started_in_midcourse": run(trajs, reports, latest_burnout + 5.0)}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

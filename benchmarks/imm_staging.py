"""How the local tracker's IMM meets a staging and a burnout: its model probabilities, thrust
estimate and NEES about each of them, over every radar's plots of one launch (the plots' labels
pick them: no clutter, no other launch, no fusion, no network), on many seeds.

    PYTHONPATH=src python benchmarks/imm_staging.py [--scenario src/warnlink/scenarios/demo.toml]
        [--launch M1] [--nation ROK] [--seeds 50] [--first-seed 1] [--workers 2] [--duration-s 800]
        [--table] [--json]

The demo's NEES misses its band most in the boost; this says how much of that is the tracker's
own (the nodes add the fusion of the nations' tracks); with --nation, one nation's radars
alone, as its own tracker sees the launch. Printed: over the launch's boost, the share of
seconds whose position NEES, averaged over the runs, is under and over its two-sided 95% band
for that many runs (3 dof, the evaluation's test of a step); for each stage, the mean position
and velocity NEES over the last 20 s of its burn; for the 10 s after each staging and after
burnout, the highest run-averaged probability of the ballistic and of the staging model, the
lowest run-averaged thrust acceleration of the estimate and the truth's at that second, and
the highest velocity NEES; and the share of the 30 s after burnout under and over the band.
With --table, one line per second.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import msgspec
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from warnlink.evaluation.harness import step_side  # noqa: E402
from warnlink.messages import RadarReport  # noqa: E402
from warnlink.scenario.loader import load_scenario  # noqa: E402
from warnlink.scenario.sensors import simulate_sensors  # noqa: E402
from warnlink.scenario.world import build_world  # noqa: E402
from warnlink.tracking import imm  # noqa: E402
from warnlink.tracking.tracker import LocalTracker  # noqa: E402

AFTER_S = 10  # seconds after a staging or burnout over which its transient is summed up
LATE_BURN_S = 20  # a stage's last seconds, where the resting models hold the estimate wide
POST_BURNOUT_S = 30
DEMO = Path(__file__).resolve().parents[1] / "src" / "warnlink" / "scenarios" / "demo.toml"


def _launch_plots(scenario, world, launch_id: str, seed: int, end_s: float):
    """The radar reports, each with only the plots of this launch (reports without one dropped)."""
    run = simulate_sensors(scenario.config.sensors, world.trajectories, end_s, scenario.epoch_ns, seed)
    out = []
    for report, labels in zip(run.reports, run.labels):
        if not isinstance(report, RadarReport):
            continue
        plots = [p for p, label in zip(report.plots, labels) if label == launch_id]
        if plots:
            out.append(msgspec.structs.replace(report, plots=plots))
    return sorted(out, key=lambda r: r.time_ns)


def _one_nation(scenario, nation: str):
    """The scenario with only this nation's sensors."""
    sensors = [c for c in scenario.config.sensors if c.nation == nation]
    return dataclasses.replace(scenario, config=msgspec.structs.replace(scenario.config, sensors=sensors))


def one_seed(args) -> dict[int, tuple]:
    """Per whole second of scenario time: (position NEES, velocity NEES, model probabilities,
    |a| of the estimate) of the confirmed track nearest the truth, predicted there without
    touching the tracker."""
    scenario_path, launch_id, nation, seed, end_s = args
    scenario = load_scenario(Path(scenario_path))
    if nation is not None:
        scenario = _one_nation(scenario, nation)
    world = build_world(scenario, seed)
    trajectory = world.flights[launch_id].trajectory
    tracker = LocalTracker("ALL", scenario.epoch_ns)
    samples: dict[int, tuple] = {}
    next_s = None
    for report in _launch_plots(scenario, world, launch_id, seed, end_s):
        t = (report.time_ns - scenario.epoch_ns) / 1e9
        if next_s is None:
            next_s = int(np.ceil(t))
        while next_s <= t and tracker.t is not None:
            idx = tracker.confirmed()
            if idx:
                xs, Ps, mus, Pis = imm.mix_and_predict(tracker.x[idx], tracker.P[idx], tracker.mu[idx],
                                                       next_s - tracker.t, tracker.Pi[idx])
                x, P, _ = imm.output(xs, Ps, mus, Pis)
                r, v = trajectory.state(np.array([float(next_s)]))
                k = int(np.argmin(np.linalg.norm(x[:, :3] - r[0], axis=1)))
                e, ev = x[k, :3] - r[0], x[k, 3:6] - v[0]
                samples[next_s] = (float(e @ np.linalg.solve(P[k, :3, :3], e)),
                                   float(ev @ np.linalg.solve(P[k, 3:6, 3:6], ev)),
                                   [float(m) for m in mus[k]], float(np.linalg.norm(x[k, 6:9])))
            next_s += 1
        tracker.process_radar(report)
    return samples


def summarise(per_second: dict[int, list], launch_s: float, boost, min_runs: int) -> dict:
    """The figures the module docstring lists, from each second's samples over the runs."""
    stage_ends = launch_s + np.cumsum(boost.stage_burn_s)
    burnout = float(stage_ends[-1])
    rows = {}
    for t, runs in sorted(per_second.items()):
        if len(runs) < min_runs:
            continue
        nees, side = step_side([r[0] for r in runs])  # the evaluation's own test of a step
        rows[t] = {"runs": len(runs), "nees": nees, "nees_v": float(np.mean([r[1] for r in runs])),
                   "mu": np.mean([r[2] for r in runs], axis=0).tolist(), "accel": float(np.mean([r[3] for r in runs])),
                   "true_accel": boost.thrust_acceleration(t - launch_s),
                   "side": side or ""}

    def share(ts, side):
        return round(float(np.mean([rows[t]["side"] == side for t in ts])), 3) if ts else None

    boost_s = [t for t in rows if t <= burnout]
    out = {"seconds_in_boost": len(boost_s), "boost_under_band": share(boost_s, "below"),
           "boost_over_band": share(boost_s, "above"), "stages": [], "transitions": []}
    start = launch_s
    for end in stage_ends:
        late = [t for t in rows if end - LATE_BURN_S < t <= end and t >= start]
        out["stages"].append({"burn_s": [round(start, 1), round(float(end), 1)],
                              "late_burn_nees": round(float(np.mean([rows[t]["nees"] for t in late])), 2) if late else None,
                              "late_burn_velocity_nees": round(float(np.mean([rows[t]["nees_v"] for t in late])), 2) if late else None})
        start = float(end)
    for end in stage_ends:
        after = [t for t in rows if end < t <= end + AFTER_S]
        if not after:
            continue
        lowest = min(after, key=lambda t: rows[t]["accel"])
        out["transitions"].append({
            "at_s": round(float(end), 1), "kind": "burnout" if end == stage_ends[-1] else "staging",
            "max_ballistic_probability": round(max(rows[t]["mu"][imm.BALLISTIC] for t in after), 3),
            "max_staging_probability": round(max(rows[t]["mu"][imm.STAGING] for t in after), 3),
            "lowest_accel_mps2": round(rows[lowest]["accel"], 1),
            "true_accel_then_mps2": round(rows[lowest]["true_accel"], 1),
            "max_velocity_nees": round(max(rows[t]["nees_v"] for t in after), 2)})
    post = [t for t in rows if burnout < t <= burnout + POST_BURNOUT_S]
    out["post_burnout_under_band"], out["post_burnout_over_band"] = share(post, "below"), share(post, "above")
    out["rows"] = rows
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(DEMO))
    ap.add_argument("--launch", default="M1")
    ap.add_argument("--nation", default=None, help="only this nation's sensors (default: every nation's)")
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--duration-s", type=float, default=None,
                    help="how long the sensors run (default: to 30 s after burnout); a radar draws a flight's "
                         "noise for the scans inside the run, so runs of one length see the same noise")
    ap.add_argument("--table", action="store_true", help="one line per second of the boost and after")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    scenario = load_scenario(Path(a.scenario))
    launch = next((c for c in scenario.config.launches if c.id == a.launch), None)
    if launch is None:
        ap.error(f"no launch {a.launch!r} in {a.scenario}: it has {[c.id for c in scenario.config.launches]}")
    nations = sorted({c.nation for c in scenario.config.sensors})
    if a.nation is not None and a.nation not in nations:
        ap.error(f"no sensors of nation {a.nation!r} in {a.scenario}: it has {nations}")
    boost = build_world(scenario, a.first_seed).flights[a.launch].boost
    end_s = launch.time_s + boost.burn_time_s + POST_BURNOUT_S + 1
    if a.duration_s is not None:
        if not a.duration_s > end_s:
            ap.error(f"--duration-s {a.duration_s:g} ends before {a.launch}'s burnout and the {POST_BURNOUT_S} s "
                     f"after it ({end_s:g} s)")
        end_s = a.duration_s
    seeds = range(a.first_seed, a.first_seed + a.seeds)
    per_second: dict[int, list] = {}
    with ProcessPoolExecutor(max_workers=a.workers) as pool:
        for samples in pool.map(one_seed, [(a.scenario, a.launch, a.nation, s, end_s) for s in seeds]):
            for t, v in samples.items():
                per_second.setdefault(t, []).append(v)
    result = summarise(per_second, launch.time_s, boost, min_runs=max(2, int(0.8 * a.seeds)))
    rows = result.pop("rows")
    if a.table:
        for t, r in rows.items():
            mu = r["mu"]
            print(f"{t:5d} s  runs {r['runs']:3d}  NEES {r['nees']:5.2f}  velocity {r['nees_v']:6.2f}  "
                  f"ballistic {mu[0]:.3f} boost {mu[1]:.3f} staging {mu[2]:.3f}  "
                  f"|a| {r['accel']:6.1f} (truth {r['true_accel']:6.1f}) m/s^2  {r['side']}")
    result.update(launch=a.launch, nation=a.nation or "all", seeds=[seeds.start, seeds.stop - 1])
    print(json.dumps(result, indent=None if a.json else 2))


if __name__ == "__main__":
    main()

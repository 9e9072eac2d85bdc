"""Monte Carlo evaluation of a scenario against the truth and the theoretical limits.

For each seed the scenario runs twice, with the in-memory exchange: as the nations run
it, and as a centralised *oracle* that owns every sensor (one node fed every raw
measurement with zero network delay). Measured per node, over all runs:

* position RMSE in midcourse against the posterior Cramér–Rao lower bound (PCRLB) of
  the same measurements (all sensors, the detections each run actually made);
* NEES of the system tracks' position covariance, averaged over runs per time step,
  and the fraction of steps inside its two-sided 95% chi-square band;
* 95%-ellipse coverage of impact predictions, false and missed alerts;
* warning delay against the oracle: for each warning the truth called for, when the
  node issued it minus when the oracle did (median).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy.stats import chi2

from warnlink.evaluation.metrics import associate_tracks
from warnlink.physics.propagator import propagate
from warnlink.tracking.radar_model import RadarSite, jacobian

ORACLE = "ORACLE"
PROCESS_PSD = 1e-4  # (m/s^2)^2/Hz white acceleration, as the trackers' ballistic model
MIDCOURSE_MIN_ALT_M = 100e3


def oracle_scenario(scenario):
    """The scenario as one nation that owns every sensor and every area."""
    from warnlink.scenario.config import NationConfig

    import msgspec

    cfg = scenario.config
    config = msgspec.structs.replace(
        cfg, nations=[NationConfig(id=ORACLE)],
        sensors=[msgspec.structs.replace(s, nation=ORACLE) for s in cfg.sensors],
        areas=[msgspec.structs.replace(a, nation=ORACLE) for a in cfg.areas])
    areas = [dataclasses.replace(a, nation=ORACLE) for a in scenario.areas]
    return dataclasses.replace(scenario, config=config, areas=areas)


def _one_run(args) -> dict:
    """Run the scenario and its oracle with one seed; return what the evaluation needs (picklable)."""
    scenario_path, seed = args
    from warnlink.runner import RunOptions, run_scenario
    from warnlink.scenario.loader import load_scenario

    scenario = load_scenario(scenario_path)
    with tempfile.TemporaryDirectory() as tmp:
        result = run_scenario(scenario, Path(tmp) / "nodes", RunOptions(transport="memory", seed=seed))
        oracle = run_scenario(oracle_scenario(scenario), Path(tmp) / "oracle", RunOptions(transport="memory", seed=seed))
    world = result.world
    out = {"seed": seed, "metrics": result.metrics, "oracle_metrics": oracle.metrics, "nodes": {}, "pcrlb": {}}
    sensors = {s.id: s for s in scenario.config.sensors}
    for launch_id, flight in world.flights.items():
        out["pcrlb"][launch_id] = pcrlb_position(flight.trajectory, result.sensor_run, launch_id, sensors)
    records = {**{n: node.record for n, node in result.nodes.items()},
               ORACLE: next(iter(oracle.nodes.values())).record}
    for nation, record in records.items():
        assoc, _ = associate_tracks(world.flights, record)
        samples = defaultdict(list)  # launch -> [(t, err2, nees, phase)]
        for s in record.tracks:
            launch_id = assoc.get(s.system_track_id)
            if launch_id is None or not s.cov_pos_m2:
                continue
            traj = world.flights[launch_id].trajectory
            if not traj.t_launch <= s.t_s <= traj.t_impact:
                continue
            r_true, v_true = traj.state(np.array([s.t_s]))
            e = np.asarray(s.r_ecef_m) - r_true[0]
            P = np.zeros((3, 3))
            P[np.triu_indices(3)] = s.cov_pos_m2
            P = P + np.triu(P, 1).T
            try:
                nees = float(e @ np.linalg.solve(P, e))
            except np.linalg.LinAlgError:
                continue
            alt = float(traj.geodetic(np.array([s.t_s]))[2][0])
            phase = "boost" if bool(traj.thrusting(np.array([s.t_s]))[0]) else (
                "midcourse" if alt > MIDCOURSE_MIN_ALT_M else "terminal")
            samples[launch_id].append((float(s.t_s), float(e @ e), nees, phase))
        out["nodes"][nation] = dict(samples)
    return out


def pcrlb_position(traj, sensor_run, launch_id: str, sensors: dict) -> dict[float, float]:
    """Position PCRLB (m, square root of the trace) at each 1 s step of the flight.

    Fisher information recursion J_k = (Q + F J_{k-1}^-1 F^T)^-1 + sum H^T R^-1 H over
    every radar plot of this launch in the step (the detections actually made), with F
    the ballistic dynamics linearised along the truth and Q a small white acceleration.
    Infrared lines of sight are left out (they inform the launch, not the track).
    """
    plots_at = defaultdict(list)  # step end -> sensor ids
    for report, labels in zip(sensor_run.reports, sensor_run.labels):
        if report.sensor_id not in sensors or sensors[report.sensor_id].type != "radar":
            continue
        t = (report.time_ns - sensor_run.epoch_ns) / 1e9
        for lab in labels:
            if lab == launch_id:
                plots_at[float(np.ceil(t))].append(report.sensor_id)
    if not plots_at:
        return {}
    sites = {}
    for sid, s in sensors.items():
        if s.type == "radar":
            sites[sid] = RadarSite.from_geodetic(sid, np.radians(s.lat_deg), np.radians(s.lon_deg), s.alt_m,
                                                 (s.sigma_range_m, s.sigma_azimuth_mrad * 1e-3, s.sigma_elevation_mrad * 1e-3))
    t0 = min(plots_at)
    J = np.eye(6) * 1e-12
    Q = PROCESS_PSD * np.block([[np.eye(3) / 3.0, np.eye(3) / 2.0], [np.eye(3) / 2.0, np.eye(3)]])
    out = {}
    t = t0
    while t <= traj.t_impact:
        r, v = traj.state(np.array([t - 1.0]))
        x = np.concatenate([r[0], v[0]])
        F = _transition(x)
        J = np.linalg.inv(Q + F @ np.linalg.inv(J) @ F.T)
        r_now = traj.state(np.array([t]))[0][0]
        for sid in plots_at.get(t, []):
            H = np.zeros((3, 6))
            H[:, :3] = jacobian(sites[sid], r_now[None])[0]
            J = J + H.T @ np.linalg.solve(sites[sid].noise, H)
        if t in plots_at or out:
            cov = np.linalg.inv(J)
            out[t] = float(np.sqrt(max(np.trace(cov[:3, :3]), 0.0)))
        t += 1.0
    return out


def _transition(x: np.ndarray, dt: float = 1.0) -> np.ndarray:
    """d(state after dt)/d(state), by central differences of the ballistic propagation."""
    steps = np.array([1.0] * 3 + [1e-3] * 3)
    plus = x[None, :] + np.diag(steps)
    minus = x[None, :] - np.diag(steps)
    both = propagate(np.concatenate([plus, minus]), dt, max_step_s=dt)
    return ((both[:6] - both[6:]) / (2.0 * steps[:, None])).T


def summarise(runs: list[dict]) -> dict:
    """The evaluation.json object from the runs of :func:`_one_run`."""
    n_runs = len(runs)
    nations = sorted({n for r in runs for n in r["nodes"]})
    out = {"runs": n_runs, "nodes": {}}
    for nation in nations:
        err2, bound2, nees_by_step = [], [], defaultdict(list)
        for r in runs:
            for launch_id, samples in r["nodes"].get(nation, {}).items():
                bound = r["pcrlb"].get(launch_id, {})
                for t, e2, nees, phase in samples:
                    nees_by_step[(launch_id, t)].append(nees)
                    b = bound.get(float(np.ceil(t)))
                    if phase == "midcourse" and b is not None:
                        err2.append(e2)
                        bound2.append(b * b)
        # NEES: average over runs per step; band of chi2(3 N) / N.
        in_band = []
        for values in nees_by_step.values():
            k = len(values)
            lo, hi = chi2.ppf(0.025, 3 * k) / k, chi2.ppf(0.975, 3 * k) / k
            in_band.append(lo <= float(np.mean(values)) <= hi)
        node = {
            "runs": n_runs,
            "rmse_midcourse_m": _r(np.sqrt(np.mean(err2))) if err2 else None,
            "pcrlb_midcourse_m": _r(np.sqrt(np.mean(bound2))) if bound2 else None,
            "rmse_pcrlb_ratio_midcourse": _r(np.sqrt(np.mean(err2) / np.mean(bound2))) if err2 else None,
            "nees_mean": _r(np.mean([np.mean(v) for v in nees_by_step.values()])) if nees_by_step else None,
            "nees_in_band_fraction": _r(np.mean(in_band)) if in_band else None,
        }
        node.update(_alert_figures(runs, nation))
        out["nodes"][nation] = node
    return out


def _alert_figures(runs, nation) -> dict:
    """Coverage, false and missed alerts of a node's own areas, and its warning delay against the oracle."""
    coverage, false, missed, delays = [], 0, 0, []
    for r in runs:
        m = r["oracle_metrics"] if nation == ORACLE else r["metrics"]
        for launch in m["launches"]:
            c = launch["iip_ellipse95_coverage"].get(nation)
            if c is not None:
                coverage.append(c)
        mine = [i for i in m["alerts"]["items"] if i["nation"] == nation]
        false += sum(1 for i in mine if not i["hit"])
        missed += m["alerts"].get("missed_by_nation", {}).get(nation, 0)
        oracle_first = {(i["launch"], i["area"], i["kind"]): i["issued_s"] for i in r["oracle_metrics"]["alerts"]["items"]
                        if i["hit"] and i["issued_s"] is not None}
        for i in mine:
            key = (i["launch"], i["area"], i["kind"])
            if i["hit"] and i["issued_s"] is not None and key in oracle_first:
                delays.append(i["issued_s"] - oracle_first[key])
    return {"ellipse95_coverage": _r(np.mean(coverage)) if coverage else None, "false_alerts": false,
            "missed_alerts": missed, "warning_delay_vs_oracle_s": _r(np.median(delays)) if delays else None}


def _r(x, nd=3):
    return None if x is None else round(float(x), nd)


def evaluate(scenario_path: Path, runs: int, out_dir: Path, base_seed: int = 1, workers: int | None = None,
             progress=None) -> dict:
    """Run ``runs`` seeds in parallel over the cores; write ``out_dir/evaluation.json`` and plots."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    workers = workers or min(runs, os.cpu_count() or 1)
    jobs = [(str(Path(scenario_path).resolve()), base_seed + i) for i in range(runs)]
    results = []
    if workers == 1:
        for job in jobs:
            results.append(_one_run(job))
            if progress:
                progress(len(results), runs)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for res in pool.map(_one_run, jobs):
                results.append(res)
                if progress:
                    progress(len(results), runs)
    summary = summarise(results)
    summary["scenario"] = results[0]["metrics"]["scenario"] if results else None
    summary["seeds"] = [r["seed"] for r in results]
    (out_dir / "evaluation.json").write_text(json.dumps(summary, indent=2) + "\n")
    _plots(results, out_dir)
    return summary


def _plots(results, out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not results:
        return
    for launch_id in results[0]["pcrlb"]:
        fig, ax = plt.subplots(figsize=(8, 4))
        for nation in sorted(results[0]["nodes"]):
            by_t = defaultdict(list)
            for r in results:
                for t, e2, _, _ in r["nodes"].get(nation, {}).get(launch_id, []):
                    by_t[t].append(e2)
            if by_t:
                ts = sorted(by_t)
                ax.semilogy(ts, [np.sqrt(np.mean(by_t[t])) for t in ts], ".", ms=2, label=f"{nation} RMSE")
        bound = defaultdict(list)
        for r in results:
            for t, b in r["pcrlb"][launch_id].items():
                bound[t].append(b * b)
        if bound:
            ts = sorted(bound)
            ax.semilogy(ts, [np.sqrt(np.mean(bound[t])) for t in ts], "k-", lw=1.5, label="PCRLB (all sensors)")
        ax.set_xlabel("scenario time (s)")
        ax.set_ylabel("position error (m)")
        ax.set_title(f"{launch_id}: position RMSE over {len(results)} runs against the PCRLB")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, which="both")
        fig.tight_layout()
        fig.savefig(out_dir / f"{launch_id}-rmse.png", dpi=100)
        plt.close(fig)

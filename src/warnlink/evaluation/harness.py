"""Monte Carlo evaluation of a scenario against the truth and the theoretical limits.

For each seed the scenario runs twice, with the in-memory exchange: as the nations run
it, and as a centralised *oracle* that owns every sensor (one node fed every raw
measurement with zero network delay). Measured per node, over all runs:

* position RMSE in midcourse against the posterior Cramér–Rao lower bound (PCRLB) of
  the same measurements (all sensors, the detections each run actually made) under the
  trackers' own motion models with the true phase known (:func:`pcrlb_position`);
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
from scipy.stats import beta as beta_distribution, chi2

from warnlink import frames
from warnlink.evaluation.gospa import gospa
from warnlink.evaluation.metrics import associate_tracks, launch_predictions, nearest_tracks
from warnlink.physics.dynamics import state_derivative
from warnlink.tracking import motion
from warnlink.tracking.imm import burnout_tail_covariance
from warnlink.tracking.radar_model import RadarSite, jacobian

ORACLE = "ORACLE"
MIDCOURSE_MIN_ALT_M = 100e3
GOSPA_C_M = 10e3  # a track further than this from every missile is false (and the missile missed)


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


def _sym3(upper) -> np.ndarray:
    P = np.zeros((3, 3))
    P[np.triu_indices(3)] = upper
    return P + np.triu(P, 1).T


def flight_phase(traj, t: float) -> str:
    """The flight's phase at ``t``: boost while a motor burns, midcourse above MIDCOURSE_MIN_ALT_M, terminal below."""
    if bool(traj.thrusting(np.array([t]))[0]):
        return "boost"
    return "midcourse" if float(traj.geodetic(np.array([t]))[2][0]) > MIDCOURSE_MIN_ALT_M else "terminal"


def _one_run(args) -> dict:
    """Run the scenario and its oracle with one seed; return what the evaluation needs (picklable).

    Per node and launch: ``samples`` (track_samples); ``iip``, one (fraction of
    the flight, impact-point error km) per prediction. Per node: ``gospa``, one
    (distance, localisation, missed, false) per step of the flights.
    """
    scenario_path, seed = args
    from warnlink.runner import RunOptions, run_scenario
    from warnlink.scenario.loader import load_scenario

    scenario = load_scenario(scenario_path)
    with tempfile.TemporaryDirectory() as tmp:
        result = run_scenario(scenario, Path(tmp) / "nodes", RunOptions(transport="memory", seed=seed))
        oracle = run_scenario(oracle_scenario(scenario), Path(tmp) / "oracle", RunOptions(transport="memory", seed=seed))
    world = result.world
    out = {"seed": seed, "metrics": result.metrics, "oracle_metrics": oracle.metrics, "nodes": {}, "pcrlb": {},
           "iip": {}, "gospa": {}}
    sensors = {s.id: s for s in scenario.config.sensors}
    for launch_id, flight in world.flights.items():
        out["pcrlb"][launch_id] = pcrlb(flight.trajectory, result.sensor_run, launch_id, sensors)
    records = {**{n: node.record for n, node in result.nodes.items()},
               ORACLE: next(iter(oracle.nodes.values())).record}
    for nation, record in records.items():
        nearest = nearest_tracks(world.flights, record, associate_tracks(world.flights, record)[0])
        out["nodes"][nation] = track_samples(world.flights, record, nearest)
        out["iip"][nation] = _iip_errors(world, record, nearest)
        out["gospa"][nation] = _gospa_over_time(world, record)
    return out


def track_samples(flights, record, nearest: dict[tuple[str, float], str]) -> dict[str, list[tuple]]:
    """Launch -> one (t, position error^2, position NEES, phase, velocity error^2, velocity
    NEES) per step, of the launch's system track nearest the missile then
    (:func:`warnlink.evaluation.metrics.nearest_tracks`), in time order."""
    launch_of = {(track_id, t): launch_id for (launch_id, t), track_id in nearest.items()}
    samples = defaultdict(list)
    for s in record.tracks:
        launch_id = launch_of.get((s.system_track_id, s.t_s))
        if launch_id is None or not s.cov_pos_m2 or not s.v_ecef_mps:
            continue
        traj = flights[launch_id].trajectory
        r_true, v_true = traj.state(np.array([s.t_s]))
        e = np.asarray(s.r_ecef_m) - r_true[0]
        ev = np.asarray(s.v_ecef_mps) - v_true[0]
        try:
            nees = float(e @ np.linalg.solve(_sym3(s.cov_pos_m2), e))
            nees_v = float(ev @ np.linalg.solve(_sym3(s.cov_vel_m2ps2), ev))
        except np.linalg.LinAlgError:
            continue
        samples[launch_id].append((float(s.t_s), float(e @ e), nees, flight_phase(traj, s.t_s), float(ev @ ev), nees_v))
    return dict(samples)


def _iip_errors(world, record, nearest) -> dict[str, list[tuple[float, float]]]:
    """Launch -> (fraction of the true flight time, impact-point error km) of each prediction
    its nearest track made."""
    out = {}
    for launch_id, flight in world.flights.items():
        traj = flight.trajectory
        lat, lon = traj.impact_point
        out[launch_id] = [((p.t_s - traj.t_launch) / (traj.t_impact - traj.t_launch),
                           float(frames.geodesic_inverse(p.iip_lat_rad, p.iip_lon_rad, lat, lon)[0] / 1e3))
                          for p in launch_predictions(record, launch_id, nearest)]
    return {launch_id: errors for launch_id, errors in out.items() if errors}


def _gospa_over_time(world, record) -> list[tuple[float, float, int, int]]:
    """GOSPA of the node's whole picture at every step while any missile flies."""
    flights = list(world.flights.values())
    t0 = min(f.trajectory.t_launch for f in flights)
    t1 = max(f.trajectory.t_impact for f in flights)
    by_t = defaultdict(list)
    for s in record.tracks:
        by_t[s.t_s].append(s.r_ecef_m)
    out = []
    for t in np.arange(np.ceil(t0), np.floor(t1) + 1.0):
        truths = [f.trajectory.position(np.array([t]))[0] for f in flights
                  if f.trajectory.t_launch <= t <= f.trajectory.t_impact]
        g = gospa(np.array(by_t.get(float(t), []), float).reshape(-1, 3), np.array(truths, float).reshape(-1, 3),
                  c=GOSPA_C_M)
        out.append((g.distance, g.localisation, g.missed, g.false))
    return out


def pcrlb(traj, sensor_run, launch_id: str, sensors: dict) -> dict[float, tuple[float, float]]:
    """Position and velocity PCRLB (m, m/s: square roots of the traces) at each 1 s step of the flight.

    The bound of the trackers' own stochastic model with the true mode sequence (the
    "known-mode" bound for a switching model, which no IMM can beat): the 9-D state
    (position, velocity, unmodelled acceleration) moves by the BOOST model while the
    truth's motor burns and by the BALLISTIC model after it, linearised along the truth;
    at burnout the thrust becomes known to be gone, as the IMM resets it (``a`` then has
    its prior spread and the motor's tail widens position and velocity, as in the IMM's
    handover). Each step is the trackers' own prediction (motion.predict) of the covariance along the truth. Fisher
    information recursion J_k = (Q + F J_{k-1}^-1 F^T)^-1 + sum H^T R^-1 H over every radar
    plot of this launch in the step (the detections actually made), run as its inverse,
    the Kalman covariance recursion in Joseph form: J itself, whose acceleration block in a
    coast is some 1e12 times its position block, was singular to double precision in the
    last seconds of a lofted ICBM's re-entry. Infrared lines of sight are left out (they
    inform the launch, not the track).
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
    C = np.eye(9) * 1e12  # no prior: the information J_0 = 1e-12 I
    out = {}
    t = t0
    was_boosting = True
    while t <= traj.t_impact:
        r, v = traj.state(np.array([t - 1.0]))
        boosting = bool(traj.thrusting(np.array([t - 1.0]))[0])
        if was_boosting and not boosting:  # burnout: the thrust is gone; in the air, the drag error is not known
            C[6:9, :] = 0.0
            C[:, 6:9] = 0.0
            C[6:9, 6:9] = motion.ballistic_accel_prior(np.concatenate([r, v], axis=1))[0]
            C[:6, :6] += burnout_tail_covariance()
        was_boosting = boosting
        model = motion.BOOST if boosting else motion.BALLISTIC
        a = np.zeros(3)
        if boosting:  # the thrust, about which the boost model's growth is linearised
            a = traj.acceleration(np.array([t - 1.0]))[0] - state_derivative(
                np.concatenate([r[0], v[0]])[None], motion.NOMINAL_INV_BETA)[0, 3:6]
        C = motion.predict(np.concatenate([r[0], v[0], a])[None], C[None], 1.0, model)[1][0]
        r_now = traj.state(np.array([t]))[0][0]
        for sid in plots_at.get(t, []):
            H = np.zeros((3, 9))
            H[:, :3] = jacobian(sites[sid], r_now[None])[0]
            R = sites[sid].noise
            K = np.linalg.solve(H @ C @ H.T + R, H @ C).T
            IKH = np.eye(9) - K @ H
            C = IKH @ C @ IKH.T + K @ R @ K.T
        C = 0.5 * (C + C.T)
        if t in plots_at or out:
            out[t] = (float(np.sqrt(max(np.trace(C[:3, :3]), 0.0))), float(np.sqrt(max(np.trace(C[3:6, 3:6]), 0.0))))
        t += 1.0
    return out


TARGETS = {  # issue targets: (key, lowest, highest)
    "rmse_pcrlb_ratio_midcourse": (None, 1.5),
    "nees_in_band_fraction": (0.9, None),
    "ellipse95_coverage": (0.90, 0.98),
    "false_alerts": (None, 0),
    "missed_alerts": (None, 0),
    "warning_delay_vs_oracle_s": (None, 10.0),
}


def step_side(values) -> tuple[float, str | None]:
    """One step's run-averaged NEES and where it lies against its two-sided 95% band (3 dof,
    as many runs as values): "below", None (inside) or "above"."""
    k, m = len(values), float(np.mean(values))
    lo, hi = chi2.ppf(0.025, 3 * k) / k, chi2.ppf(0.975, 3 * k) / k
    return m, "below" if m < lo else "above" if m > hi else None


def _nees_band(nees_by_step: dict) -> dict:
    """Mean NEES, and the fractions of steps whose run-averaged NEES is inside, below and above
    its two-sided 95% band (3 dof). Below is a covariance on the safe side, above an
    overconfident one: a missed target says which by these two."""
    if not nees_by_step:
        return {"mean": None, "in_band": None, "below": None, "above": None}
    means, sides = zip(*(step_side(v) for v in nees_by_step.values()))
    return {"mean": _r(np.mean(means)), "in_band": _r(np.mean([s is None for s in sides])),
            "below": _r(np.mean([s == "below" for s in sides])), "above": _r(np.mean([s == "above" for s in sides]))}


def nees_out_of_band_spans(nees_by_step: dict) -> list[dict]:
    """Where a launch's run-averaged NEES leaves its 95% band: the runs of consecutive steps
    (``nees_by_step`` (launch, t) -> NEES per run, one launch) on one side of it, in time order.

    The in-band fraction says how much misses and on which side; these say when (a staging,
    burnout, a radar handing over), which is what the next change to a model has to answer.
    Each span: ``from_s``, ``to_s``, ``side`` ("above": overconfident, "below": on the safe
    side), ``steps`` and ``nees_extreme``, the run-averaged NEES furthest out in it.
    """
    spans, current = [], None
    for key in sorted(nees_by_step, key=lambda k: k[1]):
        m, side = step_side(nees_by_step[key])
        if side is None:
            current = None
            continue
        if current is None or current["side"] != side:
            current = {"from_s": float(key[1]), "side": side, "steps": 0, "nees_extreme": m}
            spans.append(current)
        current["to_s"], current["steps"] = float(key[1]), current["steps"] + 1
        current["nees_extreme"] = (max if side == "above" else min)(current["nees_extreme"], m)
    return [{**s, "nees_extreme": _r(s["nees_extreme"])} for s in spans]


def _errors(runs, nation, launches=None) -> dict:
    """Position and velocity RMSE, PCRLB, ratio and NEES, over all phases and by phase."""
    acc = defaultdict(lambda: {"e2": [], "b2": [], "ev2": [], "bv2": [], "nees": defaultdict(list),
                               "nees_v": defaultdict(list)})
    for r in runs:
        for launch_id, samples in r["nodes"].get(nation, {}).items():
            if launches is not None and launch_id not in launches:
                continue
            bound = r["pcrlb"].get(launch_id, {})
            for t, e2, nees, phase, ev2, nees_v in samples:
                b = bound.get(float(np.ceil(t)))
                for key in (phase, "all"):
                    a = acc[key]
                    a["nees"][(launch_id, t)].append(nees)
                    a["nees_v"][(launch_id, t)].append(nees_v)
                    if b is not None:
                        a["e2"].append(e2)
                        a["b2"].append(b[0] ** 2)
                        a["ev2"].append(ev2)
                        a["bv2"].append(b[1] ** 2)
    out = {}
    for key, a in acc.items():
        band, band_v = _nees_band(a["nees"]), _nees_band(a["nees_v"])
        e2, b2, ev2, bv2 = (np.mean(a[k]) if a[k] else None for k in ("e2", "b2", "ev2", "bv2"))
        out[key] = {
            "position_rmse_m": _r(np.sqrt(e2)) if e2 is not None else None,
            "position_pcrlb_m": _r(np.sqrt(b2)) if b2 is not None else None,
            "position_rmse_pcrlb_ratio": _r(np.sqrt(e2 / b2)) if e2 is not None else None,
            "velocity_rmse_mps": _r(np.sqrt(ev2)) if ev2 is not None else None,
            "velocity_pcrlb_mps": _r(np.sqrt(bv2)) if bv2 is not None else None,
            "velocity_rmse_pcrlb_ratio": _r(np.sqrt(ev2 / bv2)) if ev2 is not None else None,
            "nees_mean": band["mean"], "nees_in_band_fraction": band["in_band"],
            "nees_below_band_fraction": band["below"], "nees_above_band_fraction": band["above"],
            "velocity_nees_mean": band_v["mean"], "velocity_nees_in_band_fraction": band_v["in_band"],
            "velocity_nees_below_band_fraction": band_v["below"], "velocity_nees_above_band_fraction": band_v["above"],
            "samples": int(sum(len(v) for v in a["nees"].values())),
        }
        if launches is not None and key == "all" and len(launches) == 1:
            out[key]["nees_out_of_band"] = nees_out_of_band_spans(a["nees"])
    return out


def _median(values):
    values = [v for v in values if v is not None]
    return _r(np.median(values)) if values else None


def _launch_figures(runs, nation, launch_id) -> dict:
    """Impact error over the flight, coverage, class, launch point, first track and first warning."""
    key = "oracle_metrics" if nation == ORACLE else "metrics"
    entries = [next(lm for lm in r[key]["launches"] if lm["id"] == launch_id) for r in runs]
    truth = entries[0]["truth"]
    classes = [e["class_estimate"].get(nation) for e in entries]
    lofted = [e["lofted_estimate_by_nation"].get(nation) for e in entries]
    first_warning = []
    for r in runs:
        issued = [i["issued_s"] for i in r[key]["alerts"]["items"]
                  if i["launch"] == launch_id and i["nation"] == nation and i["issued_s"] is not None]
        first_warning.append(min(issued) if issued else None)
    iip_at = {}
    for frac in (0.1, 0.25, 0.5, 0.75, 0.9):
        errs = []
        for r in runs:
            before = [e for f, e in r["iip"].get(nation, {}).get(launch_id, []) if f <= frac]
            if before:
                errs.append(before[-1])
        iip_at[f"{round(frac * 100)}%"] = _median(errs)
    finals = [e["iip_error_km"].get(nation, {}).get("final") for e in entries]
    iip_at["final"] = _median(finals)
    cov = [c for e in entries if (c := e["iip_ellipse95_coverage"].get(nation)) is not None]
    return {
        "iip_error_km_median": iip_at,
        "ellipse95_coverage": _r(np.mean(cov)) if cov else None,
        "ellipse95_coverage_ci95": coverage_interval(cov),
        "class_accuracy": _r(np.mean([c == truth["class"] for c in classes])) if runs else None,
        "lofted_accuracy": _r(np.mean([lo == truth["lofted"] for lo in lofted])) if runs else None,
        "launch_point_error_km_median": _median([e["launch_point_error_km"].get(nation) for e in entries]),
        "first_track_s_median": _median([e["first_system_track_s"].get(nation) for e in entries]),
        "first_warning_s_median": _median(first_warning),
        "errors": _errors(runs, nation, {launch_id}),
    }


def summarise(runs: list[dict]) -> dict:
    """The evaluation.json object from the runs of :func:`_one_run`."""
    n_runs = len(runs)
    nations = sorted({n for r in runs for n in r["nodes"]})
    launches = [lm["id"] for lm in runs[0]["metrics"]["launches"]] if runs else []
    out = {"runs": n_runs, "nodes": {}, "launches": {lid: {"truth": next(lm["truth"] for lm in runs[0]["metrics"]["launches"]
                                                                     if lm["id"] == lid), "nodes": {}}
                                                   for lid in launches}}
    for nation in nations:
        errors = _errors(runs, nation)
        mid = errors.get("midcourse", {})
        node = {
            "runs": n_runs,
            "rmse_midcourse_m": mid.get("position_rmse_m"),
            "pcrlb_midcourse_m": mid.get("position_pcrlb_m"),
            "rmse_pcrlb_ratio_midcourse": mid.get("position_rmse_pcrlb_ratio"),
            "velocity_rmse_midcourse_mps": mid.get("velocity_rmse_mps"),
            "velocity_rmse_pcrlb_ratio_midcourse": mid.get("velocity_rmse_pcrlb_ratio"),
            "nees_mean": errors.get("all", {}).get("nees_mean"),
            "nees_in_band_fraction": errors.get("all", {}).get("nees_in_band_fraction"),
            "nees_below_band_fraction": errors.get("all", {}).get("nees_below_band_fraction"),
            "nees_above_band_fraction": errors.get("all", {}).get("nees_above_band_fraction"),
            "by_phase": {ph: errors[ph] for ph in ("boost", "midcourse", "terminal") if ph in errors},
        }
        node.update(_alert_figures(runs, nation))
        node["diverged_tracks"] = sum(_diverged_tracks(r).get(nation, 0) for r in runs)
        per_launch = {lid: _launch_figures(runs, nation, lid) for lid in launches}
        for lid, figures in per_launch.items():
            out["launches"][lid]["nodes"][nation] = figures
        node["class_accuracy"] = _r(np.mean([f["class_accuracy"] for f in per_launch.values()])) if per_launch else None
        node["launch_point_error_km_median"] = _median([f["launch_point_error_km_median"] for f in per_launch.values()])
        node["first_track_s_median"] = _median([f["first_track_s_median"] for f in per_launch.values()])
        g = np.array([row for r in runs for row in r["gospa"].get(nation, [])], float).reshape(-1, 4)
        node["gospa"] = {"c_m": GOSPA_C_M, "p": 2, "mean_m": _r(g[:, 0].mean()) if len(g) else None,
                         "localisation_rms_m": _r(np.sqrt(g[:, 1].sum() / max(1.0, (g[:, 0] > 0).sum())))
                         if len(g) else None,
                         "missed_per_step": _r(g[:, 2].mean()) if len(g) else None,
                         "false_per_step": _r(g[:, 3].mean()) if len(g) else None}
        out["nodes"][nation] = node
    for nation, node in out["nodes"].items():  # impact error against the oracle's, launch by launch
        diffs = []
        for lid in launches:
            mine = out["launches"][lid]["nodes"][nation]["iip_error_km_median"]["final"]
            oracle = out["launches"][lid]["nodes"].get(ORACLE, {}).get("iip_error_km_median", {}).get("final")
            if mine is not None and oracle is not None:
                diffs.append(mine - oracle)
        node["iip_error_final_vs_oracle_km"] = _median(diffs)
        node["targets"] = {k: _target(node.get(k), lo, hi) for k, (lo, hi) in TARGETS.items()}
    out["per_run"] = [{  # what went wrong in which run: to run that seed again and look
        "seed": r["seed"],
        "alerts": {k: r["metrics"]["alerts"][k] for k in ("true", "false", "missed")},
        "oracle_alerts": {k: r["oracle_metrics"]["alerts"][k] for k in ("true", "false", "missed")},
        "false_alerts": [i for i in r["metrics"]["alerts"]["items"] if not i["hit"]]
                        + [i for i in r["oracle_metrics"]["alerts"]["items"] if not i["hit"]],
        "late_warnings": [d for nation in nations if nation != ORACLE for d in _warning_delays(r, nation)
                          if d["delay_s"] > 0],
        "worst_nees": _worst_nees(r),
        "diverged_tracks": _diverged_tracks(r),
    } for r in runs]
    return out


def _target(value, lo, hi) -> dict:
    met = value is not None and (lo is None or value >= lo) and (hi is None or value <= hi)
    return {"value": value, "target": [lo, hi], "met": bool(met)}


def coverage_interval(per_flight: list[float]) -> list[float] | None:
    """95% interval of the mean of the flights' ellipse coverages (Clopper-Pearson).

    The flight, not the prediction, is the independent sample: every prediction of one
    flight shares its drawn ballistic coefficient and its burnout state, so one flight's
    ellipses mostly all hold the truth or all miss it. Counting predictions would claim
    far more evidence than the runs give. With 50 flights all inside, the interval still
    reaches down to 0.93.
    """
    n = len(per_flight)
    if n == 0:
        return None
    inside = float(np.sum(per_flight))
    lo = 0.0 if inside <= 0.0 else float(beta_distribution.ppf(0.025, inside, n - inside + 1))
    hi = 1.0 if inside >= n else float(beta_distribution.ppf(0.975, inside + 1, n - inside))
    return [_r(lo), _r(hi)]


def _alert_figures(runs, nation) -> dict:
    """Coverage, false and missed alerts of a node's own areas, and its warning delay against the oracle."""
    coverage, false, missed, delays, first = [], 0, 0, [], []
    for r in runs:
        m = r["oracle_metrics"] if nation == ORACLE else r["metrics"]
        for launch in m["launches"]:
            c = launch["iip_ellipse95_coverage"].get(nation)
            if c is not None:
                coverage.append(c)
        mine = [i for i in m["alerts"]["items"] if i["nation"] == nation]
        false += sum(1 for i in mine if not i["hit"])
        missed += m["alerts"].get("missed_by_nation", {}).get(nation, 0)
        first.extend(i["issued_s"] for i in mine if i["hit"] and i["issued_s"] is not None)
        delays.extend(d["delay_s"] for d in _warning_delays(r, nation))
    return {"ellipse95_coverage": _r(np.mean(coverage)) if coverage else None,
            "ellipse95_coverage_ci95": coverage_interval(coverage), "false_alerts": false,
            "missed_alerts": missed, "warning_delay_vs_oracle_s": _r(np.median(delays)) if delays else None,
            "warning_delay_vs_oracle_s_max": _r(np.max(delays)) if delays else None,
            "first_warning_s_median": _r(np.median(first)) if first else None}


def _warning_delays(run: dict, nation: str) -> list[dict]:
    """Each warning the truth called for that both ``nation`` and the oracle issued: how much later
    the node issued it (s, negative: earlier)."""
    def warning(i):
        return i["launch"], i["area"], i["kind"]

    def issued(items):
        return [i for i in items if i["hit"] and i["issued_s"] is not None]

    oracle_first = {warning(i): i["issued_s"] for i in issued(run["oracle_metrics"]["alerts"]["items"])}
    m = run["oracle_metrics"] if nation == ORACLE else run["metrics"]
    return [{"launch": i["launch"], "area": i["area"], "kind": i["kind"], "nation": nation,
             "delay_s": _r(i["issued_s"] - oracle_first[warning(i)], 2)}
            for i in issued(m["alerts"]["items"]) if i["nation"] == nation and warning(i) in oracle_first]


def _diverged_tracks(run: dict) -> dict[str, int]:
    """Per node (the oracle's too), the own tracks this run dropped as diverged (metrics.json ``tracks``)."""
    return {**run["metrics"].get("tracks", {}).get("diverged", {}),
            **run["oracle_metrics"].get("tracks", {}).get("diverged", {})}


def _worst_nees(run: dict) -> dict:
    """Per node, the system-track sample with the largest position NEES in this run."""
    out = {}
    for nation, by_launch in run["nodes"].items():
        worst = max(((s[2], launch_id, s[0], s[3]) for launch_id, samples in by_launch.items() for s in samples),
                    default=None)
        if worst is not None:
            out[nation] = {"nees": _r(worst[0]), "launch": worst[1], "t_s": _r(worst[2], 2), "phase": worst[3]}
    return out


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
    """Per launch: position RMSE against the PCRLB, NEES against its band, impact error over the flight."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not results:
        return
    nations = sorted(results[0]["nodes"])
    for launch_id in results[0]["pcrlb"]:
        fig, (ax, an, ai) = plt.subplots(3, 1, figsize=(8, 10))
        for nation in nations:
            by_t = defaultdict(list)
            nees_t = defaultdict(list)
            for r in results:
                for t, e2, nees, *_ in r["nodes"].get(nation, {}).get(launch_id, []):
                    by_t[t].append(e2)
                    nees_t[t].append(nees)
            if by_t:
                ts = sorted(by_t)
                ax.semilogy(ts, [np.sqrt(np.mean(by_t[t])) for t in ts], ".", ms=2, label=f"{nation} RMSE")
                an.semilogy(ts, [np.mean(nees_t[t]) for t in ts], ".", ms=2, label=nation)
            iip = sorted((f, e) for r in results for f, e in r["iip"].get(nation, {}).get(launch_id, []))
            if iip:
                ai.semilogy([100 * f for f, _ in iip], [max(e, 1e-3) for _, e in iip], ".", ms=2, label=nation)
        bound = defaultdict(list)
        for r in results:
            for t, (b, _) in r["pcrlb"][launch_id].items():
                bound[t].append(b * b)
        if bound:
            ts = sorted(bound)
            ax.semilogy(ts, [np.sqrt(np.mean(bound[t])) for t in ts], "k-", lw=1.5, label="PCRLB (all sensors)")
        k = len(results)
        lo, hi = chi2.ppf(0.025, 3 * k) / k, chi2.ppf(0.975, 3 * k) / k
        an.axhspan(lo, hi, color="0.85", label=f"95% band ({k} runs)")
        ax.set(xlabel="scenario time (s)", ylabel="position error (m)",
               title=f"{launch_id}: position RMSE over {k} runs against the PCRLB")
        an.set(xlabel="scenario time (s)", ylabel="position NEES (run mean)", title="consistency")
        ai.set(xlabel="% of the flight time", ylabel="impact-point error (km)", title="impact-point error")
        for a in (ax, an, ai):
            a.legend(fontsize=7)
            a.grid(alpha=0.3, which="both")
        fig.tight_layout()
        fig.savefig(out_dir / f"{launch_id}-rmse.png", dpi=100)
        plt.close(fig)

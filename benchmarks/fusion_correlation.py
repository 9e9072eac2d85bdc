"""How correlated the nations' track errors of one missile are, against the share of their
covariance they declare shared, and what that makes of four fusion rules, per launch and
phase, over a node's system tracks on many seeds.

    PYTHONPATH=src python benchmarks/fusion_correlation.py [--scenario src/warnlink/scenarios/demo.toml]
        [--node JPN] [--seeds 50] [--first-seed 1] [--workers 2] [--until-s 800] [--json]

A node fuses its own and its partners' tracks of a missile by split covariance intersection
(:mod:`warnlink.fusion.ci`): consistent whatever the correlation of the parts each track
declares shared (``P - Pi``: process noise, initial guess, the spread between its models),
and exact when those are wholly correlated; the Kalman product is exact when the tracks are
independent. Which is nearer the truth is a matter of measurement, phase by phase.

Each second, for each launch in the air, the node's system track nearest the missile is
taken (within 50 km) and its members (the nations' local tracks) are aligned to the second
as the fusion aligns them. Printed per launch and phase (boost, midcourse, terminal):

* for each pair of nations' members, the correlation of their position and velocity errors
  measured over the runs, ``sum(e_a . e_b) / sqrt(sum |e_a|^2 sum |e_b|^2)``, averaged over
  the seconds, beside the share they declare shared, ``sqrt(f_a f_b)`` with
  ``f = tr(P - Pi) / tr(P)``: a measured correlation well under the declared share is
  caution split CI pays for nothing, one near it is caution it needs;
* the share of seconds whose position NEES, averaged over the runs, is inside, under and
  over its 95% band (the evaluation's test of a step), and the position RMSE, of the system
  track fused from the same aligned members four ways: the node's rule
  (:func:`warnlink.fusion.system_tracks.fuse_members`: split CI, or the product while every
  member has burnt without doubt for STEADY_BURN_S), split CI alone, the product, and the
  most precise member alone. Estimates of members that have left (the fusion's priors) are
  left out of all four, so the node's rule is not always the node's own system track.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from warnlink.evaluation.harness import flight_phase, step_side  # noqa: E402
from warnlink.fusion.ci import kalman_product, split_covariance_intersection, split_parts  # noqa: E402
from warnlink.fusion.system_tracks import align_tracks, fuse_members, steady_burn_s  # noqa: E402
from warnlink.runner import RunOptions, run_scenario  # noqa: E402
from warnlink.scenario.loader import load_scenario  # noqa: E402
from warnlink.scenario.world import build_world  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "src" / "warnlink" / "scenarios" / "demo.toml"
NEAREST_M = 50e3  # a system track further than this from the missile is not its track
PHASES = ("boost", "midcourse", "terminal")
SLICES = {"position": slice(0, 3), "velocity": slice(3, 6)}
RULES = ("node", "split_ci", "product", "best_member")


class PairSample(NamedTuple):
    """Two nations' members of one system track at one second of one run."""

    pair: tuple[str, str]  # their origins, sorted
    errors: dict  # "position" / "velocity" -> (a's error, b's error) against the truth
    shared: dict  # "position" / "velocity" -> (a's, b's) tr(P - Pi) / tr(P): the share declared shared


def fuse(rule: str, x, P, Pi, steady_s=None):
    """(x, P) of members (k, 6), (k, 6, 6), (k, 6, 6) fused by ``rule``; ``steady_s`` (k,): how
    long each has burnt without doubt (the node's rule), -inf where it does not."""
    if rule == "node":
        return fuse_members(x, P, Pi, steady_s)[:2]
    if rule == "split_ci":
        return split_covariance_intersection(x, P, Pi)[:2]
    if rule == "product":
        return kalman_product(x, P, Pi)[:2]
    best = int(np.argmin(np.trace(P[:, :3, :3], axis1=1, axis2=2)))
    return x[best], P[best]


def one_seed(args) -> dict:
    """(launch, second) -> phase, each rule's position NEES and squared error, and per pair of
    nations' members (a, b): their position and velocity errors and covariance traces."""
    scenario_path, node_id, seed, until_s = args
    scenario = load_scenario(Path(scenario_path))
    flights = build_world(scenario, seed).flights  # the world run_scenario builds from the seed
    samples: dict = {}

    def on_step(t_s: float, nodes) -> None:
        node = nodes[node_id]
        if not node.system_tracks:
            return
        for launch_id, flight in flights.items():
            traj = flight.trajectory
            if not traj.t_launch <= t_s <= traj.t_impact:
                continue
            r, v = (a[0] for a in traj.state(np.array([t_s])))
            trk = min(node.system_tracks, key=lambda s: np.linalg.norm(s.x[:3] - r))
            if np.linalg.norm(trk.x[:3] - r) > NEAREST_M:
                continue
            local = [node.fusion.local_track(m) for m in trk.members]
            local = [m for m in local if m is not None]
            if not local:
                continue
            x, P, Pi = align_tracks(local, t_s)
            steady_s = [steady_burn_s(m, t_s) for m in local]
            row = {"phase": flight_phase(traj, t_s), "nees": {}, "e2": {}, "pairs": []}
            for rule in RULES:
                xf, Pf = fuse(rule, x, P, Pi, steady_s)
                e = xf[:3] - r
                row["nees"][rule], row["e2"][rule] = float(e @ np.linalg.solve(Pf[:3, :3], e)), float(e @ e)
            truth = np.concatenate([r, v])
            for a in range(len(local)):
                for b in range(a + 1, len(local)):
                    i, j = sorted((a, b), key=lambda k: local[k].origin)
                    parts = [split_parts(P[k], Pi[k]) for k in (i, j)]  # (P, Pi, Pd) of each
                    row["pairs"].append(PairSample(
                        (local[i].origin, local[j].origin),
                        {q: (x[i, s] - truth[s], x[j, s] - truth[s]) for q, s in SLICES.items()},
                        {q: tuple(float(np.trace(Pd[s, s]) / np.trace(Pk[s, s])) for Pk, _, Pd in parts)
                         for q, s in SLICES.items()}))
            samples[(launch_id, t_s)] = row

    with tempfile.TemporaryDirectory() as tmp:
        run_scenario(scenario, Path(tmp), RunOptions(transport="memory", seed=seed, until_s=until_s), on_step=on_step)
    return samples


def _correlation(pairs: list[PairSample]) -> dict:
    """Position and velocity: (error correlation measured over the runs at one second, declared
    shared share), for one pair of nations."""
    out = {}
    for q in SLICES:
        ea, eb = (np.array([p.errors[q][k] for p in pairs]) for k in (0, 1))
        measured = float(np.sum(ea * eb) / np.sqrt(np.sum(ea * ea) * np.sum(eb * eb)))
        fa, fb = (np.mean([p.shared[q][k] for p in pairs]) for k in (0, 1))
        out[q] = (measured, float(np.sqrt(fa * fb)))
    return out


def summarise(runs: list[dict], min_runs: int) -> dict:
    """Per launch and phase: the pairs' correlations and the three rules' NEES band shares and RMSE."""
    by_step = defaultdict(list)
    for samples in runs:
        for key, row in samples.items():
            by_step[key].append(row)
    out: dict = {}
    for (launch_id, t), rows in sorted(by_step.items()):
        if len(rows) < min_runs:
            continue
        phase = rows[0]["phase"]
        cell = out.setdefault(launch_id, {}).setdefault(phase, {"seconds": 0, "rules": defaultdict(list),
                                                                  "e2": defaultdict(list), "pairs": defaultdict(list)})
        cell["seconds"] += 1
        for rule in RULES:
            cell["rules"][rule].append(step_side([r["nees"][rule] for r in rows])[1])
            cell["e2"][rule].extend(r["e2"][rule] for r in rows)
        pairs = defaultdict(list)
        for r in rows:
            for p in r["pairs"]:
                pairs[p.pair].append(p)
        for pair, ps in pairs.items():
            if len(ps) >= min_runs:
                cell["pairs"][pair].append(_correlation(ps))
    result = {}
    for launch_id, phases in out.items():
        for phase in PHASES:
            cell = phases.get(phase)
            if cell is None:
                continue
            entry = {"seconds": cell["seconds"], "rules": {}, "pairs": {}}
            for rule in RULES:
                sides = cell["rules"][rule]
                entry["rules"][rule] = {"in_band": round(float(np.mean([s is None for s in sides])), 3),
                                        "under": round(float(np.mean([s == "below" for s in sides])), 3),
                                        "over": round(float(np.mean([s == "above" for s in sides])), 3),
                                        "rmse_m": round(float(np.sqrt(np.mean(cell["e2"][rule]))), 1)}
            for pair, cs in sorted(cell["pairs"].items()):
                entry["pairs"]["-".join(pair)] = {
                    "seconds": len(cs),
                    **{f"{q}_correlation_measured": round(float(np.mean([c[q][0] for c in cs])), 2)
                       for q in ("position", "velocity")},
                    **{f"{q}_shared_declared": round(float(np.mean([c[q][1] for c in cs])), 2)
                       for q in ("position", "velocity")}}
            result[f"{launch_id}.{phase}"] = entry
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(DEMO))
    ap.add_argument("--node", default=None, help="the node whose fusion is measured (default: the first nation)")
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--until-s", type=float, default=800.0, help="stop the runs here (scenario seconds)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    scenario = load_scenario(Path(a.scenario))
    nations = [n.id for n in scenario.config.nations]
    node = a.node or nations[0]
    if node not in nations:
        ap.error(f"no node {node!r} in {a.scenario}: it has {nations}")
    if not a.until_s > 0:
        ap.error(f"--until-s must be positive, not {a.until_s:g}")
    seeds = range(a.first_seed, a.first_seed + a.seeds)
    with ProcessPoolExecutor(max_workers=a.workers) as pool:
        runs = list(pool.map(one_seed, [(a.scenario, node, s, a.until_s) for s in seeds]))
    result = {"node": node, "seeds": [seeds.start, seeds.stop - 1], "until_s": a.until_s,
              "by_launch_phase": summarise(runs, min_runs=max(2, int(0.8 * a.seeds)))}
    if a.json:
        print(json.dumps(result))
        return
    print(f"node {node}, seeds {seeds.start}-{seeds.stop - 1}, to {a.until_s:g} s")
    for key, entry in result["by_launch_phase"].items():
        rules = "  ".join(f"{rule} {f['in_band']:.2f} ({f['under']:.2f} under / {f['over']:.2f} over, "
                          f"{f['rmse_m']:.0f} m)" for rule, f in entry["rules"].items())
        print(f"{key:14s} {entry['seconds']:4d} s  {rules}")
        for pair, c in entry["pairs"].items():
            print(f"    {pair:8s} {c['seconds']:4d} s  position error correlation {c['position_correlation_measured']:5.2f}"
                  f" (declared shared {c['position_shared_declared']:.2f})  velocity {c['velocity_correlation_measured']:5.2f}"
                  f" (declared {c['velocity_shared_declared']:.2f})")


if __name__ == "__main__":
    main()

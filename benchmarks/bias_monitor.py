"""What the fusion's discrepancy monitor (:mod:`warnlink.fusion.bias`) does for a node's picture:
its NEES against truth with the monitor's threshold as it is, at other thresholds, never
widening, and with every sensor's bias removed, on the same flights and plots.

    PYTHONPATH=src python benchmarks/bias_monitor.py [--scenario src/warnlink/scenarios/hard-bias.toml]
        [--node JPN] [--seeds 40] [--first-seed 1] [--workers 2] [--flag-d2 9 6 inf] [--unbiased]
        [--until-s 600] [--json]

The monitor widens a member of a system track whose running chi-square distance to every
partner is above its threshold (``FLAG_D2``). Whether that keeps a picture with a biased radar
consistent is a matter of measurement, so this runs the scenario's nodes (no oracle: the
nodes' part of ``warnlink evaluate``, the same seeds drawing the same plots) once per variant
and prints, per variant, the share of steps whose position NEES, averaged over the runs, is
inside, over and under its 95% band (the evaluation's test of a step), and per origin the
least running distance of its members to their partners (median, 99th percentile, largest,
the share of steps above each threshold asked, and at how many steps the monitor flagged
them): what the threshold has to tell apart.
``inf`` never widens; ``--unbiased`` adds a run at the module's threshold with every
sensor's ``bias_*`` set to 0 (the bias's own cost).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import tempfile
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import msgspec  # noqa: E402

from warnlink.evaluation.harness import _nees_band, track_samples  # noqa: E402
from warnlink.evaluation.metrics import associate_tracks, nearest_tracks  # noqa: E402
from warnlink.fusion import bias, system_tracks  # noqa: E402
from warnlink.runner import RunOptions, run_scenario  # noqa: E402
from warnlink.scenario.loader import ScenarioError, load_scenario  # noqa: E402

HARD_BIAS = Path(__file__).resolve().parents[1] / "src" / "warnlink" / "scenarios" / "hard-bias.toml"
BIAS_FIELDS = ("bias_range_m", "bias_azimuth_mrad", "bias_elevation_mrad")


def unbiased(scenario):
    """The scenario with every sensor's bias set to 0 (the rest, and so the plots' noise, the same)."""
    sensors = [msgspec.structs.replace(s, **{f: 0.0 for f in BIAS_FIELDS if hasattr(s, f)})
               for s in scenario.config.sensors]
    return dataclasses.replace(scenario, config=msgspec.structs.replace(scenario.config, sensors=sensors))


def _one(job) -> dict:
    """One seed of one variant: the node's position NEES per (launch, t); per origin, the least
    running distance of its members at each fusion step, and at how many of those steps the
    monitor flags them (widens them at the next)."""
    scenario_path, seed, node, flag_d2, remove_bias, until_s = job
    original = bias.DiscrepancyMonitor.__init__
    if flag_d2 is not None:
        def init(self, *args, **kwargs):  # every node's monitor built at this threshold
            kwargs.setdefault("flag_d2", flag_d2)
            original(self, *args, **kwargs)
        bias.DiscrepancyMonitor.__init__ = init
    distances, flagged = defaultdict(list), defaultdict(int)
    fuse = system_tracks.Fusion.fuse

    def watched(self, t_s):
        out = fuse(self, t_s)
        if self.nation == node:
            stats = self.discrepancy._stats
            for member in {m for pair in stats for m in pair}:
                distances[member[0]].append(min(s.d2 for pair, s in stats.items() if member in pair))
                flagged[member[0]] += self.discrepancy.widening(member) is not None
        return out

    system_tracks.Fusion.fuse = watched
    try:
        scenario = load_scenario(scenario_path)
        if remove_bias:
            scenario = unbiased(scenario)
        with tempfile.TemporaryDirectory() as tmp:
            result = run_scenario(scenario, Path(tmp) / "nodes", RunOptions(transport="memory", seed=seed, until_s=until_s))
    finally:
        system_tracks.Fusion.fuse = fuse
        bias.DiscrepancyMonitor.__init__ = original
    record = result.nodes[node].record
    nearest = nearest_tracks(result.world.flights, record, associate_tracks(result.world.flights, record)[0])
    nees = {(launch, t): value for launch, samples in track_samples(result.world.flights, record, nearest).items()
            for t, _, value, *_ in samples}
    return {"nees": nees, "distances": dict(distances), "flagged": dict(flagged)}


def summarise(runs: list[dict], thresholds: list[float]) -> dict:
    """Steps in, over and under the band, and the members' least distances, over the runs of one variant."""
    by_step = defaultdict(list)
    for run in runs:
        for key, value in run["nees"].items():
            by_step[key].append(value)
    band = _nees_band(by_step)  # the evaluation's own count of the steps in, over and under the band
    out = {"steps": len(by_step), "nees_in_band_fraction": band["in_band"],
           "nees_above_band_fraction": band["above"], "nees_below_band_fraction": band["below"],
           "least_distance": {}}
    merged = defaultdict(list)
    for run in runs:
        for origin, values in run["distances"].items():
            merged[origin].extend(values)
    for origin, values in sorted(merged.items()):
        v = np.asarray(values)
        out["least_distance"][origin] = {
            "median": round(float(np.median(v)), 2), "p99": round(float(np.percentile(v, 99)), 2),
            "max": round(float(v.max()), 2), "flagged_steps": sum(r["flagged"].get(origin, 0) for r in runs),
            "above": {str(t): round(float(np.mean(v > t)), 4) for t in thresholds if math.isfinite(t)}}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", type=Path, default=HARD_BIAS)
    parser.add_argument("--node", default="JPN")
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--flag-d2", type=float, nargs="+", default=[bias.FLAG_D2],
                        help="thresholds to run the monitor at; inf: never widen")
    parser.add_argument("--unbiased", action="store_true", help="also run with every sensor's bias set to 0")
    parser.add_argument("--until-s", type=float, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.workers < 1:
        parser.error("--seeds and --workers must be at least 1")
    if any(not t >= 0.0 for t in args.flag_d2):  # NaN too
        parser.error(f"--flag-d2 must be 0 or more (inf: never widen), not {args.flag_d2}")
    try:
        nations = [n.id for n in load_scenario(args.scenario).config.nations]
    except ScenarioError as e:
        parser.error(f"--scenario {args.scenario}: {e}")
    if args.node not in nations:
        parser.error(f"--node {args.node!r} is not one of the scenario's nations {nations}")
    variants = [(f"flag_d2={t:g}", t, False) for t in args.flag_d2]
    if args.unbiased:
        variants.append((f"unbiased, flag_d2={bias.FLAG_D2:g}", None, True))
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    report = {"scenario": str(args.scenario), "node": args.node, "seeds": [seeds.start, seeds.stop - 1], "variants": {}}
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for name, flag_d2, remove_bias in variants:
            jobs = [(str(args.scenario), seed, args.node, flag_d2, remove_bias, args.until_s) for seed in seeds]
            report["variants"][name] = summarise(list(pool.map(_one, jobs)), args.flag_d2)
            if not args.json:
                _print(name, report["variants"][name])
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


def _print(name: str, v: dict) -> None:
    print(f"{name}: {v['steps']} steps, NEES in band {v['nees_in_band_fraction']}, "
          f"over {v['nees_above_band_fraction']}, under {v['nees_below_band_fraction']}", flush=True)
    for origin, d in v["least_distance"].items():
        above = ", ".join(f">{t}: {share}" for t, share in d["above"].items())
        print(f"  {origin}: least distance median {d['median']}, p99 {d['p99']}, max {d['max']}; {above}; "
              f"flagged at {d['flagged_steps']} steps", flush=True)


if __name__ == "__main__":
    sys.exit(main())

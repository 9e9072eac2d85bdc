"""How one nation's own tracker holds a missile from its first plots: the run-averaged NEES of
its track, second by second, and the share of seconds inside the 95% band.

    PYTHONPATH=src python benchmarks/track_start.py [--scenario src/warnlink/scenarios/hard-depressed.toml]
        [--launch M1] [--nation USA] [--seeds 40] [--first-seed 1] [--until-s 125]
        [--start-burning 0.9 | --cued] [--workers 2] [--json]

A nation whose radars first see a missile after its burnout starts a new track on it.
Below ``imm.LOW_ALTITUDE_M`` a new track starts as most likely burning
(``imm.INITIAL_MU_LOW``): right for a missile rising over the horizon, wrong for a depressed
SRBM picked up after its burnout, whose track the boost model's unknown thrust then holds
wider than its errors. ``--start-burning`` sets that start's probability of a burning motor
(the rest coasting), to see what it costs either pickup. ``--cued`` gives the tracker, each
second, the cue (``tracking.cue``) a node's picture gives it when its partners hold the
missile: the truth a second earlier, 200 m off at random, burning until its burnout and
coasting after it (a partner that held it through its burnout), so that the node's own
start is measured, not a setting.

One tracker per seed takes the plots of the nation's radars (``--nation``; every radar if
not given), stepped each second as a node steps. Each second after launch, the confirmed
track nearest the missile (within 20 km) is scored: position and velocity NEES of the
estimate it reports, squared position error, probability of a burning motor. Printed: the
seconds every run has a track for, the share of them whose run-mean position NEES is inside
its band (chi-square, 3 dof per run), under it and over it, and every fifth second.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from warnlink.evaluation.harness import step_side  # noqa: E402
from warnlink.scenario.loader import load_scenario  # noqa: E402
from warnlink.scenario.sensors import simulate_sensors  # noqa: E402
from warnlink.scenario.world import build_world  # noqa: E402
from warnlink.tracking import imm  # noqa: E402
from warnlink.tracking.cue import PictureCue  # noqa: E402
from warnlink.tracking.tracker import CONFIRMED, LocalTracker  # noqa: E402

DEPRESSED = Path(__file__).resolve().parents[1] / "src" / "warnlink" / "scenarios" / "hard-depressed.toml"
NEAREST_M = 20e3  # a track further than this from the missile is not its track
PICTURE_SIGMA_M = 200.0  # --cued: the partners' picture's position error, per axis


def one_seed(args) -> dict:
    """Second -> (position NEES, velocity NEES, squared position error, burning probability)
    of the nation's track of the launch in one run."""
    scenario_path, launch_id, nation, seed, until_s, start_burning, cued = args
    if start_burning is not None:
        imm.INITIAL_MU_LOW = (1.0 - start_burning, start_burning, 0.0)
    scenario = load_scenario(Path(scenario_path))
    truth = build_world(scenario, seed).flights[launch_id].trajectory
    radars = [s for s in scenario.config.sensors if s.type == "radar" and nation in (None, s.nation)]
    end_s = min(until_s, truth.t_impact)
    reports = sorted(simulate_sensors(radars, [truth], min(scenario.config.scenario.duration_s, truth.t_impact + 5.0),
                                      0, seed).reports, key=lambda r: r.report_time_ns)
    tracker = LocalTracker(nation or "ALL", 0)
    rng = np.random.default_rng([seed, 7])
    samples, j = {}, 0
    for second in range(int(np.ceil(truth.t_launch)), int(end_s) + 1):
        if cued:
            tracker.picture_cue = _partners_picture(truth, second - 1.0, rng)
        while j < len(reports) and reports[j].report_time_ns <= second * 1e9:
            tracker.process_radar(reports[j])
            j += 1
        tracker.predict_to(float(second))
        confirmed = [i for i, m in enumerate(tracker.meta) if m.status == CONFIRMED]
        if not confirmed:
            continue
        x, P, _ = imm.output(tracker.x, tracker.P, tracker.mu, tracker.Pi)
        r, v = (a[0] for a in truth.state(np.array([float(second)])))
        i = min(confirmed, key=lambda k: np.linalg.norm(x[k, :3] - r))
        e, ev = x[i, :3] - r, x[i, 3:6] - v
        if e @ e > NEAREST_M**2:
            continue
        samples[second] = (float(e @ np.linalg.solve(P[i, :3, :3], e)), float(ev @ np.linalg.solve(P[i, 3:6, 3:6], ev)),
                           float(e @ e), float(imm.boost_probability(tracker.mu[i])))
    return samples


def _partners_picture(truth, t: float, rng: np.random.Generator) -> PictureCue:
    """The cue of partners that hold the missile at ``t``: its truth, 200 m off, burning until its burnout."""
    r, v = (a[0] for a in truth.state(np.array([t])))
    return PictureCue(t, (r + rng.normal(size=3) * PICTURE_SIGMA_M)[None], v[None],
                      np.eye(3)[None] * PICTURE_SIGMA_M**2, np.array([1.0 if t < truth.t_burnout else 0.0]))


def summarise(runs: list[dict]) -> dict:
    """The seconds every run has a track for: band shares of the run-mean position NEES, and the means."""
    seconds = sorted(set.intersection(*(set(r) for r in runs))) if runs else []
    sides, rows = [], []
    for t in seconds:
        values = np.array([r[t] for r in runs])
        sides.append(step_side(list(values[:, 0]))[1])
        rows.append({"t_s": t, "nees": round(float(values[:, 0].mean()), 2),
                     "velocity_nees": round(float(values[:, 1].mean()), 2),
                     "rmse_m": round(float(np.sqrt(values[:, 2].mean())), 1),
                     "burning_probability": round(float(values[:, 3].mean()), 3)})
    n = max(len(seconds), 1)
    return {"seconds": len(seconds),
            "in_band": round(sum(s is None for s in sides) / n, 3),
            "under": round(sum(s == "below" for s in sides) / n, 3),
            "over": round(sum(s == "above" for s in sides) / n, 3),
            "out_of_band_s": [t for t, s in zip(seconds, sides) if s is not None],
            "steps": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(DEPRESSED))
    ap.add_argument("--launch", default="M1")
    ap.add_argument("--nation", default=None, help="whose radars (default: every radar, as the oracle)")
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--until-s", type=float, default=125.0, help="score to here (scenario seconds)")
    ap.add_argument("--start-burning", type=float, default=None,
                    help="a new low track's probability of a burning motor (default: imm.INITIAL_MU_LOW's)")
    ap.add_argument("--cued", action="store_true", help="the partners' picture cues each new track (tracking.cue)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    scenario = load_scenario(Path(a.scenario))
    launches = [launch.id for launch in scenario.config.launches]
    if a.launch not in launches:
        ap.error(f"no launch {a.launch!r} in {a.scenario}: it has {launches}")
    nations = [n.id for n in scenario.config.nations]
    if a.nation is not None and a.nation not in nations:
        ap.error(f"no nation {a.nation!r} in {a.scenario}: it has {nations}")
    if a.start_burning is not None and not 0.0 <= a.start_burning <= 1.0:
        ap.error(f"--start-burning is a probability, not {a.start_burning:g}")
    if a.cued and a.start_burning is not None:
        ap.error("--cued and --start-burning are two starts: give one")
    if a.seeds < 2:
        ap.error("--seeds must be 2 or more: the band is of a mean over runs")
    seeds = range(a.first_seed, a.first_seed + a.seeds)
    with ProcessPoolExecutor(max_workers=a.workers) as pool:
        runs = list(pool.map(one_seed, [(a.scenario, a.launch, a.nation, s, a.until_s, a.start_burning, a.cued)
                                        for s in seeds]))
    result = {"launch": a.launch, "nation": a.nation, "seeds": [seeds.start, seeds.stop - 1],
              "start_burning": a.start_burning if a.start_burning is not None else imm.INITIAL_MU_LOW[imm.BOOST],
              "cued": a.cued,
              **summarise(runs)}
    if a.json:
        print(json.dumps(result))
        return
    whose = f"{a.nation}'s" if a.nation else "every nation's"
    start = "cued by its partners' picture" if a.cued else f"burning at {result['start_burning']:g}"
    print(f"{a.launch} on {whose} radars, seeds {seeds.start}-{seeds.stop - 1}, a new low track "
          f"{start}: {result['seconds']} s tracked in every run, in band "
          f"{result['in_band']:.3f} (under {result['under']:.3f}, over {result['over']:.3f})")
    print("out of band at", result["out_of_band_s"])
    for row in result["steps"][::5]:
        print(f"  {row['t_s']:5d} s  NEES {row['nees']:5.2f}  velocity {row['velocity_nees']:5.2f}  "
              f"RMSE {row['rmse_m']:7.1f} m  burning {row['burning_probability']:.2f}")


if __name__ == "__main__":
    main()

"""Benchmark: a whole run, every node exchanging over a real nats-server, against the in-memory exchange.

    PYTHONPATH=src python benchmarks/run_scenario.py [--scenario scenarios/demo.toml] [--json]

Runs the scenario twice in one process, over NATS (the product) and in memory (the
peer that isolates what the network costs), and prints for each: wall time, how many
times faster than real time, message latency p50/p99/max (sensor report entering its
node to the system-track update at each partner) and messages lost; then the ratios.
Targets (issue 3): at least 20x real time on 2 cores, latency p99 under 50 ms.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from warnlink.runner import RunOptions, run_scenario  # noqa: E402
from warnlink.scenario.loader import load_scenario  # noqa: E402


def one(scenario, transport: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        result = run_scenario(scenario, Path(tmp), RunOptions(transport=transport))
    m = result.metrics
    return {"transport": transport, "wall_s": round(result.wall_s, 2), "scenario_s": result.sim_s,
            "x_real_time": round(result.sim_s / result.wall_s, 1), "latency_ms": m["latency_ms"],
            "messages": m["messages"], "alerts": {k: m["alerts"][k] for k in ("true", "false", "missed")}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=Path(__file__).resolve().parents[1] / "scenarios" / "demo.toml")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    nats, memory = one(scenario, "nats"), one(scenario, "memory")
    out = {"scenario": scenario.config.scenario.name, "nats": nats, "memory": memory,
           "wall_ratio_nats_over_memory": round(nats["wall_s"] / memory["wall_s"], 3)}
    if args.json:
        print(json.dumps(out))
        return 0
    for r in (nats, memory):
        lat = r["latency_ms"]
        print(f"{r['transport']:>6}: {r['wall_s']:7.1f} s wall for {r['scenario_s']:.0f} s = {r['x_real_time']:5.1f}x real time; "
              f"latency p50 {lat['p50']} ms, p99 {lat['p99']} ms, max {lat['max']} ms; "
              f"published {r['messages']['published']}, lost {r['messages']['lost']}; alerts {r['alerts']}")
    print(f"NATS / memory wall time: {out['wall_ratio_nats_over_memory']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

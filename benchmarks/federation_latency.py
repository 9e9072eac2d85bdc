"""Benchmark: what TLS, signatures and the hub hop cost, against the plain single-server run.

    PYTHONPATH=src python benchmarks/federation_latency.py [--scenario tests/scenarios/short_srbm.toml] [--json]

Runs one scenario, in one process, five ways:

* ``memory``: no network at all (the nodes' own processing);
* ``plain``: one nats-server for the run, plain TCP, user/password per nation (the baseline);
* ``single``: one nats-server for the federation, mutual TLS, JWT-authenticated users
  (``warnlink network up --topology single``): plain + TLS;
* ``mesh``: one server per nation, leafnodes between every pair, all over mutual TLS:
  + one server-to-server hop;
* ``hub``: one server per nation, every link through the hub's server (USA): a pair of
  spokes (ROK-JPN) takes two server-to-server hops, a spoke and the hub one.

For each it prints the end-to-end latency (a sensor report entering its node to the
system-track update at each partner: the contract's ``latency_ms``) and the transit
time (the step handing its messages to the network to their delivery at each
partner), the latter also split by pair. Signatures are measured on the messages the
plain run actually exchanged: Ed25519 sealing at the origin and opening (size, format,
key, signature, window, sequence, body) at the receiver, per message, against
plain msgpack encoding and decoding of the same bodies. Every run must lose nothing and
give the same alerts. The ratios against ``plain`` are what to read: this machine is noisy.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from warnlink.archive import read_archive  # noqa: E402
from warnlink.exchange.envelope import Envelope, Verifier, seal  # noqa: E402
from warnlink.exchange.network import Network  # noqa: E402
from warnlink.exchange.pki import Pki  # noqa: E402
from warnlink.exchange.signing import KeyRing, NodeKey  # noqa: E402
from warnlink.messages import decode_wire, encode  # noqa: E402
from warnlink.runner import RunOptions, run_scenario  # noqa: E402
from warnlink.scenario.loader import load_scenario  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WAYS = ("memory", "plain", "single", "mesh", "hub")


def _run(scenario, way: str, tmp: Path) -> dict:
    out = tmp / way
    nations = [n.id for n in scenario.config.nations]
    if way in ("memory", "plain"):
        result = run_scenario(scenario, out, RunOptions(transport="nats" if way == "plain" else "memory"))
    else:
        fed = tmp / f"fed-{way}"
        Pki.init(fed, nations)
        network = Network(fed)
        network.up(way, nations[-1] if way != "mesh" else None)
        try:
            result = run_scenario(scenario, out, RunOptions(network=fed))
        finally:
            network.down()
    m = result.metrics
    return {"way": way, "wall_s": round(result.wall_s, 2), "latency_ms": m["latency_ms"],
            "transit_ms": m["transit_ms"], "messages": m["messages"],
            "alerts": [(a["launch"], a["area"], a["kind"], a["issued_s"]) for a in m["alerts"]["items"]],
            "out": out}


def _signature_cost(run_dir: Path, repeat: int = 3) -> dict:
    """Per-message time (µs) to seal and to open the run's own messages, and to encode/decode them plainly."""
    sent = []
    for archive in sorted((run_dir / "archive").glob("*.msgs")):
        for entry in read_archive(archive):
            if entry.direction == "sent":
                import msgspec

                sent.append((entry.subject, msgspec.msgpack.decode(entry.data, type=Envelope)))
    bodies = [decode_wire(env.body) for _, env in sent]
    keys = {n: NodeKey.generate(n) for n in {env.origin for _, env in sent}}
    ring = KeyRing()
    for n, key in keys.items():
        ring.add(n, key.public_bytes())
    best = {}
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        sealed = [seal(body, keys[env.origin], env.seq, env.sent_ns) for body, (_, env) in zip(bodies, sent)]
        t1 = time.perf_counter_ns()
        verifiers = {}
        for (subject, env), data in zip(sent, sealed):
            to = subject.split(".")[4]
            verifiers.setdefault(to, Verifier(ring, me=to, max_age_s=None)).open(subject, data, env.sent_ns)
        t2 = time.perf_counter_ns()
        plain = [encode(body) for body in bodies]
        t3 = time.perf_counter_ns()
        for raw in plain:
            decode_wire(raw)
        t4 = time.perf_counter_ns()
        n = len(sent)
        for key, ns in (("seal_us", t1 - t0), ("open_us", t2 - t1), ("encode_us", t3 - t2), ("decode_us", t4 - t3)):
            best[key] = min(best.get(key, float("inf")), ns / n / 1e3)
    best = {k: round(v, 1) for k, v in best.items()}
    best["messages"] = len(sent)
    best["added_us"] = round(best["seal_us"] + best["open_us"] - best["encode_us"] - best["decode_us"], 1)
    return best


def _pairs(transit: dict, pairs: list[str]) -> dict:
    """p50/p99 over the messages of these pairs only (weighted by each pair's samples)."""
    rows = [transit["pairs"][p] for p in pairs if p in transit["pairs"] and transit["pairs"][p]["samples"]]
    if not rows:
        return {"p50": None, "p99": None}
    w = np.array([r["samples"] for r in rows], float)
    return {"p50": round(float(np.average([r["p50"] for r in rows], weights=w)), 3),
            "p99": round(float(np.average([r["p99"] for r in rows], weights=w)), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "tests" / "scenarios" / "short_srbm.toml")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    nations = [n.id for n in scenario.config.nations]
    hub = nations[-1]
    spokes = [n for n in nations if n != hub]
    spoke_pairs = [f"{a}>{b}" for a in spokes for b in spokes if a != b]
    hub_pairs = [f"{a}>{b}" for a in nations for b in nations if a != b and hub in (a, b)]
    with tempfile.TemporaryDirectory() as tmp:
        runs = {way: _run(scenario, way, Path(tmp)) for way in WAYS}
        signatures = _signature_cost(runs["plain"]["out"])
    plain = runs["plain"]
    for r in runs.values():
        r.pop("out")
        r["same_alerts_as_plain"] = r["alerts"] == plain["alerts"]
        r["spoke_to_spoke_transit_ms"] = _pairs(r["transit_ms"], spoke_pairs)
        r["via_hub_nation_transit_ms"] = _pairs(r["transit_ms"], hub_pairs)
    out = {"scenario": scenario.config.scenario.name, "hub": hub, "runs": runs, "signatures": signatures}

    def ratio(a, b):
        return round(a / b, 2) if a is not None and b else None

    net = [w for w in WAYS if w != "memory"]
    out["ratios_to_plain"] = {
        w: {"latency_p50": ratio(runs[w]["latency_ms"]["p50"], plain["latency_ms"]["p50"]),
            "latency_p99": ratio(runs[w]["latency_ms"]["p99"], plain["latency_ms"]["p99"]),
            "transit_p50": ratio(runs[w]["transit_ms"]["p50"], plain["transit_ms"]["p50"]),
            "transit_p99": ratio(runs[w]["transit_ms"]["p99"], plain["transit_ms"]["p99"])} for w in net}
    out["added_ms"] = {
        "tls (single - plain), transit p50": _diff(runs["single"]["transit_ms"]["p50"], plain["transit_ms"]["p50"]),
        "server hop (mesh - single), transit p50": _diff(runs["mesh"]["transit_ms"]["p50"], runs["single"]["transit_ms"]["p50"]),
        "hub hop (hub spoke-spoke - mesh spoke-spoke), transit p50": _diff(
            runs["hub"]["spoke_to_spoke_transit_ms"]["p50"], runs["mesh"]["spoke_to_spoke_transit_ms"]["p50"]),
        "signatures (seal + open - encode - decode), per message": round(signatures["added_us"] / 1e3, 3),
    }
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"scenario {out['scenario']}; hub {hub}")
    print(f"{'way':>7} {'wall s':>7} {'latency p50/p99 ms':>19} {'transit p50/p99 ms':>19} "
          f"{'spoke-spoke p50':>16} {'lost':>5} {'same alerts':>11}")
    for w in WAYS:
        r = runs[w]
        lat, tr = r["latency_ms"], r["transit_ms"]
        ss = r["spoke_to_spoke_transit_ms"]["p50"]
        print(f"{w:>7} {r['wall_s']:7.1f} {lat['p50']:>9} / {lat['p99']:<7} {str(tr['p50']):>9} / {str(tr['p99']):<7} "
              f"{str(ss):>16} {r['messages']['lost']:>5} {str(r['same_alerts_as_plain']):>11}")
    print("ratios to plain:", json.dumps(out["ratios_to_plain"]))
    s = signatures
    print(f"signatures over {s['messages']} messages: seal {s['seal_us']} us, open {s['open_us']} us per message "
          f"(plain encode {s['encode_us']} us, decode {s['decode_us']} us): {s['added_us']} us added")
    for k, v in out["added_ms"].items():
        print(f"added by {k}: {v} ms")
    return 0


def _diff(a, b):
    return round(a - b, 3) if a is not None and b is not None else None


if __name__ == "__main__":
    sys.exit(main())

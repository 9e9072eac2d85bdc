"""Run a whole scenario: every nation's node, exchanging over NATS (or in memory), step by step.

The scenario clock advances in fixed steps. In each step every node takes its own
sensor reports up to the step's end, releases what it has to say, and the runner
waits until every message published in the step has reached every partner entitled
to it (or a timeout, which counts as loss) before the nodes fuse, predict and warn.
Results therefore do not depend on the machine's speed, and the same seed gives the
same metrics; latency is still measured in wall time per message.
"""

from __future__ import annotations

import asyncio
import logging
import inspect
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from warnlink.evaluation.metrics import compute_metrics
from warnlink.exchange.envelope import Sealer, Verifier
from warnlink.exchange.signing import KeyRing, NodeKey
from warnlink.node import Node, NodeConfig
from warnlink.scenario.sensors import simulate_sensors
from warnlink.scenario.world import build_world

log = logging.getLogger(__name__)

TRANSPORTS = ("nats", "memory")


@dataclass(frozen=True)
class RunOptions:
    transport: str = "nats"
    step_s: float = 1.0
    until_s: float | None = None  # stop early (scenario seconds); default: the scenario's duration
    barrier_timeout_s: float = 5.0  # wait this long for a step's messages before counting them lost
    speed: float | None = None  # pace the clock at this many times real time; None: as fast as possible
    seed: int | None = None  # instead of the scenario's seed (Monte Carlo runs)
    policies: dict | None = None  # nation -> ReleasePolicy (default: release everything to every partner)
    network: Path | None = None  # a federation directory with a network up (`warnlink network up`): run on it
    node: NodeConfig = field(default_factory=NodeConfig)


@dataclass
class RunResult:
    metrics: dict
    out_dir: Path
    wall_s: float
    sim_s: float
    nodes: dict[str, Node]
    world: object
    sensor_run: object


class RunError(RuntimeError):
    """A run that could not be carried out (the message says why)."""


def run_scenario(scenario, out_dir: Path, options: RunOptions | None = None,
                 progress: Callable[[float, float], None] | None = None,
                 on_step: Callable[[float, dict], None] | None = None) -> RunResult:
    """Run ``scenario`` (a loaded :class:`~warnlink.scenario.loader.Scenario`) into ``out_dir``.

    ``progress(t_s, duration_s)`` and ``on_step(t_s, nodes)`` are called after every step.
    """
    return asyncio.run(run_scenario_async(scenario, out_dir, options, progress, on_step))


async def run_scenario_async(scenario, out_dir: Path, options: RunOptions | None = None,
                             progress=None, on_step=None) -> RunResult:
    """:func:`run_scenario` inside a running event loop."""
    options = options or RunOptions()
    if options.transport not in TRANSPORTS:
        raise RunError(f"transport {options.transport!r} is not one of {', '.join(TRANSPORTS)}")
    if options.speed is not None and not options.speed > 0:
        raise RunError(f"speed {options.speed} must be > 0")
    return await _run(scenario, Path(out_dir), options, progress, on_step)


async def _run(scenario, out_dir: Path, options: RunOptions, progress, on_step) -> RunResult:
    started = time.perf_counter()
    cfg = scenario.config
    out_dir.mkdir(parents=True, exist_ok=True)
    seed = cfg.scenario.seed if options.seed is None else options.seed
    world = build_world(scenario, seed)
    duration = float(cfg.scenario.duration_s if options.until_s is None else min(options.until_s, cfg.scenario.duration_s))
    sensor_run = simulate_sensors(cfg.sensors, world.trajectories, duration, scenario.epoch_ns, seed)

    nations = [n.id for n in cfg.nations]
    keys, keyring = _keys(nations, options)
    (out_dir / "keys").mkdir(exist_ok=True)
    keyring.save(out_dir / "keys" / "keyring.json")

    nodes = {
        n: Node(n, partners=[p for p in nations if p != n], areas=scenario.areas, epoch_ns=scenario.epoch_ns,
                sealer=Sealer(keys[n]), verifier=Verifier(keyring, me=n), out_dir=out_dir, config=options.node,
                seed=seed, policy=(options.policies or {}).get(n))
        for n in nations
    }
    exchange = _Exchange(nations, out_dir, options)
    try:
        await exchange.start()
        await _step_loop(nodes, exchange, sensor_run, scenario, duration, options, progress, on_step)
    finally:
        await exchange.stop()
        for node in nodes.values():
            node.close()

    records = {n: node.record for n, node in nodes.items()}
    _save_records(records, out_dir)
    messages = exchange.message_counts(nodes)
    metrics = compute_metrics(cfg.scenario.name, world, sensor_run, records, scenario.areas, messages)
    metrics["transit_ms"] = exchange.transit_summary()
    # Own tracks a filter step took beyond what a missile can be, dropped (each also in the audit log).
    metrics["tracks"] = {"diverged": {n: node.counters.diverged_tracks for n, node in nodes.items()}}
    metrics["run"] = {"transport": "network" if options.network else options.transport, "step_s": options.step_s, "scenario_s": duration,
                      "wall_s": round(time.perf_counter() - started, 3), "seed": seed}
    (out_dir / "metrics.json").write_text(_json(metrics))
    (out_dir / "run.json").write_text(_json({
        "scenario_path": str(Path(scenario.path).resolve()), "scenario": cfg.scenario.name,
        "epoch_ns": scenario.epoch_ns, "nations": nations,
        "transport": "network" if options.network else options.transport,
        "step_s": options.step_s, "scenario_s": duration}))
    return RunResult(metrics, out_dir, time.perf_counter() - started, duration, nodes, world, sensor_run)


def _keys(nations: list[str], options: RunOptions) -> tuple[dict[str, NodeKey], KeyRing]:
    """The nodes' signing keys and the ring they verify against: the federation's, or fresh ones for this run."""
    if options.network is not None:
        from warnlink.exchange.pki import Pki, PkiError

        pki = Pki(options.network)
        try:
            missing = [n for n in nations if n not in pki.nations]
            if missing:
                raise RunError(f"{', '.join(missing)} not in the federation at {options.network} "
                               f"({', '.join(pki.nations)})")
            return {n: pki.signing_key(n) for n in nations}, pki.keyring()
        except PkiError as exc:
            raise RunError(str(exc)) from None
    keys = {n: NodeKey.generate(n) for n in nations}
    keyring = KeyRing()
    for n, key in keys.items():
        keyring.add(n, key.public_bytes())
    return keys, keyring


async def _step_loop(nodes, exchange, sensor_run, scenario, duration, options, progress, on_step) -> None:
    reports = sensor_run.reports
    next_report = 0
    n_steps = int(duration // options.step_s)
    wall0 = time.monotonic()
    for k in range(1, n_steps + 1):
        t_s = k * options.step_s
        if options.speed is not None:  # real time (or N times faster): wait for the wall clock
            ahead = wall0 + t_s / options.speed - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)
        end_ns = scenario.epoch_ns + round(t_s * 1e9)
        while next_report < len(reports) and reports[next_report].report_time_ns <= end_ns:
            report = reports[next_report]
            node = nodes.get(report.nation)
            if node is not None:
                node.sense(report)
            next_report += 1
        batch = []
        for node in nodes.values():
            batch.extend((node.nation, out) for out in node.outgoing(t_s))
        await exchange.exchange(batch)
        for nation, node in nodes.items():
            for subject, data, wall_ns in exchange.take_inbox(nation):
                node.receive(subject, data, wall_ns)
        for node in nodes.values():  # every node's picture first: latency is not held up by predictions
            node.fuse(t_s)
        for node in nodes.values():
            node.assess(t_s)
        if progress is not None:
            progress(t_s, duration)
        if on_step is not None:
            result = on_step(t_s, nodes)
            if inspect.isawaitable(result):  # e.g. a test that acts on the network between steps
                await result


class _Exchange:
    """The transports of every node, and the delivery barrier between steps."""

    def __init__(self, nations: list[str], out_dir: Path, options: RunOptions) -> None:
        self.nations = nations
        self.out_dir = out_dir
        self.options = options
        self.server = None
        self.transports = {}
        self._inbox: dict[str, list[tuple[int, str, bytes, int]]] = {n: [] for n in nations}
        self._arrivals = 0
        # what each recipient still awaits, by content: a stranger's message (a replay, a forgery)
        # cannot stand in for one of the step's own, nor hold the barrier up
        self._pending: dict[str, Counter] = {n: Counter() for n in nations}
        self._published_ns: dict[bytes, int] = {}  # this step's messages: when their publish began
        self.transit_ms: dict[str, list[float]] = {}  # "ORIGIN>PARTNER" -> publish to delivery, per message
        self.published = 0
        self.acked = 0
        self.lost = 0
        self.timeouts = 0

    async def start(self) -> None:
        from warnlink.exchange import transport as tp

        if self.options.network is not None:
            from warnlink.exchange.network import NetworkError, endpoint

            for n in self.nations:
                try:
                    ep = endpoint(self.options.network, n)
                    self.transports[n] = tp.NatsTransport(ep.url, n, tls=ep.ssl_context(), creds=str(ep.creds))
                except (NetworkError, OSError) as exc:
                    raise RunError(f"{n}: {exc}") from None
        elif self.options.transport == "nats":
            from warnlink.exchange.server import NatsServer

            self.server = NatsServer(self.out_dir, self.nations)
            self.server.start()
            for n in self.nations:
                user, password = self.server.credentials(n)
                self.transports[n] = tp.NatsTransport(self.server.url, n, user, password)
        else:
            bus = tp.MemoryBus()
            for n in self.nations:
                self.transports[n] = tp.MemoryTransport(bus, n)
        for n, transport in self.transports.items():
            await transport.connect()
            await transport.subscribe_partners([p for p in self.nations if p != n], self._handler(n))

    def _handler(self, nation: str):
        def handle(subject: str, data: bytes, received_wall_ns: int) -> None:
            self._arrivals += 1
            self._inbox[nation].append((self._arrivals, subject, data, received_wall_ns))
            pending = self._pending[nation]
            key = bytes(data)
            if pending[key] > 0:
                pending[key] -= 1
                if not pending[key]:
                    del pending[key]
                self.transit_ms.setdefault(f"{_origin(subject)}>{nation}", []).append(
                    (received_wall_ns - self._published_ns[key]) / 1e6)
        return handle

    async def exchange(self, batch) -> None:
        """Publish a step's messages and wait until each has reached every partner."""
        if not batch:
            return
        self._published_ns.clear()
        for origin, out in batch:  # before publishing: a fast delivery must find its entry
            self._pending[out.to][bytes(out.data)] += 1
        published_ns = time.time_ns()
        for origin, out in batch:
            self._published_ns[bytes(out.data)] = published_ns
        acks = await asyncio.gather(*(self.transports[origin].publish(out.kind, out.data, out.msg_id, out.to)
                                      for origin, out in batch))
        for (origin, out), acked in zip(batch, acks):
            self.published += 1
            self.acked += bool(acked)
        for transport in self.transports.values():
            await transport.flush()
        deadline = time.monotonic() + self.options.barrier_timeout_s
        while any(self._pending[n] for n in self.nations):
            if time.monotonic() > deadline:
                self.timeouts += 1
                for n in self.nations:  # count the shortfall once and move on
                    self.lost += sum(self._pending[n].values())
                    self._pending[n].clear()
                break
            await asyncio.sleep(0.0005)

    def take_inbox(self, nation: str) -> list[tuple[str, bytes, int]]:
        """This step's deliveries to ``nation`` in a fixed order: by origin, then as published."""
        items, self._inbox[nation] = self._inbox[nation], []
        items.sort(key=lambda item: (_origin(item[1]), item[0]))
        return [(subject, data, wall_ns) for _, subject, data, wall_ns in items]

    def message_counts(self, nodes) -> dict:
        delivered = sum(node.counters.received + sum(node.counters.rejected.values()) for node in nodes.values())
        rejected = sum(sum(node.counters.rejected.values()) for node in nodes.values())
        withheld = sum(node.counters.withheld for node in nodes.values())
        return {"published": self.published, "acknowledged": self.acked, "delivered": delivered,
                "rejected": rejected, "lost": self.lost, "withheld": withheld,
                "transport_errors": sum(len(t.errors) for t in self.transports.values())}

    def transit_summary(self) -> dict:
        """Publish to delivery (ms), over all messages and per origin>partner pair: what the network adds."""
        import numpy as np

        def summary(values) -> dict:
            v = np.asarray(values, float)
            if not v.size:
                return {"p50": None, "p99": None, "max": None, "samples": 0}
            return {"p50": round(float(np.percentile(v, 50)), 3), "p99": round(float(np.percentile(v, 99)), 3),
                    "max": round(float(v.max()), 3), "samples": int(v.size)}

        every = [x for values in self.transit_ms.values() for x in values]
        return {**summary(every), "pairs": {pair: summary(v) for pair, v in sorted(self.transit_ms.items())}}

    async def stop(self) -> None:
        """Close every transport at once (each bounded by its own timeout), then stop the server."""
        closed = await asyncio.gather(*(t.close() for t in self.transports.values()), return_exceptions=True)
        for nation, result in zip(self.transports, closed):
            if isinstance(result, BaseException):  # closing must not hide the run's own error
                log.warning("closing %s's transport: %s", nation, result)
        if self.server is not None:
            self.server.stop()


def _origin(subject: str) -> str:
    parts = subject.split(".")
    return parts[2] if len(parts) > 2 else ""


def _save_records(records, out_dir: Path) -> None:
    path = out_dir / "records"
    path.mkdir(exist_ok=True)
    for nation, record in records.items():
        (path / f"{nation}.json").write_bytes(msgspec.json.encode(record))


def _json(obj) -> str:
    import json

    return json.dumps(obj, indent=2) + "\n"

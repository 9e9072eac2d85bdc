"""`warnlink demo`: the three-nation scenario in real time (or faster) with the live dashboard.

The nodes run exactly as in ``warnlink run`` (a real nats-server by default), paced to
the wall clock; after every step each node's picture goes to the dashboard's board.
When the scenario ends it starts again, so the map is never empty, until Ctrl-C; then
everything this command started (web server, nats-server) is stopped.
"""

from __future__ import annotations

import asyncio
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from warnlink.picture import PictureBuilder, static_picture
from warnlink.runner import RunOptions, run_scenario_async


def default_scenario_path() -> Path:
    return Path(__file__).parent / "scenarios" / "demo.toml"


async def run_demo(scenario, *, speed: float, host: str, port: int, transport: str,
                   out_dir: Path | None, announce: Callable[[str], None], cycles: int | None = None,
                   cot_url: str | None = None, cot_node: str | None = None, network: Path | None = None,
                   policies: dict | None = None) -> None:
    """Serve the dashboard and run the scenario over and over (``cycles`` times, or forever).

    With ``cot_url``, one node's picture (``cot_node``, default the first nation) also
    streams as Cursor-on-Target events, at most twice a wall-clock second.
    """
    from warnlink.interop.cot import CotSender, snapshot_to_cot
    from warnlink.web.picture import PictureBoard
    from warnlink.web.server import start_server

    board = PictureBoard()
    board.set_static(static_picture(scenario, policies))
    cot = None
    cot_node = cot_node or scenario.config.nations[0].id
    if cot_url:
        cot = CotSender(cot_url)
        await cot.open()
        announce(f"Cursor on Target: {cot_node}'s picture to {cot_url}")
    server = await start_server(board, host, port)
    announce(f"dashboard: http://{host}:{server.port}/  (Ctrl-C to stop)")
    last_cot = [0.0]
    pending: set = set()
    base = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="warnlink-demo-"))
    try:
        cycle = 0
        while cycles is None or cycle < cycles:
            cycle += 1
            builders = {n.id: PictureBuilder() for n in scenario.config.nations}

            def on_step(t_s, nodes, builders=builders):
                for nation, node in nodes.items():
                    board.set_cap(nation, node.cap_in_force.values())
                    board.update(nation, builders[nation].snapshot(node, t_s, speed))
                if cot is not None and time.monotonic() - last_cot[0] >= 0.5:
                    last_cot[0] = time.monotonic()
                    task = asyncio.ensure_future(cot.send(snapshot_to_cot(board.snapshot(cot_node), cot_node)))
                    pending.add(task)
                    task.add_done_callback(pending.discard)

            run_dir = base / f"cycle-{cycle}"
            announce(f"scenario {scenario.config.scenario.name}, pass {cycle}, at {speed:g}x; run directory {run_dir}")
            options = RunOptions(transport=transport, speed=speed, network=network, policies=policies)
            await run_scenario_async(scenario, run_dir, options, on_step=on_step)
    finally:
        await server.stop()
        if cot is not None:
            await cot.close()


def main_demo(scenario, **kwargs) -> None:
    """Run :func:`run_demo` until Ctrl-C or SIGTERM, then stop everything it started."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        demo = asyncio.create_task(run_demo(scenario, **kwargs))
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({demo, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if not demo.done():
            demo.cancel()  # its finally blocks close the transports, the nats-server and the web server
            try:
                await demo
            except asyncio.CancelledError:
                pass
        else:
            demo.result()

    asyncio.run(main())

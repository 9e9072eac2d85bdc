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
from collections.abc import Callable
from pathlib import Path

from warnlink.picture import PictureBuilder, static_picture
from warnlink.runner import RunOptions, run_scenario_async


def default_scenario_path() -> Path:
    return Path(__file__).parent / "scenarios" / "demo.toml"


async def run_demo(scenario, *, speed: float, host: str, port: int, transport: str,
                   out_dir: Path | None, announce: Callable[[str], None], cycles: int | None = None) -> None:
    """Serve the dashboard and run the scenario over and over (``cycles`` times, or forever)."""
    from warnlink.web.picture import PictureBoard
    from warnlink.web.server import start_server

    board = PictureBoard()
    board.set_static(static_picture(scenario))
    server = await start_server(board, host, port)
    announce(f"dashboard: http://{host}:{server.port}/  (Ctrl-C to stop)")
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

            run_dir = base / f"cycle-{cycle}"
            announce(f"scenario {scenario.config.scenario.name}, pass {cycle}, at {speed:g}x; run directory {run_dir}")
            await run_scenario_async(scenario, run_dir, RunOptions(transport=transport, speed=speed), on_step=on_step)
    finally:
        await server.stop()


def main_demo(scenario, **kwargs) -> None:
    """Run :func:`run_demo` until Ctrl-C (or SIGTERM), stopping everything it started."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        asyncio.run(run_demo(scenario, **kwargs))
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)

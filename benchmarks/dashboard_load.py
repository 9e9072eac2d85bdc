"""Benchmark: the dashboard server with 20 missiles in the air.

    PYTHONPATH=src python benchmarks/dashboard_load.py [--missiles 20] [--seconds 20] [--clients 3]

A feeder moves N tracks (each with a 120-point history and a predicted-impact ellipse)
and updates three nations' pictures 10 times a second, as `warnlink demo` does at 10x;
``--clients`` browsers' worth of server-sent-event streams read them over HTTP. Prints
the events and bytes per second each client received and the server process's CPU use
(this process runs both feeder and server, so the figure bounds the server's share).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from warnlink.picture import static_picture  # noqa: E402
from warnlink.scenario.loader import PACKAGED, load_scenario  # noqa: E402
from warnlink.web.picture import PictureBoard  # noqa: E402
from warnlink.web.server import start_server  # noqa: E402


def snapshot(n: int, t: float) -> dict:
    tracks = []
    for i in range(n):
        lon0, lat0 = 125.5 + 0.1 * i, 38.5 + 0.05 * i
        lon = lon0 + 0.02 * t
        hist = [[round(lon0 + 0.02 * max(t - k, 0), 4), lat0] for k in range(120, 0, -1)]
        ring = [[round(134 + 0.3 * math.cos(a / 6), 4), round(38 + 0.2 * math.sin(a / 6), 4)] for a in range(37)]
        tracks.append({"id": f"ST-ROK-T{i}", "nations": ["ROK", "JPN", "USA"], "lat_deg": lat0, "lon_deg": lon,
                       "alt_km": 200.0, "speed_mps": 2500.0, "history": hist, "class": "SRBM", "lofted": False,
                       "phase": "midcourse", "time_to_impact_s": 300.0 - t,
                       "iip": {"lat_deg": 38.0, "lon_deg": 134.0, "semi_major_km": 30.0, "ellipse": ring},
                       "launch": {"lat_deg": lat0, "lon_deg": lon0}})
    return {"t_s": t, "utc": "2024-03-18T00:00:00Z", "speed": 10.0, "tracks": tracks, "launch_events": [],
            "alerts_active": [], "alert_log": []}


async def client(port: int, seconds: float, counts: list) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /api/stream?nation=JPN HTTP/1.1\r\nHost: bench\r\n\r\n")
    await writer.drain()
    end = time.monotonic() + seconds
    events = nbytes = 0
    buffer = b""
    while time.monotonic() < end:
        try:
            chunk = await asyncio.wait_for(reader.read(1 << 20), 1.0)
        except asyncio.TimeoutError:
            continue
        nbytes += len(chunk)
        buffer += chunk
        events += buffer.count(b"\ndata: ") + buffer.startswith(b"data: ")
        buffer = buffer[buffer.rfind(b"\n") + 1:]
    writer.close()
    counts.append((events, nbytes))


async def main(args) -> None:
    board = PictureBoard()
    board.set_static(static_picture(load_scenario(PACKAGED / "demo.toml")))
    server = await start_server(board, "127.0.0.1", 0)
    stop = asyncio.Event()

    async def feed():
        t = 0.0
        while not stop.is_set():
            for n in ("ROK", "JPN", "USA"):
                board.update(n, snapshot(args.missiles, t))
            t += 1.0
            await asyncio.sleep(0.1)

    feeder = asyncio.create_task(feed())
    counts: list = []
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.gather(*(client(server.port, args.seconds, counts) for _ in range(args.clients)))
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    stop.set()
    await feeder
    await server.stop()
    size = len(str(snapshot(args.missiles, 0.0)))
    for i, (events, nbytes) in enumerate(counts):
        print(f"client {i}: {events / wall:.1f} pictures/s, {nbytes / wall / 1e3:.0f} kB/s")
    print(f"{args.missiles} missiles, picture ~{size / 1e3:.0f} kB, {args.clients} clients, {wall:.1f} s: "
          f"process CPU {100 * cpu / wall:.0f}% of one core (feeder + server)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--missiles", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=3)
    asyncio.run(main(parser.parse_args()))

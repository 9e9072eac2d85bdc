"""The dashboard's web server: the page, the scenario, each node's picture, and a live stream of it.

``GET /`` the page; ``/static/*`` its assets (in the package: nothing is fetched from
the internet); ``/api/scenario`` nations, sensors with coverage, areas;
``/api/basemap`` coastlines and borders of the region (bundled Natural Earth);
``/api/picture?nation=N`` what node N holds now; ``/cap.atom`` an Atom feed of the CAP
warnings in force, each also at ``/cap/<identifier>.xml``; ``/api/stream?nation=N`` the same as
server-sent events, at most ``MAX_EVENTS_PER_S`` a second; ``/healthz``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
import uvicorn
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles

from warnlink import geodata
from warnlink.web.atom import cap_atom_feed
from warnlink.web.picture import PictureBoard

STATIC = Path(__file__).parent / "static"
MAX_EVENTS_PER_S = 10.0
BASEMAP_TOLERANCE_DEG = 0.03


def region_of(static: dict, pad_deg: float = 4.0) -> tuple[float, float, float, float]:
    """lon0, lat0, lon1, lat1 around every sensor and area of the scenario."""
    lons, lats = [], []
    for s in static.get("sensors", []):
        if s.get("type") == "radar":
            lons.append(s["lon_deg"])
            lats.append(s["lat_deg"])
    for a in static.get("areas", []):
        x0, y0, x1, y1 = shapely.geometry.shape(a["geometry"]).bounds
        lons += [x0, x1]
        lats += [y0, y1]
    if not lons:
        return (120.0, 20.0, 150.0, 50.0)
    return (min(lons) - pad_deg, min(lats) - pad_deg, max(lons) + pad_deg, max(lats) + pad_deg)


def basemap_in(region) -> list[list[list[float]]]:
    """Coastline and border rings clipped to the region, simplified for the browser."""
    box = shapely.box(*region)
    rings = []
    for ring in geodata.basemap_outlines():
        line = shapely.LineString(ring)
        if not line.intersects(box):
            continue
        part = line.intersection(box).simplify(BASEMAP_TOLERANCE_DEG)
        for piece in shapely.get_parts(part):
            coords = shapely.get_coordinates(piece)
            if len(coords) >= 2:
                rings.append(np.round(coords, 3).tolist())
    return rings


def create_app(board: PictureBoard) -> FastAPI:
    app = FastAPI(title="warnlink dashboard", docs_url=None, redoc_url=None)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    cache: dict = {}

    def nation_or_404(nation: str) -> str:
        if nation not in board.nations():
            raise HTTPException(404, detail=f"unknown nation {nation!r}; known: {', '.join(board.nations())}")
        return nation

    @app.get("/")
    def index():
        return FileResponse(STATIC / "index.html")

    @app.get("/healthz")
    def healthz():
        return {"ok": True, "version": board.version}

    @app.get("/api/scenario")
    def scenario():
        return {**board.static(), "region": region_of(board.static())}

    @app.get("/api/basemap")
    def basemap():
        region = region_of(board.static())
        if cache.get("region") != region:
            cache["region"], cache["rings"] = region, basemap_in(region)
        return {"region": region, "rings": cache["rings"]}

    @app.get("/api/picture")
    def picture(nation: str = Query(..., min_length=2, max_length=8, pattern="^[A-Z]+$")):
        snap = board.snapshot(nation_or_404(nation))
        return JSONResponse(snap if snap is not None else {"t_s": None, "tracks": [], "alerts_active": [],
                                                            "alert_log": [], "launch_events": []})

    @app.get("/cap.atom")
    def cap_feed(request: Request):
        base = str(request.base_url).rstrip("/")
        body = cap_atom_feed(board.cap_messages(), base, f"warnlink warnings in force: {board.static().get('scenario', '')}",
                             time.time_ns())
        return Response(body, media_type="application/atom+xml")

    @app.get("/cap/{identifier}.xml")
    def cap_message(identifier: str):
        for m in board.cap_messages():
            if m.identifier == identifier:
                return Response(m.xml, media_type="application/cap+xml")
        raise HTTPException(404, detail=f"no CAP message {identifier!r} in force")

    @app.get("/api/stream")
    async def stream(nation: str = Query(..., min_length=2, max_length=8, pattern="^[A-Z]+$")):
        nation_or_404(nation)

        async def events():
            version = -1
            while True:
                new = await board.wait_for_change(version, timeout=15.0)
                if new == version:
                    yield ": keep-alive\n\n"
                    continue
                version = new
                snap = board.snapshot(nation)
                if snap is not None:
                    yield f"data: {json.dumps(snap, separators=(',', ':'))}\n\n"
                await asyncio.sleep(1.0 / MAX_EVENTS_PER_S)

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return app


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: Ctrl-C belongs to the command, which stops everything."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield

    def install_signal_handlers(self) -> None:  # older uvicorn
        return None


@dataclass
class RunningServer:
    server: uvicorn.Server
    task: asyncio.Task
    port: int

    async def stop(self) -> None:
        self.server.should_exit = True
        try:
            await asyncio.wait_for(self.task, timeout=5.0)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            self.task.cancel()


async def start_server(board: PictureBoard, host: str, port: int) -> RunningServer:
    """Serve the dashboard in the running event loop; returns once it listens (port 0: any free port)."""
    config = uvicorn.Config(create_app(board), host=host, port=port, log_level="warning", lifespan="off")
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        if task.done():
            task.result()  # raises the reason (port taken, ...)
            raise OSError(f"dashboard server on {host}:{port} stopped at once")
        await asyncio.sleep(0.025)
    bound = server.servers[0].sockets[0].getsockname()[1] if server.servers else port
    return RunningServer(server, task, bound)

"""The dashboard: its API with a test client, and the page in a real Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from warnlink.picture import static_picture
from warnlink.scenario.loader import PACKAGED, load_scenario
from warnlink.web.picture import PictureBoard
from warnlink.web.server import create_app, start_server

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def _snapshot(t_s: float, nation: str, warned: bool) -> dict:
    """A picture with one track moving east (and, for JPN, a second one), as the runner would give."""
    lon = 128.0 + 0.05 * t_s
    tracks = [{"id": "ST-ROK-T1", "nations": ["ROK", "USA"], "lat_deg": 39.0, "lon_deg": lon, "alt_km": 150.0,
               "speed_mps": 2500.0, "history": [[128.0, 39.0], [lon, 39.0]], "class": "SRBM", "lofted": False,
               "phase": "midcourse", "time_to_impact_s": 200.0 - t_s,
               "iip": {"lat_deg": 38.5, "lon_deg": 134.5, "semi_major_km": 20.0,
                       "ellipse": [[134.3, 38.4], [134.7, 38.4], [134.7, 38.6], [134.3, 38.6]]},
               "launch": {"lat_deg": 39.0, "lon_deg": 127.9}}]
    if nation == "JPN":
        tracks.append({**tracks[0], "id": "ST-JPN-T2", "lat_deg": 37.0, "history": [[130.0, 37.0], [lon, 37.0]]})
    active = [{"alert_id": "a1", "area_id": "JPN-EEZ", "kind": "impact", "probability": 0.9, "track": "ST-ROK-T1",
               "expected_t_s": 200.0}] if warned else []
    return {"t_s": t_s, "utc": "2024-03-18T00:00:10Z", "speed": 10.0, "tracks": tracks, "launch_events": [],
            "alerts_active": active,
            "alert_log": [{"t_s": 5.0, "msg_type": "Alert", "area_id": "JPN-EEZ", "kind": "impact", "probability": 0.9,
                           "track": "ST-ROK-T1", "identifier": "x"}] if warned else []}


@pytest.fixture(scope="module")
def board():
    b = PictureBoard()
    b.set_static(static_picture(load_scenario(PACKAGED / "demo.toml")))
    for n in ("ROK", "JPN", "USA"):
        b.update(n, _snapshot(10.0, n, warned=(n == "JPN")))
    return b


def test_api(board):
    client = TestClient(create_app(board))
    assert client.get("/healthz").json()["ok"]
    assert "warnlink" in client.get("/").text
    assert client.get("/static/app.js").status_code == 200
    scenario = client.get("/api/scenario").json()
    assert scenario["nations"] == ["ROK", "JPN", "USA"] and len(scenario["sensors"]) == 10
    assert len(client.get("/api/basemap").json()["rings"]) > 10
    picture = client.get("/api/picture", params={"nation": "JPN"}).json()
    assert [t["id"] for t in picture["tracks"]] == ["ST-ROK-T1", "ST-JPN-T2"]
    missing = client.get("/api/picture", params={"nation": "PRK"})
    assert missing.status_code == 404 and "PRK" in missing.json()["detail"]
    assert client.get("/api/picture", params={"nation": "r0k"}).status_code == 422
    assert client.get("/api/picture").status_code == 422


def test_stream_sends_each_new_picture(board):
    async def scenario():
        server = await start_server(board, "127.0.0.1", 0)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET /api/stream?nation=USA HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(0.2)
            board.update("USA", _snapshot(42.0, "USA", False))
            data = b""
            while b"42.0" not in data:
                data += await asyncio.wait_for(reader.read(65536), 5.0)
            writer.close()
            return data
        finally:
            await server.stop()

    data = asyncio.run(scenario())
    assert b"text/event-stream" in data and b'"t_s":42.0' in data


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
def test_dashboard_in_a_real_browser(tmp_path):
    exe = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if exe is None or sync_playwright is None:
        if os.environ.get("WARNLINK_REQUIRE_BROWSER"):
            pytest.fail("Chromium or Playwright missing but WARNLINK_REQUIRE_BROWSER is set (./run test installs them)")
        pytest.skip("no Chromium/Playwright here; ./run test installs them")
    board = PictureBoard()
    board.set_static(static_picture(load_scenario(PACKAGED / "demo.toml")))
    stop = threading.Event()
    port_box = {}

    def serve():
        async def main():
            server = await start_server(board, "127.0.0.1", 0)
            port_box["port"] = server.port
            t = 0.0
            while not stop.is_set():  # a feeder: tracks move east, JPN's area lights up
                t += 1.0
                for n in ("ROK", "JPN", "USA"):
                    board.update(n, _snapshot(t, n, warned=(n == "JPN")))
                await asyncio.sleep(0.1)
            await server.stop()
        asyncio.run(main())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    for _ in range(100):
        if "port" in port_box:
            break
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port_box['port']}/"
    errors = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"])
            page = browser.new_page(viewport={"width": 1400, "height": 850})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            page.wait_for_selector("circle.head[data-track='ST-ROK-T1']", timeout=10_000)
            x1 = float(page.get_attribute("circle.head[data-track='ST-ROK-T1']", "cx"))
            page.wait_for_timeout(800)
            x2 = float(page.get_attribute("circle.head[data-track='ST-ROK-T1']", "cx"))
            assert x2 > x1, "the track does not move"
            # ROK's node: one track, no warning of its own.
            assert page.locator("#tracks tbody tr").count() == 1
            page.select_option("#nation", "JPN")
            page.wait_for_selector("circle.head[data-track='ST-JPN-T2']", timeout=5_000)
            page.wait_for_selector("path.area.warned[data-area='JPN-EEZ']", timeout=5_000)
            assert page.locator("#tracks tbody tr").count() == 2
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "dashboard-test.png"))
            browser.close()
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not errors, errors


def test_cap_atom_feed_of_the_warnings_in_force(board):
    import feedparser
    import numpy as np
    from capvalidator import Validator
    from shapely.geometry import box

    from warnlink.node import CapMessage
    from warnlink.warning import AlertManager, Area, Ellipse, TrackPrediction, to_cap_xml

    area = Area(id="JPN-EEZ", nation="JPN", geometry=box(134.0, 37.0, 137.0, 40.0), name="Japan EEZ")
    manager = AlertManager("JPN", [area], "warnlink.JPN", epoch_utc_ns=1_710_720_000 * 10**9)
    ellipse = Ellipse.from_covariance(np.radians(38.5), np.radians(135.0), np.eye(2) * 1e8)
    (event,) = manager.step(10.0, [TrackPrediction("ST-ROK-T1", {"JPN-EEZ": 0.9}, impact_time_s=300.0, ellipse=ellipse)])
    message = CapMessage(event.identifier, event.msg_type, event.area_name, event.kind, event.issued_utc_ns,
                         to_cap_xml(event))
    board.set_cap("JPN", [message])
    client = TestClient(create_app(board))
    response = client.get("/cap.atom")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    (entry,) = feed.entries
    assert entry.id == f"urn:warnlink:cap:{event.identifier}" and "Japan EEZ" in entry.title
    link = next(link["href"] for link in entry.links if link.get("type") == "application/cap+xml")
    cap = client.get(link.replace("http://testserver", ""))
    assert cap.status_code == 200 and Validator(cap.content).schema()[0]
    assert client.get("/cap/nothing.xml").status_code == 404
    board.set_cap("JPN", [])
    assert feedparser.parse(client.get("/cap.atom").content).entries == []


def _browser_or_skip():
    exe = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if exe is None or sync_playwright is None:
        if os.environ.get("WARNLINK_REQUIRE_BROWSER"):
            pytest.fail("Chromium or Playwright missing but WARNLINK_REQUIRE_BROWSER is set")
        pytest.skip("no Chromium/Playwright here; ./run test installs them")
    return exe, sync_playwright


def _with_real_demo(tmp_path, extra_args, look):
    """Start `warnlink demo` at 40x, let ``look(page)`` look at it in Chromium, then Ctrl-C it.

    Checks: no console errors, exit status 0, no nats-server of this demo left running.
    """
    import re
    import signal
    import subprocess
    import sys

    exe, sync_playwright = _browser_or_skip()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "warnlink", "demo", "--speed", "40", "--port", str(port),
                             "--out", str(tmp_path / "demo"), *map(str, extra_args)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    errors = []
    try:
        line = proc.stdout.readline()
        assert re.search(rf"http://127\.0\.0\.1:{port}/", line), line
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"])
            page = browser.new_page(viewport={"width": 1400, "height": 850})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"http://127.0.0.1:{port}/")
            look(page)
            browser.close()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, proc.stdout.read()
    assert not errors, errors
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            cmd = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        assert not ("nats-server" in cmd and str(tmp_path / "demo") in cmd), "nats-server left running"


@pytest.mark.slow
def test_real_demo_in_a_real_browser(tmp_path):
    """`warnlink demo` itself (nodes over a real nats-server) at 40x, seen in Chromium, then Ctrl-C."""

    def look(page):
        page.select_option("#nation", "JPN")
        page.wait_for_selector("circle.head", timeout=30_000)
        # Where each track's head is now; then a head of one of those same tracks must move. No
        # fixed pause: under the full suite's load the nodes can run well below 40x.
        seen = page.evaluate("Object.fromEntries([...document.querySelectorAll('circle.head')]"
                             ".map(c => [c.dataset.track, c.getAttribute('cx') + ',' + c.getAttribute('cy')]))")
        page.wait_for_function("seen => [...document.querySelectorAll('circle.head')].some(c => "
                               "c.dataset.track in seen && seen[c.dataset.track] !== "
                               "c.getAttribute('cx') + ',' + c.getAttribute('cy'))", arg=seen, timeout=30_000)
        # Japan's node warns its EEZ of the lofted ICBM (M1, at t = 208 s, once its third stage
        # has burnt out) and of the SRBM (M3). While missiles fly the nodes run slower than 40x
        # (three nodes and the browser on 2 cores): the wait is for the picture, not the clock.
        page.wait_for_selector("path.area.warned[data-area='JPN-EEZ']", timeout=120_000)
        assert page.locator("#log li").count() >= 1
        page.wait_for_timeout(500)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"))
        page.select_option("#nation", "ROK")  # ROK has no warning of Japan's areas to show
        page.wait_for_function("document.querySelectorAll('path.area.warned').length === 0", timeout=10_000)

    _with_real_demo(tmp_path, [], look)


@pytest.mark.slow
def test_demo_on_the_federated_network_shows_what_each_partner_releases(tmp_path):
    """`warnlink demo --network --policies`: the nodes on a hub network over mutual TLS, the USA
    releasing to ROK only what threatens ROK and to JPN coarsened tracks; the nation selector
    shows each node what it was given, and the USA's node what it withheld."""
    from typer.testing import CliRunner

    from warnlink.cli import app
    from warnlink.exchange.network import Network

    fed = tmp_path / "fed"
    assert CliRunner().invoke(app, ["pki", "init", str(fed), "--nations", "ROK,JPN,USA"]).exit_code == 0
    assert CliRunner().invoke(app, ["network", "up", str(fed), "--hub", "USA"]).exit_code == 0
    policies = Path(__file__).parent / "policies"

    def row(page, partner):
        return [c.inner_text() for c in page.locator(f"#sharing tr[data-partner='{partner}'] td").all()]

    def look(page):
        page.select_option("#nation", "ROK")
        page.wait_for_selector("#sharing tr[data-partner='USA']", timeout=30_000)
        usa = row(page, "USA")
        assert usa[1] == "only tracks threatening ROK" and usa[3] == "every track", usa
        page.select_option("#nation", "JPN")
        page.wait_for_function("document.querySelector(\"#sharing tr[data-partner='USA'] td:nth-child(3)\")"
                               "?.textContent > 0", timeout=40_000)
        usa = row(page, "USA")
        assert usa[1] == "every track; without sensor identities and accelerations; positions to 10 km", usa
        page.wait_for_function("[...document.querySelectorAll('#tracks td:last-child')]"
                               ".some(td => td.textContent.includes('USA'))", timeout=30_000)
        page.select_option("#nation", "USA")  # the USA's own node: what it kept from ROK
        page.wait_for_function("Number(document.querySelector(\"#sharing tr[data-partner='ROK'] td:nth-child(6)\")"
                               "?.textContent) > 0", timeout=40_000)
        assert int(row(page, "ROK")[4]) >= 0 and int(row(page, "JPN")[5]) == 0

    try:
        _with_real_demo(tmp_path, ["--network", fed, "--policies", policies], look)
    finally:
        assert set(Network(fed).down()) == {"ROK", "JPN", "USA"}

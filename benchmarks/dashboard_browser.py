"""Benchmark: how long Chromium takes to draw each picture with 20 missiles in the air.

    PYTHONPATH=src python benchmarks/dashboard_browser.py [--missiles 20] [--seconds 15]

Serves the dashboard with the synthetic feeder of dashboard_load.py (N tracks with
120-point histories and impact ellipses, 10 pictures a second), opens it in Debian's
Chromium through Playwright, and prints the page's own draw time per picture (p50, p99,
max; a frame at 60 Hz has 16.7 ms) and how many pictures it drew per second.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dashboard_load import snapshot  # noqa: E402

from warnlink.picture import static_picture  # noqa: E402
from warnlink.scenario.loader import PACKAGED, load_scenario  # noqa: E402
from warnlink.web.picture import PictureBoard  # noqa: E402
from warnlink.web.server import start_server  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--missiles", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium")
    if exe is None:
        parser.exit(2, "chromium not found (apt-get install chromium)\n")
    board = PictureBoard()
    board.set_static(static_picture(load_scenario(PACKAGED / "demo.toml")))
    stop, box = threading.Event(), {}

    def serve():
        async def run():
            server = await start_server(board, "127.0.0.1", 0)
            box["port"] = server.port
            t = 0.0
            while not stop.is_set():
                for n in ("ROK", "JPN", "USA"):
                    board.update(n, snapshot(args.missiles, t))
                t += 1.0
                await asyncio.sleep(0.1)
            await server.stop()
        asyncio.run(run())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    while "port" not in box:
        time.sleep(0.05)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu",
                                    "--disable-background-networking", "--disable-component-update"])
        page = browser.new_page(viewport={"width": 1400, "height": 850})
        page.goto(f"http://127.0.0.1:{box['port']}/")
        page.select_option("#nation", "JPN")
        page.wait_for_selector("circle.head")
        page.evaluate("window.warnlinkDrawTimes.length = 0")
        page.wait_for_timeout(args.seconds * 1000)
        times = sorted(page.evaluate("Array.from(window.warnlinkDrawTimes)"))
        browser.close()
    stop.set()
    thread.join(timeout=10)
    if not times:
        print("no pictures drawn")
        return 1
    q = lambda f: times[min(int(f * len(times)), len(times) - 1)]  # noqa: E731
    print(f"{args.missiles} missiles: {len(times) / args.seconds:.1f} pictures drawn/s; draw time p50 {q(0.5):.1f} ms, "
          f"p99 {q(0.99):.1f} ms, max {times[-1]:.1f} ms (60 Hz frame: 16.7 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

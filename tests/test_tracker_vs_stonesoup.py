"""The peer comparison runs: both trackers hold two ballistic targets on identical measurements."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("stonesoup")
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_both_trackers_track_both_targets():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "tracker_vs_stonesoup.py"), "--targets", "2",
                          "--duration-s", "40", "--json"], capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stdout)
    assert figures["warnlink_tracks"] == 2 and figures["stonesoup_tracks"] == 2
    # 20 m / 1 mrad at 600-900 km: a few hundred metres of cross-range noise per plot, less once filtered.
    assert 5.0 < figures["warnlink_rmse_m"] < 400.0
    assert 5.0 < figures["stonesoup_rmse_m"] < 1000.0
    for key in ("warnlink_s_per_update", "stonesoup_s_per_update", "speedup"):
        assert figures[key] > 0

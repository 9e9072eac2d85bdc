"""The track-start benchmark: its band shares on known inputs, its start's knob, its errors,
and a short run of one nation's tracker on a depressed SRBM."""

from __future__ import annotations

import json
from functools import partial

import pytest
from conftest import benchmark_module, run_benchmark

SCRIPT = "track_start.py"


_run = partial(run_benchmark, SCRIPT, timeout=180)


def test_band_shares_of_known_runs():
    """Only seconds every run has count; a run mean of 3 is inside its band, 0.5 under it, 9 over it."""
    ts = benchmark_module(SCRIPT)
    runs = [{10: (3.0, 3.0, 4.0, 0.5), 11: (0.5, 1.0, 1.0, 0.1), 12: (9.0, 9.0, 1.0, 0.0), 13: (3.0, 3.0, 1.0, 0.0)},
            {10: (3.0, 3.0, 16.0, 0.5), 11: (0.5, 1.0, 1.0, 0.1), 12: (9.0, 9.0, 1.0, 0.0)}]
    out = ts.summarise(runs)
    assert out["seconds"] == 3
    assert (out["in_band"], out["under"], out["over"]) == (pytest.approx(1 / 3, abs=1e-3),) * 3
    assert out["out_of_band_s"] == [11, 12]
    assert out["steps"][0] == {"t_s": 10, "nees": 3.0, "velocity_nees": 3.0, "rmse_m": pytest.approx(10**0.5, abs=0.1),
                               "burning_probability": 0.5}


def test_bad_arguments_are_named():
    for args, word in ((["--nation", "XX"], "XX"), (["--launch", "M9"], "M9"), (["--start-burning", "1.5"], "1.5"),
                       (["--seeds", "1"], "--seeds"), (["--cued", "--start-burning", "0.5"], "--cued")):
        out = _run(*args, timeout=60)
        assert out.returncode != 0
        assert word in out.stderr


@pytest.mark.slow
def test_the_start_knob_reaches_the_tracker():
    """The USA's radars pick the depressed SRBM up after its burnout: a track started as
    surely burning says so at its first second, one started as surely coasting does not, nor
    one cued by partners that held the missile through its burnout (tracking.cue)."""
    burning, coasting, cued = (json.loads(_run("--nation", "USA", "--seeds", "2", "--until-s", "90", "--workers", "1",
                                               *start, "--json").stdout)
                               for start in (("--start-burning", "0.9"), ("--start-burning", "0.1"), ("--cued",)))
    assert burning["start_burning"] == 0.9 and coasting["start_burning"] == 0.1
    assert cued["cued"] and not burning["cued"]
    assert cued["steps"][0]["burning_probability"] < 0.1
    for out in (burning, coasting, cued):
        assert out["seconds"] > 5
        assert out["in_band"] + out["under"] + out["over"] == pytest.approx(1.0, abs=1e-3)
        assert [s["t_s"] for s in out["steps"]] == sorted(s["t_s"] for s in out["steps"])
    assert burning["steps"][0]["burning_probability"] > 0.5 > coasting["steps"][0]["burning_probability"]

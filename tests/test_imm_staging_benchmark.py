"""The IMM staging benchmark runs, and what it reports of a lofted ICBM's boost is the flight's."""

from __future__ import annotations

import json
from functools import partial

import pytest
from conftest import run_benchmark


_run = partial(run_benchmark, "imm_staging.py")


@pytest.mark.slow
def test_imm_staging_reports_each_stage_and_burnout():
    out = _run("--launch", "M1", "--seeds", "2", "--workers", "1", "--json", timeout=300)
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stdout)
    assert figures["launch"] == "M1" and figures["nation"] == "all" and figures["seeds"] == [1, 2]
    # The demo's M1 burns three stages of 45.7 s from t = 60 s; its radars pick it up within 30 s.
    assert [s["burn_s"] for s in figures["stages"]] == [[60.0, 105.7], [105.7, 151.3], [151.3, 197.0]]
    assert [t["kind"] for t in figures["transitions"]] == ["staging", "staging", "burnout"]
    assert 60 < figures["seconds_in_boost"] <= 137
    burnout = figures["transitions"][-1]
    # Within 10 s of burnout the tracker has it coasting and its thrust estimate gone.
    assert burnout["max_ballistic_probability"] > 0.9
    assert burnout["lowest_accel_mps2"] < 5.0
    for staging in figures["transitions"][:2]:
        # The thrust falls to a third at a staging, and the estimate follows it down.
        assert staging["lowest_accel_mps2"] < 0.6 * 120.0
        assert 0.0 <= staging["max_staging_probability"] <= 1.0
    for key in ("boost_under_band", "boost_over_band", "post_burnout_under_band", "post_burnout_over_band"):
        assert 0.0 <= figures[key] <= 1.0


def test_bad_launch_is_named():
    out = _run("--launch", "M9", "--seeds", "1")
    assert out.returncode == 2
    assert "no launch 'M9'" in out.stderr and "M1" in out.stderr


def test_bad_nation_is_named():
    out = _run("--nation", "XX", "--seeds", "1")
    assert out.returncode == 2
    assert "no sensors of nation 'XX'" in out.stderr and "JPN" in out.stderr


def test_too_short_a_run_is_named():
    out = _run("--launch", "M1", "--duration-s", "100", "--seeds", "1")
    assert out.returncode == 2
    assert "--duration-s 100 ends before M1's burnout" in out.stderr

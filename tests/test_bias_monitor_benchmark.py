"""The discrepancy monitor benchmark: its unbiased twin, its threshold set and restored, and a
short run of the biased radar's nodes."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest
from conftest import benchmark_module, run_benchmark

SCRIPT = "bias_monitor.py"
HARD_BIAS = Path(__file__).resolve().parent.parent / "src" / "warnlink" / "scenarios" / "hard-bias.toml"

_run = partial(run_benchmark, SCRIPT)


def test_the_unbiased_twin_keeps_everything_but_the_bias():
    bm = benchmark_module(SCRIPT)
    from warnlink.scenario.loader import load_scenario

    scenario = load_scenario(HARD_BIAS)
    twin = bm.unbiased(scenario)
    assert any(s.bias_azimuth_mrad == 2.0 for s in scenario.config.sensors)
    assert all(getattr(s, f, 0.0) == 0.0 for s in twin.config.sensors for f in bm.BIAS_FIELDS)
    assert [s.id for s in twin.config.sensors] == [s.id for s in scenario.config.sensors]
    assert [getattr(s, "sigma_azimuth_mrad", None) for s in twin.config.sensors] == \
        [getattr(s, "sigma_azimuth_mrad", None) for s in scenario.config.sensors]


@pytest.mark.slow
def test_a_threshold_of_nothing_flags_and_none_never_does():
    """At a threshold of 0 every member that has a partner is flagged; at inf none is; either way
    the monitor's own default is back afterwards."""
    bm = benchmark_module(SCRIPT)
    from warnlink.fusion import bias

    always = bm._one((str(HARD_BIAS), 1, "JPN", 0.0, False, 120.0))
    never = bm._one((str(HARD_BIAS), 1, "JPN", float("inf"), False, 120.0))
    assert bias.DiscrepancyMonitor().flag_d2 == bias.FLAG_D2
    assert sum(always["flagged"].values()) > 0 and set(always["flagged"]) == set(always["distances"])
    assert sum(never["flagged"].values()) == 0
    assert always["nees"] and set(always["nees"]) == set(never["nees"])  # the same steps, fused differently


@pytest.mark.slow
def test_a_short_run_of_the_biased_radar():
    out = _run("--seeds", "2", "--workers", "1", "--until-s", "200", "--flag-d2", "9", "inf", "--unbiased",
               "--json", timeout=300)
    assert out.returncode == 0, out.stderr
    from warnlink.fusion.bias import FLAG_D2

    figures = json.loads(out.stdout)
    assert figures["node"] == "JPN" and figures["seeds"] == [1, 2]
    assert list(figures["variants"]) == ["flag_d2=9", "flag_d2=inf", f"unbiased, flag_d2={FLAG_D2:g}"]
    for variant in figures["variants"].values():
        assert variant["steps"] > 100
        shares = variant["nees_in_band_fraction"] + variant["nees_above_band_fraction"] + variant["nees_below_band_fraction"]
        assert shares == pytest.approx(1.0, abs=0.002)
        assert set(variant["least_distance"]) == {"JPN", "ROK", "USA"}
    assert figures["variants"]["flag_d2=inf"]["least_distance"]["ROK"]["flagged_steps"] == 0


def test_bad_arguments_are_named(tmp_path):
    for args, named in ((("--seeds", "0"), "--seeds"), (("--flag-d2", "-1"), "--flag-d2"),
                        (("--flag-d2", "nan"), "--flag-d2"), (("--node", "FRA"), "'FRA'"),
                        (("--scenario", str(tmp_path / "none.toml")), "none.toml")):
        out = _run(*args)
        assert out.returncode == 2 and named in out.stderr, (args, out.stderr)

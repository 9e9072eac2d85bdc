"""The fusion correlation benchmark: its fusion rules and its correlation measure on known
inputs, and a short run of the demo's nodes."""

from __future__ import annotations

import json
from functools import partial

import numpy as np
import pytest
from conftest import benchmark_module, run_benchmark

SCRIPT = "fusion_correlation.py"


_run = partial(run_benchmark, SCRIPT)


def test_the_rules_on_two_equal_tracks():
    """Two tracks with the same covariance P, half of it declared shared: the product halves P,
    split CI keeps the shared half whole (P / 2 + Pd / 2 = 3 P / 4), the node's rule is split CI
    but the product once both have burnt without doubt long enough, the best member is one of them."""
    fc = benchmark_module(SCRIPT)
    P = np.diag([100.0, 100.0, 100.0, 1.0, 1.0, 1.0])
    x = np.stack([np.zeros(6), np.full(6, 2.0)])
    Ps, Pis = np.stack([P, P]), np.stack([P / 2, P / 2])
    xf, Pf = fc.fuse("product", x, Ps, Pis)
    np.testing.assert_allclose(Pf, P / 2)
    np.testing.assert_allclose(xf, np.ones(6))
    xf, Pf = fc.fuse("split_ci", x, Ps, Pis)
    np.testing.assert_allclose(Pf, 0.75 * P, rtol=1e-3)
    np.testing.assert_allclose(xf, np.ones(6), rtol=1e-3)
    from warnlink.fusion.system_tracks import STEADY_BURN_S

    for steady_s, fused in (([STEADY_BURN_S, STEADY_BURN_S + 1], P / 2), ([STEADY_BURN_S, -np.inf], 0.75 * P)):
        np.testing.assert_allclose(fc.fuse("node", x, Ps, Pis, steady_s)[1], fused, rtol=1e-3)
    Ps[1] *= 4.0
    xf, Pf = fc.fuse("best_member", x, Ps, Pis)
    np.testing.assert_array_equal(xf, x[0])
    np.testing.assert_array_equal(Pf, P)


def test_the_correlation_measure():
    """Errors the same in both tracks measure 1, opposite -1, independent near 0; the declared
    share is the square root of the product of the two shares."""
    fc = benchmark_module(SCRIPT)
    rng = np.random.default_rng(1)
    e = rng.normal(size=(400, 3))
    other = rng.normal(size=(400, 3))
    shared = {"position": (0.25, 1.0 / 9.0), "velocity": (1.0, 1.0)}  # tr(Pd) / tr(P), a's and b's

    def pairs(eb):
        return [fc.PairSample(("JPN", "ROK"), {"position": (ea, b), "velocity": (ea, b)}, shared)
                for ea, b in zip(e, eb)]

    assert fc._correlation(pairs(e))["position"][0] == pytest.approx(1.0)
    assert fc._correlation(pairs(-e))["velocity"][0] == pytest.approx(-1.0)
    measured, declared = fc._correlation(pairs(other))["position"]
    assert abs(measured) < 0.15
    assert declared == pytest.approx(np.sqrt(0.25 * 1.0 / 9.0))
    assert fc._correlation(pairs(other))["velocity"][1] == pytest.approx(1.0)


@pytest.mark.slow
def test_a_short_run_of_the_demo():
    out = _run("--seeds", "2", "--workers", "1", "--until-s", "260", "--json", timeout=300)
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stdout)
    assert figures["node"] == "ROK" and figures["seeds"] == [1, 2]
    boost = figures["by_launch_phase"]["M1.boost"]
    # M1 burns from 60 s to 197 s; the first radars have it within 30 s, every nation soon after.
    assert 100 <= boost["seconds"] <= 137
    assert set(boost["rules"]) == {"node", "split_ci", "product", "best_member"}
    assert set(boost["pairs"]) == {"JPN-ROK", "JPN-USA", "ROK-USA"}
    for pair in boost["pairs"].values():
        assert -1.0 <= pair["position_correlation_measured"] <= 1.0
        assert 0.0 < pair["velocity_shared_declared"] < 1.0
    # Split CI never trusts the fused estimate more than the product does: at least as many
    # seconds under the band, no more over it.
    assert boost["rules"]["split_ci"]["under"] >= boost["rules"]["product"]["under"]
    assert boost["rules"]["split_ci"]["over"] <= boost["rules"]["product"]["over"]


def test_bad_node_is_named():
    out = _run("--node", "XX", "--seeds", "1")
    assert out.returncode == 2
    assert "no node 'XX'" in out.stderr and "JPN" in out.stderr

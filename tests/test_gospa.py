"""GOSPA against Stone Soup's GOSPAMetric, the peer that defines it for tracking people."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from warnlink.evaluation.gospa import gospa


def _stonesoup_gospa(tracks, truths, c, p):
    from stonesoup.measures import Euclidean
    from stonesoup.metricgenerator.ospametric import GOSPAMetric
    from stonesoup.types.state import State

    now = datetime.datetime(2024, 1, 1)
    metric = GOSPAMetric(p=p, c=c, measure=Euclidean(mapping=(0, 1, 2)))
    out, _ = metric.compute_gospa_metric([State(np.asarray(t, float)[:, None], timestamp=now) for t in tracks],
                                         [State(np.asarray(t, float)[:, None], timestamp=now) for t in truths])
    return out.value


@pytest.mark.parametrize("n_tracks, n_truths", [(0, 3), (4, 0), (3, 3), (5, 2), (2, 6)])
def test_gospa_equals_stonesoup(n_tracks, n_truths):
    rng = np.random.default_rng(n_tracks * 10 + n_truths)
    truths = rng.normal(size=(n_truths, 3)) * 20e3
    tracks = np.concatenate([truths[: min(n_tracks, n_truths)] + rng.normal(size=(min(n_tracks, n_truths), 3)) * 3e3,
                             rng.normal(size=(max(0, n_tracks - n_truths), 3)) * 20e3])
    mine = gospa(tracks, truths, c=10e3, p=2.0)
    peer = _stonesoup_gospa(tracks, truths, 10e3, 2.0)
    assert mine.distance == pytest.approx(peer["distance"], rel=1e-9, abs=1e-9)
    assert mine.localisation == pytest.approx(peer["localisation"], rel=1e-9, abs=1e-9)
    # Stone Soup reports missed and false as their cost (c^p / 2 each), warnlink as counts.
    assert mine.missed * 10e3**2 / 2 == pytest.approx(peer["missed"])
    assert mine.false * 10e3**2 / 2 == pytest.approx(peer["false"])


def test_gospa_by_hand():
    assert gospa(np.zeros((0, 3)), np.zeros((0, 3))).distance == 0.0
    truths = np.array([[0.0, 0.0, 0.0], [100e3, 0.0, 0.0]])
    tracks = np.array([[30.0, 40.0, 0.0], [0.0, 50e3, 0.0]])  # one 50 m off, one false (and one missed)
    g = gospa(tracks, truths, c=10e3)
    assert (g.missed, g.false) == (1, 1)
    assert g.localisation == pytest.approx(2500.0)
    assert g.distance == pytest.approx(np.sqrt(2500.0 + 10e3**2))

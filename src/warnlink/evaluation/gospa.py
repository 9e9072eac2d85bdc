"""GOSPA: one number for how well a picture's tracks match the missiles in the air.

The generalised optimal sub-pattern assignment metric (Rahmathullah, García-Fernández
and Svensson, 2017) with alpha = 2 splits into the localisation error of the tracks
assigned to missiles, plus c^p / 2 for every missile without a track (missed) and every
track without a missile (false). Written here (a dozen lines on scipy's assignment)
so that ``warnlink evaluate`` needs no tracking framework; the tests check it against
Stone Soup's ``GOSPAMetric``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass(frozen=True)
class Gospa:
    distance: float  # (localisation + missed + false) ** (1 / p), metres
    localisation: float  # sum over assigned pairs of d ** p
    missed: int
    false: int


def gospa(tracks: np.ndarray, truths: np.ndarray, c: float = 10e3, p: float = 2.0) -> Gospa:
    """GOSPA (alpha = 2) between track positions (n, 3) and truth positions (m, 3), in metres."""
    tracks = np.asarray(tracks, float).reshape(-1, 3)
    truths = np.asarray(truths, float).reshape(-1, 3)
    n, m = len(tracks), len(truths)
    localisation, assigned = 0.0, 0
    if n and m:
        d = np.linalg.norm(tracks[:, None, :] - truths[None, :, :], axis=2)
        cost = np.minimum(d, c) ** p
        rows, cols = linear_sum_assignment(cost)
        real = d[rows, cols] < c  # a pair at the cut-off is a missed missile and a false track
        localisation = float(np.sum(cost[rows, cols][real]))
        assigned = int(real.sum())
    missed, false = m - assigned, n - assigned
    total = localisation + (c**p / 2.0) * (missed + false)
    return Gospa(total ** (1.0 / p), localisation, missed, false)

"""Bring partners' track states to a common time with the ballistic dynamics."""

from __future__ import annotations

import numpy as np

from warnlink.tracking import motion

BOOSTING = 0.5
THRUST_SIGMA_MPS2 = 5.0  # uncertainty of a released thrust acceleration held over the gap


def align(x6: np.ndarray, P6: np.ndarray, accel: np.ndarray, boost_probability: np.ndarray,
          dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """States (n, 6) and covariances moved forward by dt (n,) seconds (J2, Earth rotation, drag).

    A boosting track keeps its released thrust acceleration over the gap, with the
    boost model's process noise; a ballistic one has none. Tracks with the same gap
    are predicted together.
    """
    n = x6.shape[0]
    out_x, out_P = x6.copy(), P6.copy()
    boosting = boost_probability > BOOSTING
    for gap in np.unique(dt):
        if gap == 0.0:
            continue
        for flag, model in ((False, motion.BALLISTIC), (True, motion.BOOST)):
            idx = np.nonzero((dt == gap) & (boosting == flag))[0]
            if not len(idx):
                continue
            x = np.zeros((len(idx), 9))
            P = np.zeros((len(idx), 9, 9))
            x[:, :6] = x6[idx]
            P[:, :6, :6] = P6[idx]
            if flag:
                x[:, 6:9] = accel[idx]
                P[:, 6:9, 6:9] = np.eye(3) * THRUST_SIGMA_MPS2**2
            xp, Pp = motion.predict(x, P, float(gap), model)
            out_x[idx], out_P[idx] = xp[:, :6], Pp[:, :6, :6]
    del n
    return out_x, out_P

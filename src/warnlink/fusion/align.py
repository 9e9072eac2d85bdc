"""Bring partners' track states to a common time with the ballistic dynamics."""

from __future__ import annotations

import numpy as np

from warnlink.tracking import motion

BOOSTING = 0.5
THRUST_SIGMA_MPS2 = 5.0  # uncertainty of a released thrust acceleration held over the gap


def align(x6: np.ndarray, P6: np.ndarray, accel: np.ndarray, boost_probability: np.ndarray,
          dt: np.ndarray, Pi6: np.ndarray | None = None, accel_rows: np.ndarray | None = None):
    """States (n, 6) and covariances moved forward by dt (n,) seconds (J2, Earth rotation, drag).

    A boosting track keeps its released thrust acceleration over the gap, with the
    boost model's process noise; a ballistic one, in the air, its released drag error
    with the covariance rows ``accel_rows`` (n, 3, 9) it released with it (NaN where
    none; :func:`warnlink.tracking.motion.ballistic_state9`). Tracks with the same gap
    are predicted together. ``Pi6``, the covariances' independent parts (see
    :mod:`warnlink.fusion.ci`), take the transition only; with it, returns (x, P, Pi).
    """
    out_x, out_P = x6.copy(), P6.copy()
    out_Pi = None if Pi6 is None else Pi6.copy()
    boosting = boost_probability > BOOSTING
    for gap in np.unique(dt):
        if gap == 0.0:
            continue
        for flag, model in ((False, motion.BALLISTIC), (True, motion.BOOST)):
            idx = np.nonzero((dt == gap) & (boosting == flag))[0]
            if not len(idx):
                continue
            if flag:  # the thrust held over the gap is a guess any partner could share
                x = np.concatenate([x6[idx], accel[idx]], axis=1)
                P = motion.covariance9(P6[idx], np.eye(3) * THRUST_SIGMA_MPS2**2)
            else:  # in the air, the released drag error with the spread of one
                x, P = motion.ballistic_state9(x6[idx], P6[idx], accel[idx],
                                               None if accel_rows is None else accel_rows[idx])
            Pi = None if Pi6 is None else motion.covariance9(Pi6[idx])
            xp, Pp, Pip = motion.predict_split(x, P, Pi, float(gap), model)
            out_x[idx], out_P[idx] = xp[:, :6], Pp[:, :6, :6]
            if Pip is not None:
                out_Pi[idx] = Pip[:, :6, :6]
    if Pi6 is None:
        return out_x, out_P
    return out_x, out_P, out_Pi

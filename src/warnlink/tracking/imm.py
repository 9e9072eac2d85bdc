"""Interacting multiple model (IMM) filter over the 9-D track state, vectorized over tracks.

Two models share the state (see :mod:`warnlink.tracking.motion`): ``BALLISTIC`` and
``BOOST``. The IMM keeps one estimate per model and the probability of each model;
mixing before every prediction lets a track ride through burnout and staging without
losing lock, and the boost probability tells the rest of the node which phase the
missile is in. Arrays: x (n, 2, 9), P (n, 2, 9, 9), mu (n, 2).

Beside each covariance the filter keeps ``Pi``, the part of it that comes from the
track's own measurement noise alone (for split covariance intersection at the fusion,
:mod:`warnlink.fusion.ci`): the rest, ``P - Pi``, comes from the process noise, the
initial guess and the spread between models, which another nation's tracker of the
same missile shares. ``Pi`` takes the transition without process noise, the Joseph
update with the measurement noise, and no spread-of-means term when mixing.
"""

from __future__ import annotations

import numpy as np

from warnlink.tracking import motion

MODELS = (motion.BALLISTIC, motion.BOOST)
BALLISTIC, BOOST = 0, 1
MEAN_BOOST_REMAINING_S = 120.0  # expected time to burnout once a motor burns
MEAN_COAST_BEFORE_IGNITION_S = 30000.0  # ignition after a coast is rare (a post-boost stage)
INTERACTION_FLOOR = 0.01  # a model less likely than this does not mix into the other model
OUTPUT_MODE_FLOOR = 0.01  # a model less likely than this is left out of the reported estimate
BALLISTIC_ACCEL_VARIANCE = 0.1**2  # (m/s^2)^2: what is left of ``a`` without thrust (drag model error)


def transition(dt: float) -> np.ndarray:
    """Model transition probabilities over dt: row = from, column = to."""
    p_burnout = 1.0 - np.exp(-abs(dt) / MEAN_BOOST_REMAINING_S)
    p_ignite = 1.0 - np.exp(-abs(dt) / MEAN_COAST_BEFORE_IGNITION_S)
    return np.array([[1.0 - p_ignite, p_ignite], [p_burnout, 1.0 - p_burnout]])


def mix_and_predict(x, P, mu, dt: float, Pi):
    """IMM interaction followed by each model's prediction over dt.

    Returns predicted per-model states, covariances, the predicted model probabilities
    and the predicted independent parts.
    """
    n = x.shape[0]
    if n == 0:
        return x, P, mu, Pi
    pi = transition(dt)
    c = mu @ pi  # (n, 2) predicted model probabilities
    c = np.maximum(c, 1e-300)
    w = mu[:, :, None] * pi[None, :, :] / c[:, None, :]  # (n, from, to)
    # A model all but ruled out does not mix into the other. The boost model of a coasting
    # track sits near its floor with a wide random-walk-thrust estimate; moment-matched into
    # the ballistic model at every step (weight ~1e-5/s) it acted as a process noise several
    # times the ballistic model's own and pulled its mean (velocity NEES 1.1 where a plain
    # ballistic EKF gives 3.0). Exact Bayes would drop that component at the next plots;
    # moment matching keeps it, so it is left out here. It still mixes into itself and so
    # can take over when the missile does manoeuvre.
    unlikely = (mu < INTERACTION_FLOOR)[:, :, None] & ~np.eye(2, dtype=bool)[None]
    w = np.where(unlikely, 0.0, w)
    w = w / w.sum(axis=1, keepdims=True)
    # Each model's estimate as the destination model sees it: without thrust there is no
    # thrust acceleration, so the boost estimate entering BALLISTIC has its ``a`` reset to
    # zero (known to be small). Mixing the boost mode's thrust into the ballistic mode would
    # keep predicting thrust after burnout and lose the track. The ballistic estimate keeps
    # its own ``a``: resetting that too would inject BALLISTIC_ACCEL_VARIANCE at every step,
    # a process noise sixty times what a coasting missile has.
    xf = np.repeat(x[:, :, None, :], 2, axis=2)  # (n, from, to, 9)
    Pf = np.repeat(P[:, :, None, :, :], 2, axis=2)
    Pif = np.repeat(Pi[:, :, None, :, :], 2, axis=2)
    xf[:, BOOST, BALLISTIC, 6:9] = 0.0
    for C in (Pf, Pif):
        C[:, BOOST, BALLISTIC, 6:9, :] = 0.0
        C[:, BOOST, BALLISTIC, :, 6:9] = 0.0
    Pf[:, BOOST, BALLISTIC, 6:9, 6:9] = np.eye(3) * BALLISTIC_ACCEL_VARIANCE
    x0 = np.einsum("nij,nijk->njk", w, xf)  # (n, to, 9)
    dx = xf - x0[:, None, :, :]  # (n, from, to, 9)
    P0 = np.einsum("nij,nijkl->njkl", w, Pf) + np.einsum(
        "nij,nijk,nijl->njkl", w, dx, dx
    )
    Pi0 = np.einsum("nij,nijkl->njkl", w, Pif)
    models = [MODELS[j] for _ in range(n) for j in range(2)]
    xp, Pp, Pip = motion.predict_split(x0.reshape(n * 2, 9), P0.reshape(n * 2, 9, 9),
                                       Pi0.reshape(n * 2, 9, 9), dt, models)
    return xp.reshape(n, 2, 9), Pp.reshape(n, 2, 9, 9), c, Pip.reshape(n, 2, 9, 9)


def combine(x, P, mu, Pi=None):
    """Moment-matched single estimate (n, 9), (n, 9, 9) of the model mixture.

    With ``Pi``, also the mixture's independent part (n, 9, 9): a third value.
    """
    xc = np.einsum("nj,njk->nk", mu, x)
    dx = x - xc[:, None, :]
    Pc = np.einsum("nj,njkl->nkl", mu, P) + np.einsum("nj,njk,njl->nkl", mu, dx, dx)
    if Pi is None:
        return xc, Pc
    return xc, Pc, np.einsum("nj,njkl->nkl", mu, Pi)


def output(x, P, mu, Pi):
    """The estimate a track reports: :func:`combine` over the models above OUTPUT_MODE_FLOOR.

    The mixture keeps a model it all but rules out at its prior rate (a coasting missile's
    boost model at the ignition rate, about 1e-3), and that model's covariance is wide:
    thrust is a random walk. Moment-matched in, it doubled the reported velocity covariance
    of every coasting track (velocity NEES 0.37 where the ballistic model alone gives 0.74)
    for a mode the evidence says is not there. The filter itself keeps every model.
    """
    keep = mu >= OUTPUT_MODE_FLOOR
    keep[np.arange(len(mu)), np.argmax(mu, axis=1)] = True
    w = np.where(keep, mu, 0.0)
    w = w / w.sum(axis=1, keepdims=True)
    return combine(x, P, w, Pi)


def update(x, P, mu, z, h_fn, jac_fn, R, wrap, Pi):
    """Update per model with measurements z (n, m); returns x, P, mu and the independent parts Pi.

    ``h_fn(r (k, 3)) -> (k, m)`` predicts measurements from positions, ``jac_fn`` gives
    d h / d r (k, m, 3), ``R`` (m, m) is the measurement noise and ``wrap`` maps
    innovations into their principal range.
    """
    n = x.shape[0]
    m = z.shape[1]
    flat_x = x.reshape(n * 2, 9)
    flat_P = P.reshape(n * 2, 9, 9)
    H = np.zeros((n * 2, m, 9))
    H[:, :, :3] = jac_fn(flat_x[:, :3])
    nu = wrap(np.repeat(z, 2, axis=0) - h_fn(flat_x[:, :3]))
    PHt = flat_P @ np.swapaxes(H, 1, 2)
    S = H @ PHt + R
    S_inv = np.linalg.inv(S)
    K = PHt @ S_inv
    x_new = flat_x + np.einsum("nij,nj->ni", K, nu)
    IKH = np.eye(9) - K @ H
    # Joseph form keeps the covariance symmetric positive definite.
    KRKt = K @ R @ np.swapaxes(K, 1, 2)
    P_new = IKH @ flat_P @ np.swapaxes(IKH, 1, 2) + KRKt
    Pi_new = IKH @ Pi.reshape(n * 2, 9, 9) @ np.swapaxes(IKH, 1, 2) + KRKt
    d2 = np.einsum("ni,nij,nj->n", nu, S_inv, nu)
    log_like = -0.5 * (d2 + np.log(np.linalg.det(2.0 * np.pi * S)))
    log_like = log_like.reshape(n, 2)
    log_post = np.log(np.maximum(mu, 1e-300)) + log_like
    log_post -= log_post.max(axis=1, keepdims=True)
    post = np.exp(log_post)
    post /= post.sum(axis=1, keepdims=True)
    # Keep both models alive so that the filter can switch back.
    post = np.clip(post, 1e-4, 1.0)
    post /= post.sum(axis=1, keepdims=True)
    return (
        x_new.reshape(n, 2, 9),
        0.5 * (P_new + np.swapaxes(P_new, 1, 2)).reshape(n, 2, 9, 9),
        post,
        0.5 * (Pi_new + np.swapaxes(Pi_new, 1, 2)).reshape(n, 2, 9, 9),
    )

"""Interacting multiple model (IMM) filter over the 9-D track state, vectorized over tracks.

Three models share the state (see :mod:`warnlink.tracking.motion`):

* ``BALLISTIC``: no thrust;
* ``BOOST``: a motor burns, its thrust acceleration growing by the rocket equation;
* ``STAGING``: the boost model just after a stage has burnt out and the next one lit,
  which leaves the thrust acceleration at a fraction of what it was (the next stage
  pushes a stack that is heavy for its thrust): a jump no random walk follows without
  losing the track's consistency for many seconds.

The IMM keeps one estimate per model and the probability of each; mixing before every
prediction lets a track ride through burnout and staging without losing lock, and the
probability of the thrusting models tells the rest of the node which phase the missile
is in. Arrays: x (n, K, 9), P (n, K, 9, 9), mu (n, K) for the K = 3 models.

Mixing moves each model's estimate into the destination model's terms: into
``BALLISTIC`` the thrust is gone (``a`` reset to nearly zero), into ``STAGING`` it
drops to STAGE_THRUST_RATIO of itself, with the spread of that ratio; otherwise the
estimate passes unchanged.

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

MODELS = (motion.BALLISTIC, motion.BOOST, motion.BOOST)
BALLISTIC, BOOST, STAGING = 0, 1, 2
K = len(MODELS)
THRUSTING = (BOOST, STAGING)
# A new track's model probabilities. Below LOW_ALTITUDE_M a missile-like object that a radar
# sees for the first time is almost always a motor burning as it rises over the horizon
# (a coasting missile is picked up high, by a radar whose cover it enters); from one radar
# far off, thrust shows only over many plots, and at even odds the ballistic model, with
# fewer unknowns, won 60-80% of the probability for the first ten plots of a burning SRBM
# while its velocity lagged the thrust (velocity NEES 9-15; 5-6 with this prior).
LOW_ALTITUDE_M = 100e3
INITIAL_MU_LOW = (0.1, 0.9, 0.0)
INITIAL_MU_HIGH = (0.5, 0.5, 0.0)
MEAN_BOOST_REMAINING_S = 120.0  # expected time to burnout once a motor burns
MEAN_STAGE_BURN_S = 60.0  # a stage burns 30-80 s: the hazard of a staging while a motor burns
MEAN_STAGING_S = 2.0  # the staging model hands over to the boost model within seconds
MEAN_COAST_BEFORE_IGNITION_S = 30000.0  # ignition after a coast is rare (a post-boost stage)
# At staging the next stage lights at a fraction of the thrust acceleration the last one
# burnt out at: its stack is heavier for its thrust. For stages of 2-3 km/s each at an
# exhaust velocity of ~2,600 m/s the rocket equation puts it at exp(-dv / c) = 0.3-0.45;
# 0.4 with a one-sigma spread of 0.1. A wider spread lets the staging model explain
# burnout too (a ratio of 0), and it then held a burnt-out track as thrusting for seconds. STAGE_DIRECTION_SIGMA is
# the thrust's turn at separation, per axis.
STAGE_THRUST_RATIO = 0.4
STAGE_THRUST_RATIO_SIGMA = 0.1
STAGE_DIRECTION_SIGMA_MPS2 = 5.0
# A model less likely than this does not mix into another model. It sits above the
# staging model's probability at rest, p_stage / (p_stage + p_settle), 0.03-0.04 at the
# 0.25-1 s between plots: held there by its prior rate alone while no staging is seen, it
# mixed a thrust 0.4 times the boost model's into that model at every step, and the spread
# of the two acted as a process noise along the thrust that no missile has. The cost is in
# the transient after a real staging, while the staging model is still below the floor
# (tests/test_tracker.py: velocity NEES 2.7 -> 4.2 in the 10 s after each).
INTERACTION_FLOOR = 0.05
OUTPUT_MODE_FLOOR = 0.01  # a model less likely than this is left out of the reported estimate
# A motor does not stop at once: its thrust tails off over a second or two, and the boost
# model's estimate of it, reset to nothing at the handover, was not exact either. That
# leftover, BURNOUT_TAIL_MPS2 per axis dying away over BURNOUT_TAIL_S, ends as a velocity
# error of its spread times BURNOUT_TAIL_S and a position error of minus that times
# BURNOUT_TAIL_S: added to the handed-over covariance at once (burnout_tail_covariance), not
# carried in ``a``, whose ballistic time constant is the gravity residual's, minutes. As a
# spread of ``a`` the leftover lasted those minutes: the demo's lofted ICBM, climbing out of
# the radars' cover, had 2-3 times the position error (125 m against 35 m at 280 s, an
# all-radar tracker on seeds 1-4).
BURNOUT_TAIL_MPS2 = 0.1
BURNOUT_TAIL_S = 2.0


def burnout_tail_covariance() -> np.ndarray:
    """Covariance (6, 6) of position and velocity that a burnt-out motor's leftover thrust adds."""
    var = BURNOUT_TAIL_MPS2**2
    tau = BURNOUT_TAIL_S
    C = np.zeros((6, 6))
    C[:3, :3] = np.eye(3) * var * tau**4
    C[3:, 3:] = np.eye(3) * var * tau**2
    C[:3, 3:] = C[3:, :3] = -np.eye(3) * var * tau**3
    return C


def transition(dt: float) -> np.ndarray:
    """Model transition probabilities over dt: row = from, column = to."""
    p_burnout = 1.0 - np.exp(-abs(dt) / MEAN_BOOST_REMAINING_S)
    p_stage = 1.0 - np.exp(-abs(dt) / MEAN_STAGE_BURN_S)
    p_settle = 1.0 - np.exp(-abs(dt) / MEAN_STAGING_S)
    p_ignite = 1.0 - np.exp(-abs(dt) / MEAN_COAST_BEFORE_IGNITION_S)
    pi = np.zeros((K, K))
    pi[BALLISTIC] = (1.0 - p_ignite, p_ignite, 0.0)
    pi[BOOST] = (p_burnout, (1.0 - p_burnout) * (1.0 - p_stage), (1.0 - p_burnout) * p_stage)
    pi[STAGING] = (p_burnout, (1.0 - p_burnout) * p_settle, (1.0 - p_burnout) * (1.0 - p_settle))
    return pi


def initial_mu(altitude_m: np.ndarray) -> np.ndarray:
    """Model probabilities (k, K) of new tracks first seen at these altitudes (k,)."""
    low = np.asarray(altitude_m)[:, None] < LOW_ALTITUDE_M
    return np.where(low, np.array(INITIAL_MU_LOW), np.array(INITIAL_MU_HIGH))


def boost_probability(mu: np.ndarray) -> np.ndarray:
    """Probability that the motor burns, (n,) from mu (n, K)."""
    return mu[..., BOOST] + mu[..., STAGING]


def _into(x, P, Pi, to: int):
    """Estimates (m, 9) of a thrusting model as model ``to`` sees them: (x, P, Pi) moved.

    The thrust acceleration ``a`` is multiplied by a ratio (0 into BALLISTIC,
    STAGE_THRUST_RATIO into STAGING) and what is not known of that ratio is added to P
    (a guess any tracker would make: not to Pi). Into BALLISTIC, ``a`` then takes its prior
    (motion.ballistic_accel_prior: the gravity residual and, in the air, the drag error of
    a body whose ballistic coefficient nobody has measured yet), and the motor's tail
    (burnout_tail_covariance) widens position and velocity.
    """
    ratio = 0.0 if to == BALLISTIC else STAGE_THRUST_RATIO
    T = np.eye(9)
    T[6:9, 6:9] *= ratio
    x = x @ T.T
    P = T @ P @ T.T
    Pi = T @ Pi @ T.T
    if to == BALLISTIC:
        P[:, 6:9, 6:9] += motion.ballistic_accel_prior(x)
        P[:, :6, :6] += burnout_tail_covariance()
    else:
        a_before = x[:, 6:9] / ratio
        P[:, 6:9, 6:9] += (STAGE_THRUST_RATIO_SIGMA**2 * a_before[:, :, None] * a_before[:, None, :]
                           + np.eye(3) * STAGE_DIRECTION_SIGMA_MPS2**2)
    return x, P, Pi


def mix_and_predict(x, P, mu, dt: float, Pi):
    """IMM interaction followed by each model's prediction over dt.

    Returns predicted per-model states, covariances, the predicted model probabilities
    and the predicted independent parts.
    """
    n = x.shape[0]
    if n == 0:
        return x, P, mu, Pi
    pi = transition(dt)
    c = mu @ pi  # (n, K) predicted model probabilities
    c = np.maximum(c, 1e-300)
    w = mu[:, :, None] * pi[None, :, :] / c[:, None, :]  # (n, from, to)
    # A model all but ruled out does not mix into another. The boost model of a coasting
    # track sits near its floor with a wide random-walk-thrust estimate; moment-matched into
    # the ballistic model at every step (weight ~1e-5/s) it acted as a process noise several
    # times the ballistic model's own and pulled its mean (velocity NEES 1.1 where a plain
    # ballistic EKF gives 3.0). Exact Bayes would drop that component at the next plots;
    # moment matching keeps it, so it is left out here. It still mixes into itself and so
    # can take over when the missile does manoeuvre.
    unlikely = (mu < INTERACTION_FLOOR)[:, :, None] & ~np.eye(K, dtype=bool)[None]
    w = np.where(unlikely, 0.0, w)
    # A model nothing admissible mixes into keeps its own estimate. Over a long gap between
    # plots (all radars blind for 90 s) the staging model's chance of staying, e^(-dt / 2 s),
    # rounds to nothing, and with the boost model below the floor its weights were all
    # zero: it was mixed to the zero state, the Earth's centre, and its prediction made a
    # healthy track's numbers non-finite (the tracker then dropped it as diverged).
    w = np.where(w.sum(axis=1, keepdims=True) > 0.0, w, np.eye(K)[None])
    w = w / w.sum(axis=1, keepdims=True)
    # Each model's estimate as the destination model sees it (see _into). The ballistic
    # estimate keeps its own ``a`` going into any model: resetting it would inject the
    # motor's tail (burnout_tail_covariance) at every step, a process noise far beyond what
    # a coasting missile has.
    xf = np.repeat(x[:, :, None, :], K, axis=2)  # (n, from, to, 9)
    Pf = np.repeat(P[:, :, None, :, :], K, axis=2)
    Pif = np.repeat(Pi[:, :, None, :, :], K, axis=2)
    for src, dst in ((BOOST, BALLISTIC), (STAGING, BALLISTIC), (BOOST, STAGING)):
        xf[:, src, dst], Pf[:, src, dst], Pif[:, src, dst] = _into(x[:, src], P[:, src], Pi[:, src], dst)
    x0 = np.einsum("nij,nijk->njk", w, xf)  # (n, to, 9)
    dx = xf - x0[:, None, :, :]  # (n, from, to, 9)
    P0 = np.einsum("nij,nijkl->njkl", w, Pf) + np.einsum(
        "nij,nijk,nijl->njkl", w, dx, dx
    )
    Pi0 = np.einsum("nij,nijkl->njkl", w, Pif)
    models = [MODELS[j] for _ in range(n) for j in range(K)]
    xp, Pp, Pip = motion.predict_split(x0.reshape(n * K, 9), P0.reshape(n * K, 9, 9),
                                       Pi0.reshape(n * K, 9, 9), dt, models)
    return xp.reshape(n, K, 9), Pp.reshape(n, K, 9, 9), c, Pip.reshape(n, K, 9, 9)


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
    flat_x = x.reshape(n * K, 9)
    flat_P = P.reshape(n * K, 9, 9)
    H = np.zeros((n * K, m, 9))
    H[:, :, :3] = jac_fn(flat_x[:, :3])
    nu = wrap(np.repeat(z, K, axis=0) - h_fn(flat_x[:, :3]))
    PHt = flat_P @ np.swapaxes(H, 1, 2)
    S = H @ PHt + R
    S_inv = np.linalg.inv(S)
    gain = PHt @ S_inv
    x_new = flat_x + np.einsum("nij,nj->ni", gain, nu)
    IKH = np.eye(9) - gain @ H
    # Joseph form keeps the covariance symmetric positive definite.
    KRKt = gain @ R @ np.swapaxes(gain, 1, 2)
    P_new = IKH @ flat_P @ np.swapaxes(IKH, 1, 2) + KRKt
    Pi_new = IKH @ Pi.reshape(n * K, 9, 9) @ np.swapaxes(IKH, 1, 2) + KRKt
    d2 = np.einsum("ni,nij,nj->n", nu, S_inv, nu)
    log_like = -0.5 * (d2 + np.log(np.linalg.det(2.0 * np.pi * S)))
    log_like = log_like.reshape(n, K)
    log_post = np.log(np.maximum(mu, 1e-300)) + log_like
    log_post -= log_post.max(axis=1, keepdims=True)
    post = np.exp(log_post)
    post /= post.sum(axis=1, keepdims=True)
    # Keep every model alive so that the filter can switch back.
    post = np.clip(post, 1e-4, 1.0)
    post /= post.sum(axis=1, keepdims=True)
    return (
        x_new.reshape(n, K, 9),
        0.5 * (P_new + np.swapaxes(P_new, 1, 2)).reshape(n, K, 9, 9),
        post,
        0.5 * (Pi_new + np.swapaxes(Pi_new, 1, 2)).reshape(n, K, 9, 9),
    )

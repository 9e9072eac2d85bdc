"""Covariance intersection, plain and split: fuse estimates whose cross-correlations are unknown
(and the Kalman product, for estimates known to be independent).

Partners' tracks of the same missile share the missile's motion, so their errors are
correlated by an unknown amount; the Kalman product would be overconfident.
Covariance intersection, P^-1 = w P1^-1 + (1 - w) P2^-1, x = P (w P1^-1 x1 + (1 - w)
P2^-1 x2), is consistent for any correlation; w minimises the trace of P (bounded
scalar search). It is also very conservative: two equally good, independent tracks
fuse to no better than one.

Split covariance intersection (Julier and Uhlmann; Li et al., "Split covariance
intersection filter", 2013) uses what is known: each nation's tracker says which part
of its covariance comes from its own measurement noise, ``Pi`` (independent of every
other nation's, since each nation's sensors are its own), and which part ``Pd = P - Pi``
from the process noise, the initial guess and model switching, which trackers of the
same missile may share. With P1 = Pd1 / w + Pi1 and P2 = Pd2 / (1 - w) + Pi2 the
Kalman product of P1 and P2 is consistent for any correlation of the shared parts; w
minimises log det P (scale free: metres and metres per second mix in P). Where the
shared parts vanish (a coasting missile, well tracked) it is the optimal product of
independent estimates; where only shared parts are known it is plain covariance
intersection. Several estimates are fused pairwise, most precise first, which is again
consistent. Written here because no maintained library implements it.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

W_EDGE = 1e-4  # the search stays inside (0, 1): Pd / w must stay finite


def ci_pair(x1, P1, x2, P2) -> tuple[np.ndarray, np.ndarray, float]:
    """Fused (x, P) of two estimates and the weight w of the first."""
    I1 = np.linalg.inv(P1)
    I2 = np.linalg.inv(P2)

    def trace_of(w: float) -> float:
        return float(np.trace(np.linalg.inv(w * I1 + (1.0 - w) * I2)))

    result = minimize_scalar(trace_of, bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-4})
    w = float(result.x)
    # The ends are not evaluated by the bounded search; an estimate may dominate entirely.
    for end in (0.0, 1.0):
        if trace_of(end) < trace_of(w):
            w = end
    info = w * I1 + (1.0 - w) * I2
    P = np.linalg.inv(info)
    x = P @ (w * I1 @ x1 + (1.0 - w) * I2 @ x2)
    return x, 0.5 * (P + P.T), w


def covariance_intersection(xs, Ps) -> tuple[np.ndarray, np.ndarray]:
    """Fuse k estimates (k, d), (k, d, d) by successive pairwise CI, most precise first."""
    xs = np.asarray(xs, float)
    Ps = np.asarray(Ps, float)
    order = np.argsort([np.trace(P) for P in Ps], kind="stable")
    x, P = xs[order[0]], Ps[order[0]]
    for i in order[1:]:
        x, P, _ = ci_pair(x, P, xs[i], Ps[i])
    return x, P


def split_parts(P: np.ndarray, Pi: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P, Pi, Pd) made valid: 0 <= Pi, 0 <= Pd, P = Pi + Pd (never smaller than the P given).

    A missing ``Pi`` means all of ``P`` may be shared. A ``Pi`` claiming more than ``P``
    (a partner's rounding, or a bad message) is cut back, which can only widen ``P``.
    """
    P = 0.5 * (P + P.T)
    if Pi is None:
        return P, np.zeros_like(P), P
    Pi = _psd(0.5 * (Pi + Pi.T))
    Pd = _psd(P - Pi)
    return Pi + Pd, Pi, Pd


def _psd(A: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(A)
    if values.min() >= 0.0:
        return A
    return (vectors * np.maximum(values, 0.0)) @ vectors.T


def sci_pair(x1, Pi1, Pd1, x2, Pi2, Pd2) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Fused (x, Pi, Pd) of two split estimates, and the weight w of the first's shared part."""

    def parts(w: float):
        A1 = np.linalg.inv(Pd1 / w + Pi1)
        A2 = np.linalg.inv(Pd2 / (1.0 - w) + Pi2)
        return A1, A2, np.linalg.inv(A1 + A2)

    def logdet_of(w: float) -> float:
        sign, logdet = np.linalg.slogdet(parts(w)[2])
        return float(logdet) if sign > 0 else np.inf

    result = minimize_scalar(logdet_of, bounds=(W_EDGE, 1.0 - W_EDGE), method="bounded", options={"xatol": 1e-4})
    w = float(result.x)
    for end in (W_EDGE, 1.0 - W_EDGE):
        if logdet_of(end) < logdet_of(w):
            w = end
    A1, A2, P = parts(w)
    K1, K2 = P @ A1, P @ A2
    x = K1 @ x1 + K2 @ x2
    Pi = K1 @ Pi1 @ K1.T + K2 @ Pi2 @ K2.T
    Pi = 0.5 * (Pi + Pi.T)
    Pd = _psd(0.5 * (P + P.T) - Pi)
    return x, Pi, Pd, w


def split_covariance_intersection(xs, Ps, Pis) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fuse k split estimates (k, d), (k, d, d), (k, d, d) pairwise, most precise first.

    Returns (x, P, Pi) of the fused estimate.
    """
    xs = np.asarray(xs, float)
    split = [split_parts(np.asarray(P, float), None if Pi is None else np.asarray(Pi, float))
             for P, Pi in zip(Ps, Pis)]
    order = np.argsort([np.trace(s[0]) for s in split], kind="stable")
    x, (_, Pi, Pd) = xs[order[0]], split[order[0]]
    for i in order[1:]:
        _, Pi2, Pd2 = split[i]
        x, Pi, Pd, _ = sci_pair(x, Pi, Pd, xs[i], Pi2, Pd2)
    return x, Pi + Pd, Pi


def kalman_product(xs, Ps, Pis) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fuse k estimates (k, d), (k, d, d) taken to be independent: P^-1 = sum Pk^-1.

    Returns (x, P, Pi) of the fused estimate, its independent part ``Pi`` carried through
    the same gains (``Pis``: (k, d, d), None where a member's is unknown, taken as zero).
    Exact only where no error is shared; :mod:`warnlink.fusion.system_tracks` uses it where
    measurement says so.
    """
    xs = np.asarray(xs, float)
    Ps = np.asarray(Ps, float)
    infos = np.linalg.inv(Ps)
    P = np.linalg.inv(infos.sum(axis=0))
    P = 0.5 * (P + P.T)
    gains = P @ infos  # (k, d, d): P Pk^-1
    x = np.einsum("kij,kj->i", gains, xs)
    Pi = np.zeros_like(P)
    for K, Pik in zip(gains, Pis):
        if Pik is not None:
            Pi += K @ np.asarray(Pik, float) @ K.T
    Pi = 0.5 * (Pi + Pi.T)
    return x, P, Pi

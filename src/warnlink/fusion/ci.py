"""Covariance intersection: fuse estimates whose cross-correlations are unknown.

Partners' tracks of the same missile share the missile's motion (and possibly the
same sensor's plots, relayed), so their errors are correlated by an unknown amount;
the Kalman product would be overconfident. Covariance intersection,
P^-1 = w P1^-1 + (1 - w) P2^-1, x = P (w P1^-1 x1 + (1 - w) P2^-1 x2), is consistent
for any correlation; w minimises the trace of P (bounded scalar search). More than two
estimates are fused pairwise, most precise first, which is again consistent.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar


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

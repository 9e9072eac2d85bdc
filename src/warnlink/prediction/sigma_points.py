"""Unscented-transform sigma points, vectorized over many Gaussian estimates."""

from __future__ import annotations

import numpy as np


def sigma_points(mean: np.ndarray, cov: np.ndarray, *, spread: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The 2d+1 symmetric sigma points of each N(mean, cov): (n, 2d+1, d), weights (2d+1,).

    Points at the mean and at mean +- sqrt(d + kappa) times the columns of a square root of
    cov. ``spread`` is d + kappa; by default kappa = 3 - d clipped at 0, so that every weight
    is non-negative (and the weighted spread of the transformed points is a covariance,
    however non-linear the mapping). ``spread=3`` puts the points where a Gaussian's
    fourth moment is matched in every direction (Julier and Uhlmann), closer in than
    sqrt(d) for d > 3; the centre's weight is then negative, so take moments with
    :func:`moments_about_centre`.
    """
    mean = np.asarray(mean, float)
    cov = np.asarray(cov, float)
    n, d = mean.shape
    scale = float(max(d, 3)) if spread is None else float(spread)
    root = _sqrt_psd(cov) * np.sqrt(scale)  # (n, d, d), columns are the offsets
    offsets = np.swapaxes(root, 1, 2)  # (n, d rows = offsets, d)
    points = np.concatenate([mean[:, None, :], mean[:, None, :] + offsets, mean[:, None, :] - offsets], axis=1)
    weights = np.full(2 * d + 1, 1.0 / (2.0 * scale))
    weights[0] = 1.0 - d / scale
    return points, weights


def moments_about_centre(values: np.ndarray, weights: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of transformed sigma points ``values`` (2d+1, m), the centre first.

    The mean is the unscented one, y0 + sum_i w_i (y_i - y0); the covariance is the spread
    about the centre, sum_i w_i (y_i - y0)(y_i - y0)^T over the offset points, which is
    positive semi-definite whatever the sign of the centre's weight and exceeds the
    unscented covariance only by (mean - y0)(mean - y0)^T (nothing for a linear mapping).
    Offset points not ``valid`` (that did not come down, say) are left out and the others'
    weights scaled up to the same total. The centre must be valid.
    """
    values = np.asarray(values, float)
    y0 = values[0]
    w = np.where(valid[1:], weights[1:], 0.0)
    if w.sum() > 0.0:
        w = w * (weights[1:].sum() / w.sum())
    d = np.where(valid[1:, None], values[1:] - y0, 0.0)
    mean = y0 + w @ d
    cov = (w[:, None] * d).T @ d
    return mean, 0.5 * (cov + cov.T)


def _sqrt_psd(cov: np.ndarray) -> np.ndarray:
    """A square root L (L L^T = cov) of each symmetric positive semi-definite matrix."""
    sym = 0.5 * (cov + np.swapaxes(cov, 1, 2))
    try:
        return np.linalg.cholesky(sym)
    except np.linalg.LinAlgError:  # semi-definite or slightly indefinite: clip the spectrum
        values, vectors = np.linalg.eigh(sym)
        return vectors * np.sqrt(np.maximum(values, 0.0))[:, None, :]

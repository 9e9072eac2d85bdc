"""Unscented-transform sigma points, vectorized over many Gaussian estimates."""

from __future__ import annotations

import numpy as np


def sigma_points(mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 2d+1 symmetric sigma points of each N(mean, cov): (n, 2d+1, d), weights (2d+1,).

    Points at the mean and at mean +- sqrt(d + kappa) times the columns of a square root of
    cov, with kappa = 3 - d clipped at 0 so that every weight is non-negative (and the
    spread of the transformed points is a covariance, however non-linear the mapping).
    """
    mean = np.asarray(mean, float)
    cov = np.asarray(cov, float)
    n, d = mean.shape
    kappa = max(3.0 - d, 0.0)
    root = _sqrt_psd(cov) * np.sqrt(d + kappa)  # (n, d, d), columns are the offsets
    offsets = np.swapaxes(root, 1, 2)  # (n, d rows = offsets, d)
    points = np.concatenate([mean[:, None, :], mean[:, None, :] + offsets, mean[:, None, :] - offsets], axis=1)
    weights = np.full(2 * d + 1, 1.0 / (2.0 * (d + kappa)))
    weights[0] = kappa / (d + kappa)
    return points, weights


def _sqrt_psd(cov: np.ndarray) -> np.ndarray:
    """A square root L (L L^T = cov) of each symmetric positive semi-definite matrix."""
    sym = 0.5 * (cov + np.swapaxes(cov, 1, 2))
    try:
        return np.linalg.cholesky(sym)
    except np.linalg.LinAlgError:  # semi-definite or slightly indefinite: clip the spectrum
        values, vectors = np.linalg.eigh(sym)
        return vectors * np.sqrt(np.maximum(values, 0.0))[:, None, :]

"""Fitting helpers shared by blocks: LUT mean/sigma on a grid, polynomial energy models."""

from __future__ import annotations

import numpy as np

from circuitsim.errors import CircuitsimError


def sigma_per_point(samples: np.ndarray) -> np.ndarray:
    """Sample standard deviation over Monte Carlo draws (axis 0), ddof = 1."""
    samples = np.asarray(samples, dtype=float)
    if samples.ndim != 2 or samples.shape[0] < 2:
        raise CircuitsimError(f"need at least 2 Monte Carlo samples per point, got shape {samples.shape}")
    return samples.std(axis=0, ddof=1)


def fit_polynomial(x, y, degree: int) -> np.ndarray:
    """Least-squares polynomial coefficients, lowest order first (``numpy.polynomial.polynomial``)."""
    return np.polynomial.polynomial.polyfit(np.asarray(x, float), np.asarray(y, float), degree)


def eval_polynomial(coeffs, x) -> np.ndarray:
    """Evaluate coefficients from :func:`fit_polynomial` at ``x``."""
    return np.polynomial.polynomial.polyval(np.asarray(x, float), np.asarray(coeffs, float))

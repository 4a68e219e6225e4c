"""Validation metrics of SPEC section 6: error in LSB on held-out points, Monte Carlo sigma as
statistics (pooled RMS ratio and a point-wise two-sided F-test), energy ratio."""

from __future__ import annotations

import numpy as np
from scipy import stats

ERROR_BAR_LSB = 0.5
SIGMA_RATIO_BAND = (0.9, 1.1)
ENERGY_TOLERANCE = 0.05
F_TEST_ALPHA = 0.01


def error_lsb(model_v, spice_v, lsb_v: float) -> np.ndarray:
    """|model − SPICE| in LSB at each point."""
    return np.abs(np.asarray(model_v, float) - np.asarray(spice_v, float)) / lsb_v


def pooled_sigma_ratio(model_sigma, spice_sigma) -> float:
    """RMS of the model's sigma across the grid over RMS of SPICE's: sqrt(mean σ_m²) / sqrt(mean σ_s²)."""
    return float(np.sqrt(np.mean(np.square(model_sigma))) / np.sqrt(np.mean(np.square(spice_sigma))))


def f_test_pvalues(model_sigma, n_model: int, spice_sigma, n_spice: int) -> np.ndarray:
    """Two-sided F-test p-values for equal variances at each point (sample sizes n_model, n_spice)."""
    ratio = np.square(np.asarray(model_sigma, float)) / np.square(np.asarray(spice_sigma, float))
    lower = stats.f.cdf(ratio, n_model - 1, n_spice - 1)
    return np.minimum(1.0, 2 * np.minimum(lower, 1 - lower))


def worst_ratio(model, spice) -> float:
    """The model/SPICE ratio furthest from 1 across the points."""
    ratio = np.asarray(model, float) / np.asarray(spice, float)
    return float(ratio[np.argmax(np.abs(ratio - 1))])


def passes(max_error_lsb: float, sigma_ratio: float | None, energy_ratio: float) -> bool:
    """The accuracy bar: error ≤ 0.5 LSB, pooled σ ratio in [0.9, 1.1] (where measured), energy ±5 %."""
    ok = max_error_lsb <= ERROR_BAR_LSB and abs(energy_ratio - 1) <= ENERGY_TOLERANCE
    if sigma_ratio is not None:
        ok = ok and SIGMA_RATIO_BAND[0] <= sigma_ratio <= SIGMA_RATIO_BAND[1]
    return bool(ok)

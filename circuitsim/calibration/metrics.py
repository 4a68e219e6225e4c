"""Validation metrics of SPEC section 6: error in LSB on held-out points, Monte Carlo sigma as
statistics (pooled RMS ratio and a point-wise two-sided F-test), energy error over the operating range."""

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


def energy_error(model, spice) -> tuple[float, float]:
    """Energy error over the block's operating range: max_i |E_model,i − E_SPICE,i| / E_ref with
    E_ref = max_i |E_SPICE,i|, the largest energy per operation SPICE gives over the held-out points (J).

    A point ratio E_model / E_SPICE blows up where a block's energy per operation nears zero (a resistor-loaded
    stage whose input turns it off: 0.1 fJ against 0.2 fJ reads as a ratio of 2 for an error that is 0.1 fJ out of
    the block's 100 fJ); the bar is on the error as a fraction of the energy the block spends in its operating
    range. Returns (error fraction, E_ref)."""
    model, spice = np.asarray(model, float), np.asarray(spice, float)
    reference = float(np.max(np.abs(spice)))
    if reference == 0.0:
        return (0.0 if np.all(model == 0.0) else float("inf")), 0.0
    return float(np.max(np.abs(model - spice)) / reference), reference


def passes(max_error_lsb: float, sigma_ratio: float | None, energy_error: float) -> bool:
    """The accuracy bar: error ≤ 0.5 LSB, pooled σ ratio in [0.9, 1.1] (where measured), energy within 5 % of
    the operating-range energy (:func:`energy_error`)."""
    ok = max_error_lsb <= ERROR_BAR_LSB and energy_error <= ENERGY_TOLERANCE
    if sigma_ratio is not None:
        ok = ok and SIGMA_RATIO_BAND[0] <= sigma_ratio <= SIGMA_RATIO_BAND[1]
    return bool(ok)

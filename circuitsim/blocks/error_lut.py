"""The error-LUT transfer shared by blocks whose output is their input plus calibrated errors
(sample-and-hold, CDS): y = x + ε(x) [+ σ_mm(x)·z₁ + σ_th·z₂], all in V.

Modes: ``ideal`` (y = x), ``hard`` (+ ε), ``noisy`` (+ ε + mismatch and thermal draws). ε and σ_mm are
LUTs on the grid ``x_v`` (linear interpolation); z₁, z₂ ~ N(0, 1) come from the caller's Generator, z₁
first, so the numba kernel and the NumPy reference see the same numbers for the same seed.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from circuitsim import config
from circuitsim.blocks.kernels import check_range, interp_linear
from circuitsim.blocks.modes import IDEAL_CODE, NOISY_CODE, Mode


@njit(fastmath=config.FASTMATH, cache=True)
def _error_lut_kernel(x_in_v, x_v, error_v, sigma_v, thermal_sigma_v, z_mismatch, z_thermal, mode, out_v):
    for i in range(x_in_v.size):
        x = x_in_v[i]
        if mode == IDEAL_CODE:
            out_v[i] = x
            continue
        y = x + interp_linear(x, x_v, error_v)
        if mode == NOISY_CODE:
            y += interp_linear(x, x_v, sigma_v) * z_mismatch[i] + thermal_sigma_v * z_thermal[i]
        out_v[i] = y


def validated(name: str, x_in_v, x_v: np.ndarray, mode) -> np.ndarray:
    """Contiguous float input, refused outside the calibrated grid; unknown modes refused."""
    Mode.parse(mode)
    x = np.ascontiguousarray(x_in_v, dtype=float)
    check_range(name, x, x_v[0], x_v[-1], "V")
    return x


def draws(shape, mode, thermal: bool, rng):
    """(z_mismatch, z_thermal): zeros unless noisy; z_thermal zeros when ``thermal`` is off."""
    if Mode.parse(mode) is not Mode.NOISY:
        return np.zeros(shape), np.zeros(shape)
    if rng is None:
        raise ValueError("noisy mode needs a numpy.random.Generator (rng=np.random.default_rng(seed))")
    z_mm = rng.standard_normal(shape)
    z_th = rng.standard_normal(shape) if thermal else np.zeros(shape)
    return z_mm, z_th


def transfer(name, x_in_v, x_v, error_v, sigma_v, mode, thermal_sigma_v: float, rng) -> np.ndarray:
    """y for each input (V); numba kernel. ``thermal_sigma_v`` = 0 switches the thermal term off."""
    x = validated(name, x_in_v, x_v, mode)
    z_mm, z_th = draws(x.shape, mode, thermal_sigma_v > 0, rng)
    out = np.empty_like(x)
    _error_lut_kernel(x.ravel(), x_v, error_v, sigma_v, float(thermal_sigma_v), z_mm.ravel(), z_th.ravel(),
                      Mode.parse(mode).code, out.ravel())
    return out


def transfer_reference(name, x_in_v, x_v, error_v, sigma_v, mode, thermal_sigma_v: float, rng) -> np.ndarray:
    """Plain NumPy oracle of :func:`transfer` (same draws for the same ``rng`` state)."""
    x = validated(name, x_in_v, x_v, mode)
    z_mm, z_th = draws(x.shape, mode, thermal_sigma_v > 0, rng)
    if mode == Mode.IDEAL:
        return x.copy()
    out = x + np.interp(x, x_v, error_v)
    if mode == Mode.NOISY:
        out = out + np.interp(x, x_v, sigma_v) * z_mm + thermal_sigma_v * z_th
    return out

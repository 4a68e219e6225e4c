"""Numba helpers shared by block kernels (plain loops, SI floats)."""

import numpy as np
from numba import njit

from circuitsim import config


@njit(fastmath=config.FASTMATH, cache=True)
def interp_linear(x, xp, fp):
    """Piecewise-linear interpolation of (xp, fp) at scalar x, same rule as ``numpy.interp``
    (xp increasing; clamps to the end values outside the grid)."""
    n = xp.size
    if x <= xp[0]:
        return fp[0]
    if x >= xp[n - 1]:
        return fp[n - 1]
    lo, hi = 0, n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if xp[mid] <= x:
            lo = mid
        else:
            hi = mid
    t = (x - xp[lo]) / (xp[hi] - xp[lo])
    return fp[lo] + t * (fp[hi] - fp[lo])


@njit(fastmath=config.FASTMATH, cache=True)
def interp_linear_row(x, xp, table, row):
    """:func:`interp_linear` of (xp, table[row, :]) at scalar x, without slicing the row (a slice is a new
    array whose reference count every thread of a parallel loop would update)."""
    n = xp.size
    if x <= xp[0]:
        return table[row, 0]
    if x >= xp[n - 1]:
        return table[row, n - 1]
    lo, hi = 0, n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if xp[mid] <= x:
            lo = mid
        else:
            hi = mid
    t = (x - xp[lo]) / (xp[hi] - xp[lo])
    return table[row, lo] + t * (table[row, hi] - table[row, lo])


def check_range(name: str, values: np.ndarray, lo: float, hi: float, unit: str) -> None:
    """Refuse values outside [lo, hi] with the valid range in the message."""
    from circuitsim.errors import InputRangeError

    values = np.asarray(values)
    if values.size and (not np.all(np.isfinite(values)) or values.min() < lo or values.max() > hi):
        bad = values[~np.isfinite(values) | (values < lo) | (values > hi)].ravel()[0]
        raise InputRangeError(f"{name} = {bad:g} {unit} is outside the calibrated range [{lo:g}, {hi:g}] {unit}")

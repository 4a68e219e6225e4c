"""Numba helpers shared by block kernels (plain loops, SI floats)."""

import numpy as np
from numba import njit

from circuitsim import config


@njit(fastmath=config.FASTMATH, cache=True)
def segment(x, xp):
    """(lo, hi, t) of scalar x on the increasing grid xp, the ``numpy.interp`` rule: x lies between xp[lo] and
    xp[hi] at fraction t; outside the grid lo = hi = the end index and t = 0 (the end value is held)."""
    n = xp.size
    if x <= xp[0]:
        return 0, 0, 0.0
    if x >= xp[n - 1]:
        return n - 1, n - 1, 0.0
    lo, hi = 0, n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if xp[mid] <= x:
            lo = mid
        else:
            hi = mid
    return lo, hi, (x - xp[lo]) / (xp[hi] - xp[lo])


@njit(fastmath=config.FASTMATH, cache=True)
def interp_linear(x, xp, fp):
    """Piecewise-linear interpolation of (xp, fp) at scalar x, same rule as ``numpy.interp``
    (xp increasing; clamps to the end values outside the grid)."""
    lo, hi, t = segment(x, xp)
    return fp[lo] + t * (fp[hi] - fp[lo])


@njit(fastmath=config.FASTMATH, cache=True)
def at_segment(fp, lo, hi, t):
    """The value of (xp, fp) at the point :func:`segment` located as (lo, hi, t): one search serves every
    table on the same grid."""
    return fp[lo] + t * (fp[hi] - fp[lo])


@njit(fastmath=config.FASTMATH, cache=True)
def at_segment_row(table, row, lo, hi, t):
    """:func:`at_segment` of table[row, :] without slicing the row."""
    return table[row, lo] + t * (table[row, hi] - table[row, lo])


@njit(fastmath=config.FASTMATH, cache=True)
def interp_linear_row(x, xp, table, row):
    """:func:`interp_linear` of (xp, table[row, :]) at scalar x, without slicing the row (a slice is a new
    array whose reference count every thread of a parallel loop would update)."""
    lo, hi, t = segment(x, xp)
    return table[row, lo] + t * (table[row, hi] - table[row, lo])


@njit(fastmath=config.FASTMATH, cache=True)
def interp_linear_column(x, xp, table, col):
    """:func:`interp_linear` of (xp, table[:, col]) at scalar x, without slicing the column."""
    lo, hi, t = segment(x, xp)
    return table[lo, col] + t * (table[hi, col] - table[lo, col])


def check_range(name: str, values: np.ndarray, lo: float, hi: float, unit: str) -> None:
    """Refuse values outside [lo, hi] with the valid range in the message."""
    from circuitsim.errors import InputRangeError

    values = np.asarray(values)
    if values.size and (not np.all(np.isfinite(values)) or values.min() < lo or values.max() > hi):
        bad = values[~np.isfinite(values) | (values < lo) | (values > hi)].ravel()[0]
        raise InputRangeError(f"{name} = {bad:g} {unit} is outside the calibrated range [{lo:g}, {hi:g}] {unit}")

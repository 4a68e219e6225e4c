"""The pixel's row readout time from its calibrated settling table (``pixel_4t`` artifact, ``settle_*``
arrays), for the accounting. Plain NumPy / SciPy: reading it imports nothing of the SPICE layer."""

from __future__ import annotations

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from circuitsim.errors import InputRangeError

#: The model arrays of the settling table :func:`row_readout_s` reads.
SETTLING_ARRAYS = ("settle_ccol_F", "settle_bits", "settle_reset_s", "settle_signal_s")


def row_readout_s(arrays: dict, c_col_F, bits):
    """Row readout time (s) of the pixel on a column line of ``c_col_F`` (F: the deck's ``ccol_f``, the line
    beyond the pixel's own row-select and the load) before a ``bits``-bit ADC:

        t_row(C, b) = t_reset(C, b) + t_signal(C, b)

    t_reset the reset level's settling after RS on (RST pulse included), t_signal the signal level's after
    TX on (TX pulse included), each to half an LSB of 1.8 V / 2^b, from the SPICE settling table of the
    artifact (``settle_*``), bilinear in (C, b). A line below the table's smallest C takes its figure (an
    upper bound: settling grows with C; the caller is told); C above the largest, b outside the table, or a
    point that did not settle in SPICE's window are refused. Arrays broadcast.

    Returns (t_row_s, clamped): ``clamped`` is True where C was below the table."""
    c_grid = np.asarray(arrays["settle_ccol_F"], float)
    b_grid = np.asarray(arrays["settle_bits"], float)
    table = np.asarray(arrays["settle_reset_s"], float) + np.asarray(arrays["settle_signal_s"], float)
    c, b = np.broadcast_arrays(np.asarray(c_col_F, float), np.asarray(bits, float))
    if np.any(c > c_grid[-1]) or not np.all(np.isfinite(c)):
        raise InputRangeError(f"column line {np.max(c) * 1e12:.3g} pF is above the pixel's measured settling range "
                              f"(up to {c_grid[-1] * 1e12:g} pF): use a shorter column (fewer rows, a smaller pitch)")
    if np.any(b < b_grid[0]) or np.any(b > b_grid[-1]):
        raise InputRangeError(f"ADC resolution {b[(b < b_grid[0]) | (b > b_grid[-1])].ravel()[0]:g} bit is outside the "
                              f"pixel's measured settling range {b_grid[0]:g}..{b_grid[-1]:g} bit")
    clamped = c < c_grid[0]
    points = np.stack([np.maximum(c, c_grid[0]).ravel(), b.ravel()], axis=-1)
    t = RegularGridInterpolator((c_grid, b_grid), table)(points).reshape(c.shape)
    if not np.all(np.isfinite(t)):
        raise InputRangeError(f"the pixel did not settle within SPICE's window at {np.max(c) * 1e12:.3g} pF: "
                              "use a shorter column")
    return t, clamped

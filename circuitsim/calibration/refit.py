"""A re-fit against a committed fit: equal within float round-off. The same SPICE data fitted on another CPU
give the same model to the last few digits only (OpenBLAS picks its LAPACK kernels by CPU: psf's gain at tt
−40 °C moves in the 16th digit, the SAR's near-zero offset v_os_V by 3e-17 V), so "the fit reproduces the
committed model" means: every float within :data:`REFIT_RTOL`, and a voltage also within :data:`VOLT_ATOL`
(a least-squares intercept over a ~1 V range has round-off on the volt scale, not on its own)."""

from __future__ import annotations

import math

import numpy as np

REFIT_RTOL = 1e-12
VOLT_ATOL = 1e-15  # V


def same_number(a: float, b: float, key: str = "") -> bool:
    """Equal within round-off (NaN equals NaN); ``key`` ending in ``_V`` also allows VOLT_ATOL."""
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=REFIT_RTOL, abs_tol=VOLT_ATOL if key.endswith("_V") else 0.0)


def same_record(a, b, key: str = "") -> bool:
    """JSON-like records (notes, energy actions) equal, their floats by :func:`same_number`."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and same_number(a, b, key)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_record(a[k], b[k], k) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_record(x, y, key) for x, y in zip(a, b))
    return a == b


def array_mismatch(got: dict, want: dict) -> str | None:
    """The first array of ``want`` that ``got`` does not reproduce within round-off (name and why), or None."""
    if set(got) != set(want):
        return f"arrays differ by name: {sorted(set(got) ^ set(want))}"
    for name, w in want.items():
        g, w = np.asarray(got[name]), np.asarray(w)
        if g.shape != w.shape:
            return f"{name}: shape {g.shape} != {w.shape}"
        if g.dtype.kind in "fc" or w.dtype.kind in "fc":
            atol = VOLT_ATOL if name.endswith("_V") else 0.0
            if not np.allclose(g, w, rtol=REFIT_RTOL, atol=atol, equal_nan=True):
                return f"{name}: max |diff| {np.nanmax(np.abs(g - w)):.3g}"
        elif not np.array_equal(g, w):
            return f"{name}: values differ"
    return None

"""Frame-level sensor simulation composing calibrated block models (numba-parallel, NumPy reference)."""

"""Image-dependent statistics that set the action counts of image-dependent architectures (AGT, SPEC 5.1)."""

from __future__ import annotations

import numpy as np

from circuitsim.errors import InputRangeError


def agt_skip_mask(image: np.ndarray, threshold: float) -> np.ndarray:
    """AGT along each row: accumulate |x[j] - x[j-1]|; send x[j] when the sum reaches ``threshold`` (then the
    sum restarts), skip it otherwise. The first value of each row is always sent. Returns True where skipped.

    ``image``: (rows, cols) or (rows, cols, channels), values in DN; ``threshold`` in DN (> 0).
    """
    image = np.asarray(image, dtype=float)
    if image.ndim == 3:
        image = np.moveaxis(image, 2, 0).reshape(-1, image.shape[1])
    if image.ndim != 2 or image.shape[1] < 1:
        raise InputRangeError(f"image must be 2-D (rows, cols) or 3-D (rows, cols, channels), got {image.shape}")
    if not threshold > 0:
        raise InputRangeError(f"threshold must be > 0 DN, got {threshold}")
    gradients = np.abs(np.diff(image, axis=1))
    skipped = np.zeros(image.shape, dtype=bool)
    accumulated = np.zeros(image.shape[0])
    for j in range(1, image.shape[1]):  # sequential along the row, vectorised over rows
        accumulated += gradients[:, j - 1]
        send = accumulated >= threshold
        skipped[:, j] = ~send
        accumulated[send] = 0.0
    return skipped


def agt_skip_rate(image: np.ndarray, threshold: float) -> float:
    """Fraction of values AGT skips (the ``skip_rate`` parameter of ``architectures/agt.yaml``)."""
    return float(agt_skip_mask(image, threshold).mean())

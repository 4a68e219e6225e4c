"""AGT (adaptive gradient thresholding, SPEC 5.1) skip statistics read as the sensor would: a value is sent
once the gradient accumulated along the row since the last sent value reaches the threshold."""

import numpy as np
import pytest

from circuitsim.accounting.image_statistics import agt_skip_mask, agt_skip_rate


def test_gradient_equal_to_the_threshold_is_sent():
    """Images are integer DN and thresholds usually integer DN too, so an accumulated gradient exactly
    equal to the threshold is the common case, and 'reaches' means it is sent: a ramp rising by exactly
    the threshold per pixel sends every pixel (catches a strict > in place of >=, which would skip every
    other pixel of the ramp and halve its bits)."""
    ramp = np.arange(0.0, 50.0, 5.0)[None, :]               # 0, 5, 10, ... DN: gradient 5 DN everywhere
    assert agt_skip_rate(ramp, 5.0) == 0.0
    # 0 -> 5 (sent), 10 (sent), 10 (0 DN: skipped), 12 (2 DN: skipped), 15 (2 + 3 = 5 DN: sent)
    row = np.array([[0.0, 5.0, 10.0, 10.0, 12.0, 15.0]])
    assert agt_skip_mask(row, 5.0).tolist() == [[False, False, False, True, True, False]]
    assert agt_skip_rate(row, 5.0) == pytest.approx(2 / 6)

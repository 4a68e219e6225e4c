"""The accuracy bar's energy metric: the error is referred to the block's operating-range energy."""

import numpy as np
import pytest

from circuitsim.calibration import metrics


def test_energy_error_is_referred_to_the_operating_range_not_to_a_point_near_zero():
    # a resistor-loaded stage: 100 fJ on, 0.2 fJ at the input that turns it off; the model is 0.1 fJ off there
    spice = np.array([100e-15, 50e-15, 0.2e-15])
    model = np.array([100e-15, 50e-15, 0.3e-15])
    error, reference = metrics.energy_error(model, spice)
    assert reference == 100e-15 and error == pytest.approx(0.001)
    assert metrics.worst_ratio(model, spice) == pytest.approx(1.5)  # the point ratio the bar no longer uses
    assert metrics.passes(0.1, None, error)


def test_energy_error_still_fails_a_wrong_operating_energy():
    spice = np.array([100e-15, 50e-15])
    error, _ = metrics.energy_error(spice * np.array([1.06, 1.0]), spice)
    assert error == pytest.approx(0.06) and not metrics.passes(0.1, None, error)

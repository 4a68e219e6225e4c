"""The row-time lookup over the pixel's settling table (circuitsim.blocks.pixel_timing) on a synthetic table
whose values are a known bilinear function of (C, bits), so the expected time at any point is written by
hand; and its refusals at the table's edges, with the value and the range in the message."""

import numpy as np
import pytest

from circuitsim.blocks.pixel_timing import SETTLING_ARRAYS, row_readout_s
from circuitsim.errors import InputRangeError

C_GRID = np.array([0.25e-12, 0.5e-12, 1e-12, 2e-12, 4e-12, 8e-12])
B_GRID = np.array([4.0, 6.0, 8.0, 10.0, 12.0])


def _reset(c, b):  # s: 100 ns + 20 ns per pF + 5 ns per bit + 2 ns per pF·bit (bilinear: exact in each cell)
    return 100e-9 + 20e-9 * c * 1e12 + 5e-9 * b + 2e-9 * c * 1e12 * b


def _signal(c, b):
    return 50e-9 + 90e-9 * c * 1e12 + 3e-9 * b


def _table(**nan_at):
    c, b = np.meshgrid(C_GRID, B_GRID, indexing="ij")
    arrays = {"settle_ccol_F": C_GRID, "settle_bits": B_GRID, "settle_reset_s": _reset(c, b),
              "settle_signal_s": _signal(c, b)}
    for i, j in nan_at.values():
        arrays["settle_signal_s"][i, j] = np.nan
    assert set(arrays) == set(SETTLING_ARRAYS)
    return arrays


@pytest.mark.parametrize("c, b", [(0.3e-12, 4.0), (0.7e-12, 7.0), (3e-12, 11.5), (8e-12, 12.0), (0.25e-12, 4.0)])
def test_the_row_time_is_reset_plus_signal_settling(c, b):
    t, clamped = row_readout_s(_table(), c, b)
    assert float(t) == pytest.approx(_reset(c, b) + _signal(c, b), rel=1e-12)
    assert not clamped and np.shape(t) == ()


def test_arrays_broadcast_and_integers_are_taken():
    c = np.array([[0.5e-12], [2e-12]])
    t, clamped = row_readout_s(_table(), c, np.array([8, 10]))
    assert t.shape == (2, 2) and not clamped.any()
    assert t == pytest.approx(_reset(c, np.array([8, 10])) + _signal(c, np.array([8, 10])), rel=1e-12)


def test_a_line_below_the_table_takes_its_smallest_column_and_says_so():
    t, clamped = row_readout_s(_table(), np.array([0.1e-12, 0.25e-12, 0.4e-12]), 8)
    assert clamped.tolist() == [True, False, False]
    assert t[0] == pytest.approx(_reset(0.25e-12, 8) + _signal(0.25e-12, 8), rel=1e-12)


def test_a_line_above_the_table_is_refused_with_its_value_and_the_limit():
    row_readout_s(_table(), 8e-12, 8)  # the last column itself is measured
    with pytest.raises(InputRangeError, match=r"column line 8\.5 pF is above the pixel's measured settling range "
                                              r"\(up to 8 pF\): use a shorter column"):
        row_readout_s(_table(), np.array([1e-12, 8.5e-12]), 8)
    with pytest.raises(InputRangeError, match="column line nan pF"):
        row_readout_s(_table(), np.nan, 8)


@pytest.mark.parametrize("bits, named", [([8, 13, 3], "13"), ([12, 4, 13], "13"), ([3.5], "3.5"), ([12.5, 8], "12.5")])
def test_a_resolution_outside_the_table_is_refused_naming_the_first(bits, named):
    with pytest.raises(InputRangeError, match=rf"ADC resolution {named} bit is outside the pixel's measured "
                                              r"settling range 4\.\.12 bit"):
        row_readout_s(_table(), 1e-12, np.array(bits, float))
    row_readout_s(_table(), 1e-12, np.array([4.0, 12.0]))  # both ends are measured


def test_a_point_that_did_not_settle_in_spice_is_refused():
    arrays = _table(cell=(5, 4))  # 8 pF, 12 bit: NaN as SPICE writes an unsettled level
    assert np.isfinite(row_readout_s(arrays, 8e-12, 8)[0])  # a cell without the unsettled corner
    with pytest.raises(InputRangeError, match=r"did not settle within SPICE's window at 7 pF: use a shorter column"):
        row_readout_s(arrays, 7e-12, 11)

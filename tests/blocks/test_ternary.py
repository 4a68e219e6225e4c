"""Ternary comparator: composition of two 2T cells; kernel vs reference; refusals; SPICE check that the two
cells on one input keep the single cell's trip points."""

import numpy as np
import pytest

from circuitsim.blocks import comparator2t as c2t
from circuitsim.blocks import ternary as tc
from circuitsim.errors import InputRangeError


@pytest.fixture(scope="module")
def lut():
    return c2t.load_lut("tt", 27)


def test_codes_and_thresholds(lut):
    th = tc.thresholds(0.8, 0.95, lut)
    codes = tc.ternary(np.array([0.7, 0.79, 0.81, 0.94, 0.96, 1.2]), th, lut)
    np.testing.assert_array_equal(codes, [0, 0, 1, 1, 2, 2])
    np.testing.assert_allclose(c2t.trip_point_v([th.v_bias_lo_v, th.v_bias_hi_v], lut), [0.8, 0.95], atol=1e-9)


@pytest.mark.parametrize("mode", list(c2t.MODES))
def test_kernel_matches_reference(lut, mode):
    th = tc.thresholds(0.78, 1.0, lut)
    x = np.random.default_rng(0).uniform(0.6, 1.2, 1000)
    p = c2t.Comparator2tParams(mode=mode)
    np.testing.assert_allclose(tc.ternary(x, th, lut, p, np.random.default_rng(4)),
                               tc.ternary_reference(x, th, lut, p, np.random.default_rng(4)), atol=1e-12)


def test_energy_is_the_sum_of_the_cells(lut):
    th = tc.thresholds(0.8, 0.95, lut)
    e = tc.energy_per_decision_J(np.array([0.7, 0.9, 1.1]), th, lut)
    lo = c2t.energy_per_decision_J(np.array([0.7, 0.9, 1.1]), th.v_bias_lo_v, lut)
    hi = c2t.energy_per_decision_J(np.array([0.7, 0.9, 1.1]), th.v_bias_hi_v, lut)
    np.testing.assert_allclose(e, lo + hi)
    assert e[0] < e[1] < e[2]


def test_refusals(lut):
    with pytest.raises(ValueError, match="low threshold must be below the high one"):
        tc.thresholds(0.9, 0.8, lut)
    with pytest.raises(InputRangeError, match=r"threshold = 1.9 V is outside the calibrated range \[0.7\d*, 1.04\d*\] V"):
        tc.thresholds(0.8, 1.9, lut)


@pytest.mark.spice
def test_two_cells_on_one_input_keep_the_single_cell_trip_points(lut):
    from circuitsim.spice.analyses import apply_point, dc_sweep
    from circuitsim.spice.netlist import load_netlist, render_deck
    from circuitsim.spice.session import SpiceSession
    from circuitsim.technology import load_technology

    session = SpiceSession.shared()
    session.load(render_deck(load_netlist("ternary"), load_technology("sky130"), "tt"))
    th = tc.thresholds(0.8, 0.95, lut)
    apply_point(session, vblo_v=th.v_bias_lo_v, vbhi_v=th.v_bias_hi_v)
    wave = dc_sweep(session, "vin", 0.3, 1.5, 0.002, ["outlo", "outhi"])
    x = wave["sweep_V"].to_numpy()
    trips = [c2t._crossing(x, wave[f"v_{o}_V"].to_numpy(), 0.9) for o in ("outlo", "outhi")]
    lsb = 1.8 / 256
    np.testing.assert_allclose(trips, [0.8, 0.95], atol=0.5 * lsb)

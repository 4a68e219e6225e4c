"""Weighted in-pixel convolution (kernel vs reference: test_kernels_vs_reference.py): two-phase signed weights,
physical monotonicity, bad weights / voltages refused, the committed calibration, and SPICE of kernels the
calibration never saw against the model."""

import numpy as np
import pytest

from circuitsim.blocks.inpixel_conv import (
    MAX_CODE,
    SPEC,
    TEST_CODES,
    TEST_OFFSETS_V,
    WIDTHS_UM,
    ConvLut,
    column_voltage,
    energy_per_output_J,
    inpixel_conv,
    load_lut,
)
from circuitsim.errors import InputRangeError

VG = np.round(np.arange(1.0, 1.9001, 0.05), 6)
VCOL = np.round(np.arange(0.0, 1.40001, 0.02), 6)


def _synthetic() -> ConvLut:
    """Square-law followers with body effect folded into the threshold: I = k·W·(v_g − v_col − 0.7)²."""
    vov = np.maximum(VG[:, None] - VCOL[None, :] - 0.7, 0.0)
    sqrt_i = np.stack([np.sqrt(20e-6 * w) * vov for w in WIDTHS_UM[1:]])
    i_load = 20e-6 * np.minimum(VCOL / 0.2, 1.0)
    return ConvLut(VG, VCOL, sqrt_i, i_load, VG, np.full(VG.size, 2e-3), np.array([36e-12, 0.0, 0.0]))


SYNTHETIC = _synthetic()


def test_balance_is_solved():
    """At the solution the followers' currents equal the load's (square law: closed form for one device)."""
    v = np.array([[1.5]])
    for code in (1, 2, 3):
        vcol = column_voltage(v, np.array([[code]]), SYNTHETIC)[0]
        i_dev = 20e-6 * WIDTHS_UM[code] * (1.5 - vcol - 0.7) ** 2
        assert i_dev == pytest.approx(np.interp(vcol, VCOL, SYNTHETIC.i_load_a), rel=2e-2)


def test_two_phase_signed_weights_and_monotonicity():
    v = np.full((1, 9), 1.5)
    pos = np.array([[1, 0, 2, 0, 0, 0, 3, 0, 0]])
    assert inpixel_conv(v, pos, SYNTHETIC)[0] == pytest.approx(column_voltage(v, pos, SYNTHETIC)[0])
    assert inpixel_conv(v, -pos, SYNTHETIC)[0] == pytest.approx(-column_voltage(v, pos, SYNTHETIC)[0])
    assert inpixel_conv(v, pos - pos, SYNTHETIC)[0] == 0.0, "no weights in either phase"
    brighter = v.copy()
    brighter[0, 2] += 0.1
    assert column_voltage(brighter, pos, SYNTHETIC)[0] > column_voltage(v, pos, SYNTHETIC)[0]
    wider = pos.copy()
    wider[0, 0] = 3
    assert column_voltage(v, wider, SYNTHETIC)[0] > column_voltage(v, pos, SYNTHETIC)[0]


def test_weights_outside_the_width_table_are_refused():
    v = np.full((1, 9), 1.5)
    with pytest.raises(InputRangeError, match=r"weight code 4 is outside the width table 0..3 \(widths 0, 0.5, 1, 2 um\)"):
        column_voltage(v, np.full((1, 9), 4), SYNTHETIC)
    with pytest.raises(InputRangeError, match=r"weight code 4 is outside the width table"):
        inpixel_conv(v, np.full((1, 9), -4), SYNTHETIC)
    with pytest.raises(InputRangeError, match="weight codes must be integers"):
        column_voltage(v, np.full((1, 9), 1.5), SYNTHETIC)
    with pytest.raises(InputRangeError, match=r"pixel voltage = 0.5 V is outside the calibrated range \[1, 1.9\] V"):
        column_voltage(np.full((1, 9), 0.5), np.ones((1, 9), int), SYNTHETIC)


def test_energy_per_output():
    assert energy_per_output_J(36e-12, 50e-15, 10e-15) == pytest.approx(72.06e-12, rel=1e-9, abs=0)


def test_committed_tables_are_physical():
    lut = load_lut()
    i = lut.sqrt_i**2
    assert np.all(np.diff(i, axis=2) <= 1e-12), "current falls as the column (source) rises"
    assert np.all(i[1] >= i[0]) and np.all(i[2] >= i[1]), "wider = more current"
    assert lut.i_load_a.max() == pytest.approx(20e-6, rel=0.15)


@pytest.mark.spice
def test_spice_of_unseen_kernels_matches_the_model(sky130):
    """Kernels with other widths, offsets and deselected pixels than the calibrated test kernel: SPICE
    operating point vs the model from the committed unit-device tables, within 0.5 LSB (3.5 mV)."""
    from circuitsim.spice.analyses import apply_point, operating_point
    from circuitsim.spice.netlist import load_netlist, render_deck
    from circuitsim.spice.session import SpiceSession

    lut = load_lut()
    session = SpiceSession.shared()
    session.load(render_deck(load_netlist(SPEC.netlist), sky130, "tt", 27), name="inpixel_conv tt")
    rng = np.random.default_rng(2026)
    errors = []
    for _ in range(6):
        codes = rng.integers(0, MAX_CODE + 1, 9)
        codes[rng.integers(0, 9)] = 3  # at least one device
        vx = rng.uniform(1.25, 1.65)
        offsets = rng.uniform(-0.12, 0.12, 9)
        assert tuple(codes) != TEST_CODES and not np.allclose(offsets, TEST_OFFSETS_V), "a kernel it never saw"
        params = {"vx_v": vx}
        for k in range(9):
            params[f"d{k + 1}_v"] = offsets[k]
            params[f"w{k + 1}_um"] = WIDTHS_UM[codes[k]] if codes[k] else 0.5
            params[f"sel{k + 1}_v"] = 1.8 if codes[k] else 0.0
        apply_point(session, **params)
        spice = operating_point(session, ["col"])["v_col_V"]
        model = column_voltage((vx + offsets)[None, :], codes[None, :], lut)[0]
        errors.append(abs(model - spice))
    assert max(errors) <= 0.5 * SPEC.lsb_v, errors

"""Analog CDS: modes, kT/C noise of the sampling capacitors, two-phase signed weights, the committed
calibration, and one SPICE re-simulation against the artifact (kernel vs reference, seeds, ranges:
test_kernels_vs_reference.py)."""

import numpy as np
import pytest
from scipy import constants

from circuitsim.blocks.cds import (
    SPEC,
    CdsLut,
    CdsParams,
    cds,
    cds_energy_J,
    cds_two_phase,
    load_lut,
)

X = np.round(np.arange(-0.3, 0.7001, 0.2), 6)
SYNTHETIC = CdsLut(
    x_v=X,
    error_v=0.03 * X - 0.01 * X**2,
    sigma_v=np.linspace(1e-3, 2e-3, X.size),
    energy_coeffs=np.array([48e-15, -1e-15, 2e-15]),
    line_coeffs=np.array([0.0, 1.03]),
)


def test_modes():
    x = np.array([-0.3, -0.1, 0.25, 0.7])
    np.testing.assert_array_equal(cds(x, SYNTHETIC, CdsParams(mode="ideal")), x)
    np.testing.assert_allclose(cds(x, SYNTHETIC, CdsParams(mode="hard")), x + np.interp(x, X, SYNTHETIC.error_v),
                               atol=1e-15)


def test_ktc_noise_of_each_capacitor_is_sqrt_kt_over_c():
    """kT/C of one 102 fF sample is sqrt(kT/C) within 5 %; the CDS difference carries both samples."""
    params = CdsParams(mode="noisy", thermal_noise=True)
    c = 2e-15 * 7.15**2
    expected_one = np.sqrt(constants.k * 300.15 / c)
    assert params.ktc_sigma_per_sample_v == pytest.approx(expected_one, rel=1e-12)
    no_mismatch = CdsLut(X, np.zeros(X.size), np.zeros(X.size), SYNTHETIC.energy_coeffs, SYNTHETIC.line_coeffs)
    out = cds(np.full(200_000, 0.2), no_mismatch, params, np.random.default_rng(3))
    per_capacitor = out.std() / np.sqrt(2)  # two equal, independent samples
    assert per_capacitor == pytest.approx(expected_one, rel=0.05)
    assert expected_one == pytest.approx(0.20e-3, rel=0.03)
    unequal = CdsParams(c_a_f=50e-15, c_b_f=200e-15)
    out = cds(np.full(200_000, 0.2), no_mismatch, unequal, np.random.default_rng(4))
    assert out.std() == pytest.approx(np.sqrt(constants.k * 300.15 * (1 / 50e-15 + 1 / 200e-15)), rel=0.05)


def test_two_phase_signed_weights():
    v_pos = np.array([0.9, 0.8, 0.6])
    v_neg = np.array([0.7, 0.9, 0.5])
    params = CdsParams(mode="hard")
    np.testing.assert_allclose(cds_two_phase(v_pos, v_neg, SYNTHETIC, params), cds(v_pos - v_neg, SYNTHETIC, params))
    assert np.sign(cds_two_phase(v_pos, v_neg, SYNTHETIC, CdsParams(mode="ideal"))).tolist() == [1, -1, 1]


def test_committed_lut_is_physical():
    lut = load_lut()
    assert np.all(np.abs(lut.error_v) < 25e-3), "charge injection of tens of mV at most"
    assert abs(lut.line_coeffs[1] - 1) < 0.05 and abs(lut.line_coeffs[0]) < 5e-3
    assert np.all((lut.sigma_v > 0.05e-3) & (lut.sigma_v < 10e-3))
    e = cds_energy_J(lut.x_v, lut)
    assert np.all((e > 20e-15) & (e < 100e-15)), "four inverter drivers and two transmission gates switching"


@pytest.mark.spice
def test_spice_reproduces_committed_held_out_points(sky130):
    """Re-simulate three held-out points at tt (nominal) against the artifact."""
    from circuitsim.blocks.cds import simulate
    from circuitsim.spice.netlist import load_netlist, render_deck
    from circuitsim.spice.session import SpiceSession
    from circuitsim.store import (
        ArtifactStore,
    )

    spice = ArtifactStore().spice_arrays("cds")
    session = SpiceSession.shared()
    session.load(render_deck(load_netlist(SPEC.netlist), sky130, "tt", 27), name="cds tt")

    class Task:
        inputs = tuple(spice["holdout_x"][:3])
        seeds = ()

    out = simulate(session, Task())["out_V"]
    np.testing.assert_allclose(out, spice["nominal_holdout_out_V"][:3], rtol=0, atol=1e-9)


def test_without_thermal_noise_the_spread_is_the_mismatch_lut_alone():
    """thermal_noise=False: the noisy output's σ is the LUT's σ_mm at the input (1.0e-3 V at x = −0.3 V of
    SYNTHETIC), not σ_mm ⊕ kT/C (0.28 mV) nor anything larger (catches the thermal term left on, or a stand-in
    σ when it is off)."""
    x = np.full(200_000, -0.3)
    out = cds(x, SYNTHETIC, CdsParams(mode="noisy", thermal_noise=False), np.random.default_rng(5))
    assert out.std() == pytest.approx(SYNTHETIC.sigma_v[0], rel=0.01)
    with_ktc = cds(x, SYNTHETIC, CdsParams(mode="noisy", thermal_noise=True), np.random.default_rng(5))
    ktc = np.sqrt(2 * constants.k * 300.15 / (2e-15 * 7.15**2))
    assert with_ktc.std() == pytest.approx(np.hypot(SYNTHETIC.sigma_v[0], ktc), rel=0.01)


def test_two_phase_noise_uses_the_given_generator():
    """Noisy two-phase output = cds of the difference with the same generator state: reproducible from the
    caller's seed (catches the generator dropped for a fresh, unseeded one)."""
    v_pos, v_neg = np.full(1000, 0.6), np.full(1000, 0.3)
    params = CdsParams(mode="noisy")
    a = cds_two_phase(v_pos, v_neg, SYNTHETIC, params, np.random.default_rng(11))
    b = cds(v_pos - v_neg, SYNTHETIC, params, np.random.default_rng(11))
    np.testing.assert_array_equal(a, b)


def test_a_difference_outside_the_calibration_is_refused_naming_the_input():
    from circuitsim.errors import InputRangeError

    with pytest.raises(InputRangeError, match=r"^v_a - v_b = 0\.9 V is outside the calibrated range"):
        cds(np.array([0.1, 0.9]), SYNTHETIC, CdsParams(mode="hard"))

"""4T pixel: EMVA 1288 model (kTC cancelled by CDS; kernel vs reference and seeds: test_kernels_vs_reference.py), the
photon-transfer curve (slope = conversion gain within 2 %, saturation at full well), bad inputs, the
committed calibration, and one SPICE re-simulation of held-out points against the artifact."""

import numpy as np
import pytest
from scipy import constants

from circuitsim.blocks import buffers
from circuitsim.blocks.buffers import BufferLut
from circuitsim.blocks.pixel_4t import (
    SPEC,
    Pixel4tParams,
    expected_ptc,
    fixed_pattern,
    load_lut,
    output_conversion_gain_v_per_e,
    params_from_artifact,
    photon_transfer,
    pixel_4t,
    ptc_slope_v_per_e,
)
from circuitsim.errors import InputRangeError

X = np.round(np.arange(1.2, 1.9001, 0.05), 6)
SYNTHETIC = BufferLut(
    x_v=X,
    out_v=-0.62 + 0.82 * X - 0.05 * (X - 1.55) ** 2,
    sigma_v=np.full(X.size, 3e-3),
    energy_coeffs=np.array([10e-12, 0.0, 0.0]),
    line_coeffs=np.array([-0.62, 0.82]),
)
PARAMS = Pixel4tParams()
T_EXP_S = 10e-3


def flux_for(electrons):
    """Photon flux (photons/s) that gives ``electrons`` photo-electrons in T_EXP_S."""
    return np.asarray(electrons, float) / (PARAMS.quantum_efficiency * T_EXP_S)


def test_photon_transfer_slope_is_the_conversion_gain():
    """PTC of the EMVA linear model (straight-line SF): slope = configured K = CG · g_SF within 2 %."""
    params = Pixel4tParams(sf_mode="ideal")
    electrons = np.linspace(0, 0.7 * params.full_well_e, 14)
    mean, var = photon_transfer(flux_for(electrons), T_EXP_S, SYNTHETIC, params, np.random.default_rng(7),
                                frames=20_000)
    slope = ptc_slope_v_per_e(mean, var, max_fraction_of_full_well=1.0)
    assert slope == pytest.approx(output_conversion_gain_v_per_e(params, SYNTHETIC), rel=0.02)


def test_photon_transfer_through_the_sf_lut():
    """With the SF LUT the PTC bends with the follower's local gain; the simulated slope equals the shot
    noise propagated through the LUT's local slope within 2 %."""
    params = Pixel4tParams(sf_mode="hard")
    electrons = np.linspace(0, 0.7 * params.full_well_e, 14)
    mean, var = photon_transfer(flux_for(electrons), T_EXP_S, SYNTHETIC, params, np.random.default_rng(7),
                                frames=20_000)
    m_exp, v_exp = expected_ptc(electrons, SYNTHETIC, params)
    assert ptc_slope_v_per_e(mean, var, 1.0) == pytest.approx(ptc_slope_v_per_e(m_exp, v_exp, 1.0), rel=0.02)


def test_photon_transfer_saturates_at_full_well():
    params = Pixel4tParams(sf_mode="ideal", read_noise_v=0.0, dark_current_e_per_s=0.0)
    k = output_conversion_gain_v_per_e(params, SYNTHETIC)
    electrons = np.array([0.5, 0.9, 1.5, 3.0, 10.0]) * params.full_well_e
    mean, var = photon_transfer(flux_for(electrons), T_EXP_S, SYNTHETIC, params, np.random.default_rng(3),
                                frames=5000)
    assert mean[2:] == pytest.approx(params.full_well_e * k, rel=1e-9), "clipped at full well"
    assert np.all(var[2:] < 1e-3 * var[1]), "the variance collapses at saturation"
    assert mean[0] == pytest.approx(0.5 * params.full_well_e * k, rel=0.01)


def test_ktc_cancelled_by_cds():
    base = dict(sf_mode="ideal", read_noise_v=0.0, dark_current_e_per_s=0.0)
    flux = np.zeros(50_000)
    with_cds = pixel_4t(flux, T_EXP_S, SYNTHETIC, Pixel4tParams(cds=True, **base), np.random.default_rng(1))
    without = pixel_4t(flux, T_EXP_S, SYNTHETIC, Pixel4tParams(cds=False, **base), np.random.default_rng(1))
    assert np.all(with_cds == 0.0)
    sigma_ktc = np.sqrt(constants.k * 300.15 / PARAMS.c_fd_f)
    assert without.std() == pytest.approx(0.82 * sigma_ktc, rel=0.02)


def test_dark_signal_and_fixed_pattern():
    params = Pixel4tParams(sf_mode="ideal", read_noise_v=0.0, dark_current_e_per_s=1000.0)
    k = output_conversion_gain_v_per_e(params, SYNTHETIC)
    out = pixel_4t(np.zeros(100_000), T_EXP_S, SYNTHETIC, params, np.random.default_rng(2))
    assert out.mean() == pytest.approx(1000.0 * T_EXP_S * k, rel=0.01)
    assert out.var() == pytest.approx(1000.0 * T_EXP_S * k**2, rel=0.05), "dark shot noise"
    pattern = fixed_pattern((100_000,), Pixel4tParams(prnu_fraction=0.02), SYNTHETIC, np.random.default_rng(4))
    assert pattern.gain.std() == pytest.approx(0.02, rel=0.05)


def test_bad_inputs_are_refused_with_the_valid_range():
    with pytest.raises(InputRangeError, match=r"photon flux = -1 photons/s per pixel is outside the valid range \[0, inf\)"):
        pixel_4t(np.array([1.0, -1.0]), T_EXP_S, SYNTHETIC, PARAMS, np.random.default_rng(0))
    for bad in (0.0, -1e-3):
        with pytest.raises(InputRangeError, match=r"exposure = .* s is outside the valid range \(0, inf\) s"):
            pixel_4t(np.array([1.0]), bad, SYNTHETIC, PARAMS, np.random.default_rng(0))


def test_beyond_full_well_is_clipped_not_crashed():
    params = Pixel4tParams(sf_mode="ideal", read_noise_v=0.0)
    out = pixel_4t(np.array([1e12, 1e20, np.finfo(float).max]), T_EXP_S, SYNTHETIC, params, np.random.default_rng(0))
    np.testing.assert_allclose(out, params.full_well_e * output_conversion_gain_v_per_e(params, SYNTHETIC), rtol=1e-9)


def test_committed_calibration_is_physical():
    lut = load_lut()
    params = params_from_artifact()
    gain = np.diff(lut.out_v) / np.diff(lut.x_v)
    assert np.all((gain > 0.6) & (gain < 0.9)), "NMOS follower with body effect"
    assert 20e-6 < params.conversion_gain_v_per_e < 40e-6
    assert 3e-15 < params.c_fd_f < 8e-15
    assert 10_000 < params.full_well_e < 30_000
    assert params.v_fd_reset_v > 1.75, "PMOS hard reset to VDD (plus the gate's feed-through)"
    assert np.all((lut.sigma_v > 0.5e-3) & (lut.sigma_v < 20e-3))
    e = buffers.energy_J(lut.x_v, lut)
    assert np.all((e > 8e-12) & (e < 13e-12)), "≈ VDD · 5 µA · 1 µs plus the column line charge"
    # the PTC of the calibrated pixel: slope = its conversion gain within 2 % (EMVA linear model), and the
    # curve saturates at full well
    ideal = params_from_artifact(sf_mode="ideal")
    electrons = np.concatenate([np.linspace(0, 0.7, 12), [1.2, 2.0]]) * params.full_well_e
    mean, var = photon_transfer(flux_for(electrons), T_EXP_S, lut, ideal, np.random.default_rng(11), frames=20_000)
    k = output_conversion_gain_v_per_e(ideal, lut)
    assert ptc_slope_v_per_e(mean[:-2], var[:-2], 1.0) == pytest.approx(k, rel=0.02)
    assert mean[-2:] == pytest.approx(ideal.full_well_e * k, rel=1e-3)


@pytest.mark.spice
def test_spice_reproduces_committed_held_out_points(sky130):
    """Re-simulate the held-out grid at tt (nominal, the calibration's DC sweep) against the artifact."""
    from circuitsim.spice.analyses import apply_point
    from circuitsim.spice.netlist import load_netlist, render_deck
    from circuitsim.spice.session import SpiceSession
    from circuitsim.store import (
        ArtifactStore,
    )

    session = SpiceSession.shared()
    spice = ArtifactStore().spice_arrays("pixel_4t")
    session.load(render_deck(load_netlist(SPEC.netlist), sky130, "tt", 27), name="pixel_4t tt")
    apply_point(session, rforce_ohm=1.0)
    x = np.concatenate([spice["fit_x"], spice["holdout_x"]])
    out, _ = buffers.dc_transfer(session, x, "vfd", "col")
    np.testing.assert_allclose(out[len(spice["fit_x"]):], spice["nominal_holdout_out_V"], rtol=0, atol=1e-9)

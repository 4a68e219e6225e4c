import numpy as np
import pytest

from circuitsim.blocks.sample_hold import (
    BOLTZMANN_J_PER_K,
    SampleHoldLut,
    SampleHoldParams,
    load_lut,
    sample_hold,
    sample_hold_energy_J,
    sample_hold_reference,
)
from circuitsim.errors import InputRangeError

SYNTHETIC = SampleHoldLut(
    x_v=np.linspace(0.1, 1.7, 17),
    error_v=np.linspace(-8e-3, 12e-3, 17) ** 1,
    sigma_v=np.linspace(0.5e-3, 1.5e-3, 17),
    energy_coeffs=np.array([20e-15, 1e-15, 0.5e-15]),
)


@pytest.mark.parametrize("mode", ["ideal", "hard", "noisy"])
@pytest.mark.parametrize("thermal", [True, False])
def test_kernel_matches_reference(mode, thermal):
    v = np.random.default_rng(0).uniform(0.1, 1.7, 1000)
    params = SampleHoldParams(mode=mode, thermal_noise=thermal)
    a = sample_hold(v, SYNTHETIC, params, np.random.default_rng(5))
    b = sample_hold_reference(v, SYNTHETIC, params, np.random.default_rng(5))
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-15)


def test_hard_mode_interpolates_the_error_lut():
    x = np.array([0.1, 0.15, 1.7])
    out = sample_hold(x, SYNTHETIC, SampleHoldParams(mode="hard"))
    np.testing.assert_allclose(out - x, np.interp(x, SYNTHETIC.x_v, SYNTHETIC.error_v), atol=1e-15)


def test_seeded_reproducibility():
    v = np.full(100, 0.9)
    params = SampleHoldParams()
    a = sample_hold(v, SYNTHETIC, params, np.random.default_rng(42))
    b = sample_hold(v, SYNTHETIC, params, np.random.default_rng(42))
    c = sample_hold(v, SYNTHETIC, params, np.random.default_rng(43))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_noise_statistics_match_mismatch_and_ktc():
    v = np.full(200_000, 0.9)
    params = SampleHoldParams()
    out = sample_hold(v, SYNTHETIC, params, np.random.default_rng(1))
    sigma_mm = np.interp(0.9, SYNTHETIC.x_v, SYNTHETIC.sigma_v)
    sigma_th = np.sqrt(BOLTZMANN_J_PER_K * params.temperature_k / params.c_hold_f)
    assert params.thermal_sigma_v == pytest.approx(sigma_th)
    assert sigma_th == pytest.approx(0.201e-3, rel=0.01)  # sqrt(kT/C), C = 102 fF, 300 K
    assert out.std() == pytest.approx(np.hypot(sigma_mm, sigma_th), rel=0.01)


def test_out_of_range_input_refused_with_range():
    with pytest.raises(InputRangeError, match=r"v_in = 1.8 V is outside the calibrated range \[0.1, 1.7\] V"):
        sample_hold(np.array([0.5, 1.8]), SYNTHETIC, SampleHoldParams(mode="hard"))
    with pytest.raises(InputRangeError, match="v_in = nan"):
        sample_hold(np.array([np.nan]), SYNTHETIC, SampleHoldParams(mode="hard"))


def test_noisy_mode_requires_a_generator():
    with pytest.raises(ValueError, match="numpy.random.Generator"):
        sample_hold(np.array([0.5]), SYNTHETIC, SampleHoldParams())


def test_energy_polynomial():
    assert sample_hold_energy_J(np.array([1.0]), SYNTHETIC)[0] == pytest.approx(21.5e-15)


def test_committed_lut_loads_and_is_physical():
    lut = load_lut("tt", 27)
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

"""Frame-level LeCA simulation from the committed artifacts (no ngspice)."""

import numpy as np
import pytest

from circuitsim.store import OperatingPoint
from circuitsim.errors import InputRangeError
from circuitsim.sensor import leca


@pytest.fixture(scope="module")
def models():
    return leca.Models.load()


@pytest.fixture(scope="module")
def raw():
    return leca.rgb_to_bayer(leca.test_scene(64))


def _cfg(mode, n_ch=8, **kw):
    return leca.LecaConfig(weights=leca.default_weights(n_ch), mode=mode, **kw)


@pytest.mark.parametrize("mode", ["ideal", "hard", "noisy"])
def test_numba_matches_numpy_reference(raw, models, mode):
    cfg = _cfg(mode)
    a = leca.simulate_frame(raw, cfg, np.random.default_rng(4), models)
    b = leca.simulate_frame(raw, cfg, np.random.default_rng(4), models, reference=True)
    np.testing.assert_allclose(a.analog_v, b.analog_v, rtol=0, atol=1e-12)
    assert np.array_equal(a.codes, b.codes)
    assert a.codes.shape == (8, 16, 16)


def test_ideal_chain_is_the_effective_weight_convolution(raw, models):
    """Eq. 3 over 16 MACs is linear: v_p = V_CM·Π(1−α) + Σ_m β_m·(2·V_CM − v_in,m) over the MACs steered
    to the positive buffer, β_m = α_m·Π_{later MACs on the same buffer}(1 − α), α = C_s/(C_s + C_out).
    Computed here in closed form, independently of the simulator's MAC loop."""
    cfg = _cfg("ideal", n_ch=4)
    out = leca.simulate_frame(raw, cfg, np.random.default_rng(0), models).analog_v
    v_pix = leca.pixel_voltages(raw, cfg, models, np.random.default_rng(0))[0]     # (nby, nbx, 4, 4)
    p, f, s = models.psf_lut, models.fvf_lut, models.scm_params
    vin = (p.line_coeffs[0] + p.line_coeffs[1] * v_pix).reshape(v_pix.shape[:2] + (16,))
    for k, kernel in enumerate(cfg.weights):
        w = kernel.ravel()
        alpha = np.abs(w) * s.c_unit_f / (np.abs(w) * s.c_unit_f + s.c_out_f)
        buffers = []
        for positive in (True, False):
            on = (w > 0) if positive else (w < 0)
            beta = np.zeros(16)
            for m in np.nonzero(on)[0]:
                later = [j for j in np.nonzero(on)[0] if j > m]
                beta[m] = alpha[m] * np.prod(1 - alpha[later])
            keep = np.prod(1 - alpha[on])
            buffers.append(s.v_cm_v * keep + (beta * (2 * s.v_cm_v - vin)).sum(-1))
        expected = f.line_coeffs[1] * (buffers[0] - buffers[1])
        np.testing.assert_allclose(out[k], expected, rtol=0, atol=1e-12)


def test_hard_mode_stays_within_the_calibrated_nonidealities(raw, models):
    """hard − ideal is bounded by the blocks' LUT deviations from their ideal forms, propagated through
    the chain: the PSF's deviation from its line (Σβ ≤ 1 per buffer), 16 MACs of SCM error on each buffer,
    and the FVF's deviation from its line on each side."""
    ideal = leca.simulate_frame(raw, _cfg("ideal"), np.random.default_rng(0), models).analog_v
    hard = leca.simulate_frame(raw, _cfg("hard"), np.random.default_rng(0), models).analog_v
    p, s, f = models.psf_lut, models.scm_lut, models.fvf_lut
    d_psf = np.abs(p.out_v - (p.line_coeffs[0] + p.line_coeffs[1] * p.x_v)).max()
    d_fvf = np.abs(f.out_v - (f.line_coeffs[0] + f.line_coeffs[1] * f.x_v)).max()
    d_scm = 16 * (np.abs(s.error_p_v).max() + np.abs(s.error_n_v).max())
    gain = max(abs(f.line_coeffs[1]), np.abs(np.diff(f.out_v) / np.diff(f.x_v)).max())
    bound = gain * 2 * (d_psf + d_scm) + 2 * d_fvf
    assert np.abs(hard - ideal).max() <= bound
    assert np.abs(hard - ideal).max() > 0, "the calibrated chain is not ideal"


def test_repetitive_readout_for_more_than_four_channels(raw, models):
    cfg = _cfg("hard", n_ch=6)
    assert cfg.passes == 2
    res = leca.simulate_frame(raw, cfg, np.random.default_rng(0), models)
    assert res.codes.shape == (6, 16, 16)
    four = leca.simulate_frame(raw, _cfg("hard", n_ch=4), np.random.default_rng(0), models)
    np.testing.assert_allclose(res.analog_v[:4], four.analog_v, atol=1e-12)


def test_seeded_noise(raw, models):
    cfg = _cfg("noisy")
    a = leca.simulate_frame(raw, cfg, np.random.default_rng(9), models).analog_v
    b = leca.simulate_frame(raw, cfg, np.random.default_rng(9), models).analog_v
    c = leca.simulate_frame(raw, cfg, np.random.default_rng(10), models).analog_v
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_quantizer_levels():
    cfg = leca.LecaConfig(weights=leca.default_weights(1), q_bits=1.5, adc_full_scale_v=0.3)
    assert leca.quantize(np.array([-1.0, -0.11, 0.0, 0.11, 1.0]), cfg).tolist() == [0, 0, 1, 2, 2]
    cfg4 = leca.LecaConfig(weights=leca.default_weights(1), q_bits=4, adc_full_scale_v=0.5)
    assert leca.quantize(np.array([-0.5, -0.4999, 0.0, 0.4999, 0.6]), cfg4).tolist() == [0, 0, 8, 15, 15]


def test_bayer_mapping_halves_and_duplicates_green():
    k = np.zeros((1, 3, 2, 2))
    k[0, 0, 0, 0], k[0, 1, 0, 1], k[0, 2, 1, 1] = 6, 8, -10
    b = leca.rgb_kernel_to_bayer(k)[0]
    assert b[0, 0] == 6 and b[0, 3] == 4 and b[1, 2] == 4 and b[3, 3] == -10 and b.sum() == 4


@pytest.mark.parametrize("kwargs, message", [
    ({"weights": np.full((2, 4, 4), 16)}, "integers in -15..15"),
    ({"weights": np.zeros((2, 3, 3), int)}, r"shape \(N_ch, 4, 4\)"),
    ({"weights": np.zeros((1, 4, 4), int), "q_bits": 5}, "q_bits must be one of 1.5, 2, 3, 4"),
    ({"weights": np.zeros((1, 4, 4), int), "exposure_s": 0}, "must be > 0"),
])
def test_bad_configs_refused(kwargs, message):
    with pytest.raises(InputRangeError, match=message):
        leca.LecaConfig(**kwargs)


def test_bad_images_refused(models):
    cfg = _cfg("hard")
    with pytest.raises(InputRangeError, match="divisible by 4"):
        leca.simulate_frame(np.zeros((10, 12)), cfg, np.random.default_rng(0), models)
    with pytest.raises(InputRangeError, match=">= 0"):
        leca.simulate_frame(-np.ones((8, 8)), cfg, np.random.default_rng(0), models)


def test_corner_where_the_psf_leaves_the_scm_range_is_refused(raw):
    """At ss the PSF output of a dark pixel (~1.47 V) is beyond the SCM's calibrated 0.6-1.4 V."""
    cfg = leca.LecaConfig(weights=leca.default_weights(4), mode="hard", point=OperatingPoint("ss"))
    with pytest.raises(InputRangeError, match="outside the SCM's calibrated input range"):
        leca.simulate_frame(raw, cfg, np.random.default_rng(0))

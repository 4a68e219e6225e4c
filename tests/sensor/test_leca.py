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


def test_hard_mode_is_the_superposition_of_spice_single_macs(raw, models):
    """Catches the SCM injection sign flipped (or its reset pedestal / carried share wrong) in the chain: the
    injection of one MAC is up to 11.7 mV (w = 15 at v_in = 0.6 V); the bound here is 1e-9 V (floating point).

    Hard mode against the committed SPICE data, composed here. Charge sharing (Eq. 3) keeps a fraction
    1 − α = C_out/(C_out + C_s) of the receiving o-buffer's previous charge; the model's stated assumption is
    that a MAC's injected charge does not depend on the buffer's previous voltage. Then, with u the o-buffer's
    deviation from its reset level V_CM + ρ (ρ: SPICE's buffer level after a zero word from reset) and S(v, w)
    SPICE's buffer level after one MAC from reset, each MAC does

        receiving buffer:  u ← (S_recv(v_in, w) − V_CM − ρ) + (1 − α)·u
        other buffer:      u ← u + (S_other(v_in, w) − V_CM − ρ)

    with v_in = PSF(v_pix) and the output FVF(v_p) − FVF(v_n), all three blocks SPICE's nominal DC transfers
    (linear interpolation, the models' rule); C_s = |w|·C_u and C_out from the MIM geometry of
    netlists/scm.cir (2 fF/um² · (side + 0.15 um)²)."""
    from circuitsim.store import ArtifactStore

    store = ArtifactStore()
    s_psf, s_fvf, s_scm = (store.spice_arrays(b) for b in ("psf", "fvf", "scm"))
    v_cm = 0.8  # .param vcm_v of netlists/scm.cir
    c_u, c_out = 2e-15 * (2.0 + 0.15) ** 2, 2e-15 * (8.07 + 0.15) ** 2  # xc0 and xcop of netlists/scm.cir
    x = s_scm["fit_x"]

    def mac(v, w, side):
        sel = x[:, 1] == w
        return np.interp(v, x[sel, 0], s_scm[f"nominal_fit_out{side}_V"][sel])

    rho = {side: float(mac(1.0, 0, side)) - v_cm for side in "pn"}
    cfg = _cfg("hard")
    hard = leca.simulate_frame(raw, cfg, np.random.default_rng(0), models).analog_v
    v_pix = leca.pixel_voltages(raw, cfg, models, np.random.default_rng(0))
    v_in = np.interp(v_pix, s_psf["fit_x"], s_psf["nominal_fit_out_V"]).reshape(v_pix.shape[:3] + (16,))
    for k, kernel in enumerate(cfg.weights):
        vin = v_in[k // 4]
        u = {"p": np.zeros(vin.shape[:2]), "n": np.zeros(vin.shape[:2])}
        for m, w in enumerate(kernel.ravel()):
            word = int(w) if w >= 0 else 16 + abs(int(w))
            recv, other = ("p", "n") if w >= 0 else ("n", "p")
            alpha = abs(w) * c_u / (abs(w) * c_u + c_out)
            u[recv] = mac(vin[..., m], word, recv) - v_cm - rho[recv] + (1 - alpha) * u[recv]
            u[other] = u[other] + mac(vin[..., m], word, other) - v_cm - rho[other]
        vp, vn = (v_cm + rho[side] + u[side] for side in "pn")
        expected = (np.interp(vp, s_fvf["fit_x"], s_fvf["nominal_fit_out_V"])
                    - np.interp(vn, s_fvf["fit_x"], s_fvf["nominal_fit_out_V"]))
        np.testing.assert_allclose(hard[k], expected, rtol=0, atol=1e-9, err_msg=f"kernel {k}")


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

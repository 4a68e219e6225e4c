"""Frame-level in-sensor SNN first layer from the committed artifacts (no ngspice)."""

import numpy as np
import pytest

from circuitsim.errors import InputRangeError
from circuitsim.sensor import leca, snn


@pytest.fixture(scope="module")
def models():
    return snn.SnnModels.load()


@pytest.fixture(scope="module")
def image():
    return leca.test_scene(32)


@pytest.mark.parametrize("mode", ["hard", "noisy"])
def test_kernels_match_the_numpy_oracles(image, models, mode):
    cfg = snn.default_snn_config(3, seed=1, mode=mode)
    a = snn.simulate_snn_frame(image, cfg, np.random.default_rng(5), models)
    b = snn.simulate_snn_frame(image, cfg, np.random.default_rng(5), models, reference=True)
    np.testing.assert_allclose(a.cds_v, b.cds_v, atol=1e-9)
    assert np.array_equal(a.spikes, b.spikes) and a.spikes.shape == (3, 15, 15)


def test_hard_spikes_are_the_threshold_on_the_cds_output(image, models):
    """The bias is chosen so the comparator trips at V_CMP_REF + θ: a spike iff CDS output > θ."""
    cfg = snn.default_snn_config(4, seed=2, mode="hard")
    res = snn.simulate_snn_frame(image, cfg, np.random.default_rng(0), models)
    expected = res.cds_v > np.asarray(cfg.thresholds_v)[:, None, None]
    margin = np.abs(res.cds_v - np.asarray(cfg.thresholds_v)[:, None, None]) > 1e-4  # interpolation at the LUT
    assert np.array_equal(res.spikes.astype(bool)[margin], expected[margin])
    assert 0.05 < res.spike_rate < 0.95


def test_brighter_scene_changes_the_cds_output(models):
    cfg = snn.default_snn_config(2, seed=3, mode="hard")
    dark = snn.simulate_snn_frame(np.full((16, 16, 3), 0.1), cfg, np.random.default_rng(0), models).cds_v
    bright = snn.simulate_snn_frame(np.full((16, 16, 3), 0.9), cfg, np.random.default_rng(0), models).cds_v
    assert not np.allclose(dark, bright)
    assert np.allclose(dark, dark.mean(axis=(1, 2), keepdims=True)), "a flat field gives a flat output in hard mode"


@pytest.mark.parametrize("kwargs, message", [
    ({"weights": np.full((1, 3, 3, 3), 4), "thresholds_v": np.zeros(1)}, "width codes in -3..3"),
    ({"weights": np.zeros((1, 3, 3, 3), int), "thresholds_v": np.zeros(2)}, "one value per channel"),
    ({"weights": np.zeros((1, 3, 3, 3), int), "thresholds_v": np.zeros(1), "mode": "ideal"}, "hard, noisy"),
])
def test_bad_configs_refused(kwargs, message):
    with pytest.raises(InputRangeError, match=message):
        snn.SnnConfig(**kwargs)


def test_threshold_outside_the_comparator_range_refused(image, models):
    cfg = snn.SnnConfig(weights=np.zeros((1, 3, 3, 3), int), thresholds_v=np.array([0.5]), mode="hard")
    with pytest.raises(InputRangeError):
        snn.simulate_snn_frame(image, cfg, np.random.default_rng(0), models)


def test_leca_noise_statistics_match_the_fvf_lut():
    """All-zero weights leave both o-buffers at their reset level: the only spread across the
    column-parallel PEs is the two FVFs' mismatch, std = sqrt(2)·σ_FVF(v) from the Monte Carlo LUT (the
    zero words' own mismatch, 16 x 0.06 mV in quadrature, is 0.1 % of it). Bound: the chi-square interval of
    the sample variance of the 11 200 draws, two-sided 1 − 1e-4 (±2.6 % in std)."""
    from scipy import stats

    models = leca.Models.load()
    cfg = leca.LecaConfig(weights=np.zeros((4, 4, 4), np.int64), mode="noisy")
    raw = np.zeros((8, 448))  # 2 block rows x 112 PEs
    samples = [leca.simulate_frame(raw, cfg, np.random.default_rng(s), models).analog_v[:, 0, :] for s in range(25)]
    d = np.concatenate(samples).ravel()  # 25 seeds x 4 kernels x 112 PEs of independent draws
    f, s = models.fvf_lut, models.scm_lut
    rho_p = np.mean(s.error_p_v[:, [0, 16]])
    sigma = np.interp(models.scm_params.v_cm_v + rho_p, f.x_v, f.sigma_v)
    lo, hi = stats.chi2.ppf([0.5e-4, 1 - 0.5e-4], d.size - 1) / (d.size - 1)
    assert lo <= d.var(ddof=1) / (2 * sigma**2) <= hi

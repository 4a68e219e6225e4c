"""2T spiking comparator: the modes' decisions, threshold mapping and BN folding, energy model vs SPICE
(idle decisions too), threshold refusals with the valid range (kernel vs reference, seeds, input ranges:
test_kernels_vs_reference.py)."""

import numpy as np
import pytest

from circuitsim.blocks import comparator2t as c2t
from circuitsim.config import project_root
from circuitsim.errors import InputRangeError
from circuitsim.store import SPICE_FILE, ArtifactStore, OperatingPoint, load_artifact

ROOT = project_root() / "calibration"


@pytest.fixture(scope="module")
def lut():
    return c2t.load_lut()


def test_hard_decision_is_the_trip_point(lut):
    v_b = np.array([0.0, 0.25, 0.6])
    trip = c2t.trip_point_v(v_b, lut)
    assert np.all(c2t.comparator2t(trip + 1e-4, v_b, lut) == 1)
    assert np.all(c2t.comparator2t(trip - 1e-4, v_b, lut) == 0)
    smooth = c2t.comparator2t(trip, v_b, lut, c2t.Comparator2tParams(mode="ideal"))
    np.testing.assert_allclose(smooth, 0.5)


def test_noisy_offsets_fixed_per_instance(lut):
    params = c2t.Comparator2tParams(mode="noisy")
    z = np.random.default_rng(1).standard_normal(500)
    trip = c2t.trip_point_v(0.3, lut)
    sigma = np.interp(0.3, lut.v_bias_v, lut.sigma_v)
    fired = c2t.comparator2t(np.full(500, trip), 0.3, lut, params, z_offset=z)
    np.testing.assert_array_equal(fired, (z < 0).astype(float))  # fires when its offset lowers the trip point
    a = c2t.comparator2t(np.full(500, trip + sigma), 0.3, lut, params, np.random.default_rng(5))
    assert 0.78 < a.mean() < 0.9  # Φ(1) = 0.84


def test_bias_for_threshold_inverts_the_trip_lut(lut):
    v_b = np.linspace(0.0, 0.6, 25)
    np.testing.assert_allclose(c2t.bias_for_threshold_v(c2t.trip_point_v(v_b, lut), lut), v_b, atol=1e-9)
    lo, hi = lut.threshold_range_v
    with pytest.raises(InputRangeError, match=r"threshold = 1.5 V is outside the calibrated range \[0\.7\d*, 1\.04\d*\] V"):
        c2t.bias_for_threshold_v([0.9, 1.5], lut)
    with pytest.raises(InputRangeError, match="v_bias"):
        c2t.trip_point_v(0.8, lut)


def test_fold_batchnorm_hand_computed():
    # y = 2 (x - 0.5)/sqrt(0.04 + 0) + 0.1 >= 1  <=>  x >= 0.5 + 0.9 * 0.2 / 2 = 0.59
    v, inv = c2t.fold_batchnorm([2.0, -2.0], [0.1, 0.1], [0.5, 0.5], [0.04, 0.04], eps=1e-12, theta=1.0,
                                v_per_unit=0.5, v_zero_v=0.6)
    np.testing.assert_allclose(v, [0.6 + 0.5 * 0.59, 0.6 + 0.5 * 0.41])
    np.testing.assert_array_equal(inv, [False, True])
    with pytest.raises(ValueError, match="gamma = 0"):
        c2t.fold_batchnorm([0.0], [0.0], [0.0], [1.0])


def test_folded_threshold_reproduces_the_bn_lif_decision(lut):
    rng = np.random.default_rng(0)
    gamma, beta, mean, var = 1.5, -0.2, 0.3, 0.09
    v_thr, _ = c2t.fold_batchnorm(gamma, beta, mean, var, theta=0.5, v_per_unit=0.4, v_zero_v=0.6)
    x = rng.uniform(0.0, 1.2, 5000)
    reference = (gamma * (x - mean) / np.sqrt(var + 1e-5) + beta) >= 0.5
    v_b = c2t.bias_for_threshold_v(v_thr, lut)
    spikes = c2t.comparator2t(0.6 + 0.4 * x, v_b, lut)
    assert np.mean(spikes.astype(bool) != reference) < 1e-3


def test_energy_model_against_spice_at_held_out_biases():
    """Firing energy is the contract's energy (validated); the idle (non-firing) energy is checked here."""
    for point, path in ArtifactStore(ROOT).directories("comparator2t").items():
        spice = load_artifact(path).arrays(SPICE_FILE)
        lut = c2t.load_lut(OperatingPoint.from_name(point))
        x = spice["holdout_x"]
        trip = spice["nominal_holdout_out_V"]
        np.testing.assert_allclose(c2t.energy_per_decision_J(trip + 0.1, x, lut),
                                   spice["nominal_holdout_energy_J"], rtol=0.05, err_msg=point)
        np.testing.assert_allclose(c2t.energy_per_decision_J(trip - 0.1, x, lut),
                                   spice["nominal_holdout_energy_idle_J"], rtol=0.05, err_msg=point)
        rate = c2t.energy_per_decision_at_rate_J(0.25, x, lut)
        expected = 0.25 * spice["nominal_holdout_energy_J"] + 0.75 * spice["nominal_holdout_energy_idle_J"]
        np.testing.assert_allclose(rate, expected, rtol=0.05, err_msg=point)


def test_monte_carlo_offset_is_the_trip_spread():
    spice = load_artifact(ArtifactStore(ROOT).directories("comparator2t")["tt_27C"]).arrays(SPICE_FILE)
    assert spice["mc_fit_out_V"].shape == (400, 7) and spice["mc_holdout_out_V"].shape == (200, 6)
    assert not np.isnan(spice["mc_fit_out_V"]).any()
    sigma = spice["mc_holdout_out_V"].std(axis=0, ddof=1)
    assert np.all((sigma > 3e-3) & (sigma < 10e-3))  # Pelgrom for two 1/1 um devices: a few mV

"""Switched-capacitor multiplier: LeCA Eq. 3 by hand, modes, weight-word errors,
accumulation, σ on its own Monte Carlo axis, the committed calibration (bars at every corner, σ at tt) and
(SPICE) the committed artifact re-simulated. Kernel vs reference, seeds and input ranges:
test_kernels_vs_reference.py."""

import numpy as np
import pytest

from circuitsim.blocks import scm, scm_calibration
from circuitsim.blocks.scm import (
    ScmLut,
    ScmParams,
    scm_accumulate,
    scm_energy_per_mac_J,
    scm_mac,
    scm_mac_reference,
)
from circuitsim.errors import InputRangeError
from circuitsim.store import ArtifactStore

X = np.linspace(0.6, 1.4, 9)
RNG = np.random.default_rng(3)
SYNTHETIC = ScmLut(
    x_v=X,
    error_v=RNG.normal(0, 3e-3, (9, 32)),
    sigma_v=np.abs(RNG.normal(2e-3, 0.5e-3, (9, 32))),
    error_p_v=RNG.normal(0, 2e-3, (9, 32)),
    error_n_v=RNG.normal(0, 2e-3, (9, 32)),
    energy_J=np.tile(50e-15 + 10e-15 * X[:, None], (1, 32)),
    latency_s=15e-9,
)
HAND = ScmParams(c_unit_f=10e-15, c_out_f=150e-15, v_cm_v=0.9, mode="ideal")


def test_eq3_by_hand():
    # word 15: C_s = 150 fF; from V_CM = 0.9: (150·(1.8 − 1.2) + 150·0.9) / 300 = 0.75 V on the positive buffer
    # word 16 + 5: C_s = 50 fF, negative; (50·(1.8 − 0.6) + 150·0.9) / 200 = 0.975 V on the negative buffer
    out = scm_mac(np.array([1.2, 0.6, 1.0]), np.array([15, 21, 0]), SYNTHETIC, HAND)
    np.testing.assert_allclose(out, [0.75 - 0.9, 0.9 - 0.975, 0.0], atol=1e-15)
    # two MACs on the positive buffer: (150·0.6 + 150·0.75) / 300 = 0.675 V
    vp, vn = scm_accumulate(np.array([1.2, 1.2, 0.6]), np.array([15, 15, 21]), SYNTHETIC, HAND)
    np.testing.assert_allclose(vp, [0.75, 0.675, 0.675], atol=1e-15)
    np.testing.assert_allclose(vn, [0.9, 0.9, 0.975], atol=1e-15)
    assert scm.eq3(1.2, 150e-15, 0.9, 150e-15, 0.9) == pytest.approx(0.75)


def test_signed_weight_and_words():
    assert scm.signed_weight([0, 5, 15, 16, 21, 31]).tolist() == [0, 5, 15, 0, -5, -15]


def test_hard_mode_adds_the_error_lut_exactly_on_grid():
    v = np.repeat(X, 32)
    w = np.tile(np.arange(32), 9)
    ideal = scm_mac(v, w, SYNTHETIC, ScmParams(mode="ideal"))
    hard = scm_mac(v, w, SYNTHETIC, ScmParams(mode="hard"))
    np.testing.assert_allclose(hard - ideal, SYNTHETIC.error_v.ravel(), atol=1e-15)


def test_noise_statistics():
    n = 200_000
    params = ScmParams(thermal_noise=False)
    out = scm_mac(np.full(n, 1.0), np.full(n, 9), SYNTHETIC, params, np.random.default_rng(1))
    assert out.std() == pytest.approx(np.interp(1.0, X, SYNTHETIC.sigma_v[:, 9]), rel=0.01)


def test_sigma_on_its_own_monte_carlo_axis():
    """σ may sit on a coarser v_in axis than ε (the Monte Carlo grid): linear in v_in on that axis, exact
    in w; kernel, reference and accumulation agree."""
    sx = np.array([0.6, 1.0, 1.4])
    lut = ScmLut(X, SYNTHETIC.error_v, np.abs(RNG.normal(2e-3, 0.5e-3, (3, 32))), SYNTHETIC.error_p_v,
                 SYNTHETIC.error_n_v, SYNTHETIC.energy_J, 15e-9, sigma_x_v=sx)
    assert SYNTHETIC.sigma_axis is SYNTHETIC.x_v and lut.sigma_axis is sx
    n = 200_000
    params = ScmParams(thermal_noise=False)
    out = scm_mac(np.full(n, 0.9), np.full(n, 9), lut, params, np.random.default_rng(1))
    hard = scm_mac(np.array([0.9]), np.array([9]), lut, ScmParams(mode="hard"))[0]
    assert np.std(out - hard) == pytest.approx(np.interp(0.9, sx, lut.sigma_v[:, 9]), rel=0.01)
    rng = np.random.default_rng(0)
    v, w = rng.uniform(0.6, 1.4, 3000), rng.integers(0, 32, 3000)
    a = scm_mac(v, w, lut, ScmParams(), np.random.default_rng(5))
    b = scm_mac_reference(v, w, lut, ScmParams(), np.random.default_rng(5))
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-14)
    z = (np.ones(16), np.zeros(16), np.ones(2))  # reset normals of 1: with the thermal noise off they add nothing
    vp, _ = scm_accumulate(np.full(16, 0.8), np.full(16, 3), lut, ScmParams(thermal_noise=False), draws=z)
    vp0, _ = scm_accumulate(np.full(16, 0.8), np.full(16, 3), lut, ScmParams(mode="hard"))
    assert vp[..., 0] - vp0[..., 0] == pytest.approx(np.interp(0.8, sx, lut.sigma_v[:, 3]), rel=1e-12)


def test_weight_words_refused_with_the_valid_range():
    with pytest.raises(InputRangeError, match=r"weight word = 32 \(5-bit: sign, 4-bit magnitude\) is outside"):
        scm_mac(np.array([1.0]), np.array([32]), SYNTHETIC, ScmParams(mode="hard"))
    with pytest.raises(InputRangeError, match="weight word = -1"):
        scm_mac(np.array([1.0]), np.array([-1]), SYNTHETIC, ScmParams(mode="hard"))
    with pytest.raises(InputRangeError, match="weight words must be integers"):
        scm_mac(np.array([1.0]), np.array([2.5]), SYNTHETIC, ScmParams(mode="hard"))


def test_energy_per_word():
    assert scm_energy_per_mac_J(np.array([1.05]), np.array([7]), SYNTHETIC)[0] == pytest.approx(60.5e-15, rel=1e-12, abs=0)


def test_committed_calibration_meets_the_bars():
    """Every corner, held-out v_in × all 32 words, from the committed artifacts; σ at tt 27 °C on the
    held-out Monte Carlo grid (v_in = 0.8, 1.2 V × 32 words, seeds not used in the fit)."""
    from circuitsim.calibration import metrics
    from circuitsim.calibration.validate import validate_block
    from circuitsim.config import project_root

    results = validate_block(scm_calibration.SPEC, ArtifactStore(project_root() / "calibration"), "sky130")
    assert len(results) == 7
    for point, rec in results.items():
        assert rec["holdout_points"] == 8 * 32
        assert rec["max_error_lsb"] <= metrics.ERROR_BAR_LSB, (point, rec["max_error_lsb"], rec["worst_input"])
        assert abs(rec["energy_ratio"] - 1) <= metrics.ENERGY_TOLERANCE, (point, rec["energy_ratio"])
        assert (rec["sigma_ratio"] is None) == (point != "tt_27C")
    tt = results["tt_27C"]
    assert tt["mc_samples"] == 200 and tt["mc_holdout_points"] == 2 * 32
    assert metrics.SIGMA_RATIO_BAND[0] <= tt["sigma_ratio"] <= metrics.SIGMA_RATIO_BAND[1]


def test_committed_lut_is_physical():
    lut = scm.load_lut()
    assert lut.error_v.shape == (9, 32) and np.all(np.abs(lut.error_v) < 20e-3)
    np.testing.assert_array_equal(lut.sigma_axis, scm_calibration.MC_FIT_V_IN)
    assert lut.sigma_v.shape == (3, 32) and np.all((lut.sigma_v > 0) & (lut.sigma_v < 5e-3))
    assert np.all(lut.error_v[:, [0, 16]] == 0) or np.all(np.abs(lut.error_v[:, [0, 16]]) < 1e-3)
    e = lut.energy_J
    assert np.all(e[:, 0] < 1e-15), "a zero weight switches nothing"
    assert np.all((e[:, 1:16] > 5e-15) & (e[:, 1:16] < 400e-15))


@pytest.mark.spice
def test_spice_reproduces_committed_held_out_points(sky130):
    """Re-simulate the first 16 held-out (v_in, word) points at tt (one transient) against the artifact."""
    from circuitsim.spice.netlist import load_netlist, render_deck
    from circuitsim.spice.session import SpiceSession
    from circuitsim.store import (
        ArtifactStore,
    )

    spice = ArtifactStore().spice_arrays("scm")
    session = SpiceSession.shared()
    session.load(render_deck(load_netlist(scm_calibration.SPEC.netlist), sky130, "tt", 27), name="scm tt")
    n_fit = len(spice["fit_x"])
    x = spice["holdout_x"][:16]
    r = scm_calibration.run_slots(session, x[:, 0], x[:, 1].astype(int), reset_each=True, measure=True)
    np.testing.assert_allclose(r["outp_V"] - r["outn_V"], spice["nominal_holdout_out_V"][:16], rtol=0, atol=1e-9)
    np.testing.assert_allclose(r["energy_J"], spice["nominal_holdout_energy_J"][:16], rtol=1e-9, atol=1e-21)
    assert n_fit == 9 * 32


@pytest.mark.spice
def test_accumulation_of_one_pe_row_matches_spice(sky130):
    """16 MACs without reset (one PE row) in one transient at tt vs scm_accumulate (hard mode) built from
    the single-MAC LUTs: within 0.1 LSB (7.5 mV) of the differential output after every MAC (measured
    at the calibration: ≤ 2.9 mV; Eq. 3 alone is off by up to 16 mV)."""
    from circuitsim.spice.netlist import load_netlist, render_deck
    from circuitsim.spice.session import SpiceSession

    session = SpiceSession.shared()
    session.load(render_deck(load_netlist(scm_calibration.SPEC.netlist), sky130, "tt", 27), name="scm tt")
    lut = scm.load_lut()
    rng = np.random.default_rng(7)
    for v, w in ((np.round(rng.uniform(0.6, 1.4, 16), 3), rng.integers(0, 32, 16)),
                 (np.full(16, 0.6), np.full(16, 15))):
        r = scm_calibration.run_slots(session, v, w, reset_each=False)
        vp, vn = scm_accumulate(v, w, lut, ScmParams(mode="hard"))
        np.testing.assert_allclose(vp - vn, r["outp_V"] - r["outn_V"], rtol=0, atol=0.1 * scm_calibration.SPEC.lsb_v)

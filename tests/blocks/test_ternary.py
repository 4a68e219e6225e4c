"""Ternary comparator: its own calibration (per-threshold LUTs from the pair deck) vs SPICE held-out points
through validate, the model picking the selected threshold's table, energy vs SPICE,
refusals; a small SPICE run of the pair deck."""

from types import SimpleNamespace

import numpy as np
import pytest

from circuitsim.blocks import comparator2t as c2t
from circuitsim.blocks import ternary as tc
from circuitsim.calibration import metrics
from circuitsim.calibration.validate import validate_block
from circuitsim.config import project_root
from circuitsim.errors import ArtifactError, InputRangeError, TechnologyError
from circuitsim.store import SPICE_FILE, ArtifactStore, OperatingPoint, load_artifact

ROOT = project_root() / "calibration"
LSB_V = tc.SPEC.lsb_v


@pytest.fixture(scope="module")
def lut():
    return tc.load_lut()


@pytest.fixture(scope="module")
def artifacts():
    return ArtifactStore(ROOT).directories("ternary")


def _lut_at(point):
    corner, temp = point.rsplit("_", 1)
    return tc.load_lut(OperatingPoint(corner, float(temp[:-1])))


def test_codes_and_thresholds(lut):
    th = tc.thresholds(0.8, 0.95, lut)
    codes = tc.ternary(np.array([0.7, 0.79, 0.81, 0.94, 0.96, 1.2]), th, lut)
    np.testing.assert_array_equal(codes, [0, 0, 1, 1, 2, 2])
    np.testing.assert_allclose([c2t.trip_point_v(th.v_bias_lo_v, lut.lo), c2t.trip_point_v(th.v_bias_hi_v, lut.hi)],
                               [0.8, 0.95], atol=1e-9)


def test_model_vs_spice_held_out_at_every_point():
    """SPEC section 6 through validate, from the committed artifacts: ≤ 0.5 LSB (8 bit on 0..1.8 V) on the
    held-out (v_bias, which) grid, σ ratio 0.9-1.1 against 200 held-out Monte Carlo seeds, energy ±5 %."""
    results = validate_block(tc.SPEC, ArtifactStore(ROOT), "sky130")
    assert len(results) == 7
    for point, rec in results.items():
        assert rec["holdout_points"] == 12, point
        assert rec["max_error_lsb"] <= metrics.ERROR_BAR_LSB, (point, rec["max_error_lsb"], rec["worst_input"])
        assert abs(rec["energy_ratio"] - 1) <= metrics.ENERGY_TOLERANCE, (point, rec["energy_ratio"])
        assert rec["pass"], point
    tt = results["tt_27C"]
    assert tt["mc_samples"] == 200
    assert metrics.SIGMA_RATIO_BAND[0] <= tt["sigma_ratio"] <= metrics.SIGMA_RATIO_BAND[1]


def test_both_thresholds_are_calibrated_with_their_companion(artifacts):
    """Each threshold has its own table from its own points; the companion cell is in the deck."""
    prov = load_artifact(artifacts["tt_27C"]).provenance
    assert prov["notes"]["companion_bias_V"] == {"lo": 0.1, "hi": 0.5}
    spice = load_artifact(artifacts["tt_27C"]).arrays(SPICE_FILE)
    assert spice["mc_fit_out_V"].shape == (400, 14) and spice["mc_holdout_out_V"].shape == (200, 12)
    assert not np.isnan(spice["mc_fit_out_V"]).any()
    lut = tc.load_lut()
    for cell in (lut.lo, lut.hi):
        np.testing.assert_allclose(cell.v_bias_v, np.arange(0.0, 0.61, 0.1), atol=1e-12)
        assert np.all(np.diff(cell.trip_v) < 0)  # lower bias -> higher trip point
        assert np.all((cell.sigma_v > 3e-3) & (cell.sigma_v < 10e-3))  # Pelgrom, two 1/1 um devices
        assert np.all(cell.t_decision_s < c2t.T_EVAL_S)


def test_pair_keeps_the_single_cell_trip_points(artifacts):
    """The shared input (an ideal source) does not couple the cells: each threshold's trip LUT is the
    single 2T cell's (netlists/comparator2t.cir) within 0.5 LSB at every calibrated point."""
    for point in artifacts:
        lut = _lut_at(point)
        single = c2t.load_lut(OperatingPoint.from_name(point))
        for cell in (lut.lo, lut.hi):
            np.testing.assert_allclose(cell.trip_v, single.trip_v, atol=0.5 * LSB_V, err_msg=point)


def test_validation_model_uses_the_selected_threshold_table(lut):
    arrays = {f"{role}_{k}": v for role, cell in (("lo", lut.lo), ("hi", lut.hi))
              for k, v in _c2t_arrays(cell).items()}
    arrays["hi_lut_trip_V"] = arrays["hi_lut_trip_V"] + 0.1  # make the two tables distinguishable
    x = np.array([[0.25, 0.0], [0.25, 1.0], [0.55, 1.0], [0.05, 0.0]])
    pred = tc.validation_model(arrays, x, np.random.default_rng(0), 3000)
    expected = [np.interp(0.25, lut.lo.v_bias_v, lut.lo.trip_v), np.interp(0.25, lut.hi.v_bias_v, lut.hi.trip_v) + 0.1,
                np.interp(0.55, lut.hi.v_bias_v, lut.hi.trip_v) + 0.1, np.interp(0.05, lut.lo.v_bias_v, lut.lo.trip_v)]
    np.testing.assert_allclose(pred.mean_v, expected, atol=1e-12)
    sigma = [np.interp(b, cell.v_bias_v, cell.sigma_v) for b, cell in ((0.25, lut.lo), (0.25, lut.hi),
                                                                       (0.55, lut.hi), (0.05, lut.lo))]
    np.testing.assert_allclose(pred.samples_v.std(axis=0, ddof=1), sigma, rtol=0.06)
    np.testing.assert_allclose(pred.energy_J[1], np.interp(0.25, lut.hi.v_bias_v, lut.hi.sqrt_energy_fire) ** 2)


def _c2t_arrays(cell):
    return {"lut_v_bias_V": cell.v_bias_v, "lut_trip_V": cell.trip_v, "lut_sigma_V": cell.sigma_v,
            "lut_width_V": cell.width_v, "lut_sqrt_energy_fire_sqrtJ": cell.sqrt_energy_fire,
            "lut_idle_fraction": cell.idle_fraction, "lut_t_decision_s": cell.t_decision_s}


def test_noisy_offsets_per_threshold(lut):
    th = tc.thresholds(0.8, 0.95, lut)
    z_lo, z_hi = np.random.default_rng(2).standard_normal((2, 400))
    p = c2t.Comparator2tParams(mode="noisy")
    codes = tc.ternary(np.full(400, 0.8), th, lut, p, z_offsets=(z_lo, z_hi))
    np.testing.assert_array_equal(codes, (z_lo < 0).astype(float))  # at v_lo: the high cell never fires
    s_lo, s_hi = tc.offsets_sigma_v(th, lut)
    assert s_lo == pytest.approx(np.interp(th.v_bias_lo_v, lut.lo.v_bias_v, lut.lo.sigma_v))
    assert s_hi == pytest.approx(np.interp(th.v_bias_hi_v, lut.hi.v_bias_v, lut.hi.sigma_v))


def test_energy_is_the_sum_of_the_cells(lut):
    th = tc.thresholds(0.8, 0.95, lut)
    v = np.array([0.7, 0.9, 1.1])
    e = tc.energy_per_decision_J(v, th, lut)
    np.testing.assert_allclose(e, c2t.energy_per_decision_J(v, th.v_bias_lo_v, lut.lo)
                               + c2t.energy_per_decision_J(v, th.v_bias_hi_v, lut.hi))
    assert e[0] < e[1] < e[2]


def test_energy_model_against_spice_at_held_out_points(artifacts):
    """Firing energy is the contract's energy (validated); the idle energy of each threshold is checked here."""
    for point, path in artifacts.items():
        spice = load_artifact(path).arrays(SPICE_FILE)
        lut = _lut_at(point)
        x, trip = spice["holdout_x"], spice["nominal_holdout_out_V"]
        for which, cell in enumerate((lut.lo, lut.hi)):
            sel = x[:, 1] == which
            np.testing.assert_allclose(c2t.energy_per_decision_J(trip[sel] - 0.1, x[sel, 0], cell),
                                       spice["nominal_holdout_energy_idle_J"][sel], rtol=0.05, err_msg=point)
        energy = load_artifact(path).provenance["notes"]
        assert energy["energy_code0_J"] < energy["energy_code1_J"]


def test_refusals(lut):
    with pytest.raises(ValueError, match="low threshold must be below the high one"):
        tc.thresholds(0.9, 0.8, lut)
    with pytest.raises(ValueError, match="low threshold must be below the high one"):
        tc.thresholds(0.9, 0.9, lut)
    valid = r"is outside the calibrated range \[0.7\d*, 1.04\d*\] V"
    with pytest.raises(InputRangeError, match=r"threshold = 1.9 V " + valid):
        tc.thresholds(0.8, 1.9, lut)
    with pytest.raises(InputRangeError, match=r"threshold = 0.5 V " + valid):
        tc.thresholds(0.5, 0.9, c2t.load_lut())
    with pytest.raises(TechnologyError, match="unknown corner 'xx'.*valid corners: tt, ss, ff, sf, fs"):
        tc.load_lut(OperatingPoint("xx", 27))
    with pytest.raises(ArtifactError, match=r"not calibrated at ss_85C; calibrated points: tt_27C, ss_27C"):
        tc.load_lut(OperatingPoint("ss", 85))
    with pytest.raises(ValueError, match=r"which must be 0 \(low threshold\) or 1 \(high threshold\)"):
        tc.validation_model({}, np.array([[0.3, 2.0]]), np.random.default_rng(0), 2)
    with pytest.raises(TypeError, match="TernaryLut or a Comparator2tLut"):
        tc.thresholds(0.8, 0.9, {"lut_trip_V": 1})


@pytest.mark.spice
def test_pair_deck_reproduces_the_calibration_at_held_out_points(lut):
    """A small real run of the block's SPICE task (nominal tt 27 °C, two pairs: one low- and one high-
    threshold cell at v_b = 0.25 V): trip points within 0.5 LSB of the ternary LUT, firing energy within 5 %."""
    from circuitsim.spice.netlist import load_netlist, render_deck
    from circuitsim.spice.session import SpiceSession
    from circuitsim.technology import load_technology

    session = SpiceSession.shared()
    session.load(render_deck(load_netlist("ternary"), load_technology("sky130"), "tt"))
    result = tc.simulate(session, SimpleNamespace(inputs=((0.25, 0.0), (0.25, 1.0)), seeds=()))
    expected = [np.interp(0.25, cell.v_bias_v, cell.trip_v) for cell in (lut.lo, lut.hi)]
    np.testing.assert_allclose(result["out_V"], expected, atol=0.5 * LSB_V)
    e_model = [np.interp(0.25, cell.v_bias_v, cell.sqrt_energy_fire) ** 2 for cell in (lut.lo, lut.hi)]
    np.testing.assert_allclose(result["energy_J"], e_model, rtol=0.05)

"""SAR ADC behavioral model: kernel vs NumPy reference, ideal converter (ENOB, DNL/INL), mismatch statistics,
hand-computed switching energy, resolution refusals, ADC metrics and the survey data."""

import numpy as np
import pytest

from circuitsim.blocks import sar_adc as sar
from circuitsim.calibration import adc_metrics
from circuitsim.errors import InputRangeError


def _ideal_quantizer_enob(levels, v_ref):
    """ENOB of an independent ideal uniform quantizer (floor) on the same coherent sine."""
    n = 4096
    cycles = adc_metrics.coherent_cycles(n, n // 8 + 1)
    x = adc_metrics.sine_inputs_v(n, cycles, v_ref)
    lsb = 2 * v_ref / levels
    codes = np.clip(np.floor((x + v_ref) / lsb), 0, levels - 1)
    return adc_metrics.enob_bits(adc_metrics.sndr_db(-v_ref + (codes + 0.5) * lsb, cycles))


@pytest.mark.parametrize("n_bits", sar.RESOLUTIONS)
def test_kernel_matches_reference(n_bits):
    params = sar.designed_params(n_bits, noise_v=2e-3, sigma_unit=0.01)
    inst = sar.draw_instance(params, np.random.default_rng(11))
    x = np.random.default_rng(2).uniform(-1.8, 1.8, 3000)
    c1, e1 = sar.convert(x, params, inst, np.random.default_rng(5))
    c2, e2 = sar.convert_reference(x, params, inst, np.random.default_rng(5))
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_allclose(e1, e2, rtol=1e-9)
    c3, _ = sar.convert(x, params, inst, np.random.default_rng(5))
    np.testing.assert_array_equal(c1, c3)  # seeded reproducibility


@pytest.mark.parametrize("n_bits", sar.RESOLUTIONS)
def test_ideal_converter_enob_and_linearity(n_bits):
    params = sar.SarAdcParams(n_bits=n_bits)
    enob = sar.sine_test(params)["enob_bits"]
    # the ideal SAR is an ideal uniform quantizer
    assert enob == pytest.approx(_ideal_quantizer_enob(params.levels, params.v_ref_v), abs=1e-9)
    if n_bits >= 4:
        assert abs(enob - n_bits) <= 0.05
    # At 2 and 3 bit (and 3 levels) a full-scale sine's quantization error is not the uniform white noise
    # behind 6.02 N + 1.76 dB: an ideal quantizer gives 1.916 bit at N = 2, 2.950 at N = 3.
    if params.levels >= 4:
        lin = sar.linearity(params, [sar.draw_instance(params)])
        assert lin["max_abs_dnl_lsb"] == 0.0 and lin["max_abs_inl_lsb"] == 0.0


def test_ideal_codes_are_floor_quantization():
    params = sar.SarAdcParams(n_bits=6)
    x = np.linspace(-1.8, 1.8, 10001)
    codes, _ = sar.convert(x, params)
    expected = np.clip(np.floor((x + 1.8) / params.lsb_v), 0, 63)
    mismatch = codes != expected
    # only inputs sitting exactly on a transition may differ (comparison is strict)
    assert np.all(np.isclose(((x[mismatch] + 1.8) / params.lsb_v) % 1, 0) | (x[mismatch] >= 1.8))


@pytest.mark.parametrize("n_bits", [6, 8])
def test_mismatch_dnl_matches_the_expected_statistics(n_bits):
    """σ of the DNL of the code below the MSB transition over 400 instances = σ_u·sqrt(2^(N−2) + 1/2)."""
    params = sar.SarAdcParams(n_bits=n_bits, sigma_unit=0.02)
    rng = np.random.default_rng(42)
    instances = [sar.draw_instance(params, rng) for _ in range(400)]
    lin = sar.linearity(params, instances, per_code=256)
    mid = 2 ** (n_bits - 1) - 1 - 1  # index into inner codes 1..L-2
    measured = lin["dnl_lsb"][:, mid].std(ddof=1)
    expected = sar.expected_mid_code_dnl_sigma_lsb(params)
    # 400 instances: the σ estimate has ~3.5 % standard error; first-order theory; code-density grain 1/256
    assert measured == pytest.approx(expected, rel=0.12)
    # and the DNL grows with the mismatch
    small_params = sar.SarAdcParams(n_bits=n_bits, sigma_unit=0.005)
    small_instances = [sar.draw_instance(small_params, rng) for _ in range(100)]
    small = sar.linearity(small_params, small_instances, per_code=256)
    assert np.sqrt(np.mean(lin["dnl_lsb"] ** 2)) > 3 * np.sqrt(np.mean(small["dnl_lsb"] ** 2))


def test_switching_energy_hand_computed_two_bit():
    """N = 2: one unit switches per side (p to ground, n to V_ref or the reverse), dummy at V_cm; energy from
    the sources = C_u·V_cm² whatever the input, and the reset back to V_cm returns net zero."""
    params = sar.SarAdcParams(n_bits=2, c_unit_f=10e-15, v_ref_v=1.8)
    _, energy = sar.convert(np.array([-1.5, -0.2, 0.3, 1.7]), params)
    np.testing.assert_allclose(energy, 10e-15 * 0.9**2, rtol=1e-12)


def test_energy_is_code_dependent_and_adds_the_fixed_parts():
    params = sar.designed_params(8, noise_v=0.0, ktc_noise=False, offset_sigma_v=0.0, sigma_unit=0.0)
    x = np.linspace(-1.79, 1.79, 501)
    _, e = sar.convert(x, params)
    fixed = 8 * params.e_comparator_J + 9 * params.e_logic_J + params.e_sample_J
    cdac = e - fixed
    assert cdac.min() > 0 and cdac.max() > 1.5 * cdac.min()  # code dependent
    assert params.latency_s == pytest.approx(9 / 400e6)


@pytest.mark.parametrize("bad", [1, 9, 2.5, 0, -3, "eight", None])
def test_resolution_refused_with_the_valid_range(bad):
    with pytest.raises(ValueError, match=r"valid are 2, 3, 4, 5, 6, 7, 8 bit \(integer\) or 1.5 \(ternary mode\)"):
        sar.SarAdcParams(n_bits=bad)


def test_input_outside_full_scale_refused():
    with pytest.raises(InputRangeError, match=r"v_d = 2 V is outside the calibrated range \[-1.8, 1.8\] V"):
        sar.convert([2.0], sar.SarAdcParams(n_bits=4))
    with pytest.raises(ValueError, match="numpy.random.Generator"):
        sar.convert([0.1], sar.SarAdcParams(n_bits=4, noise_v=1e-3))


def test_ternary_mode_thresholds():
    params = sar.SarAdcParams(n_bits=1.5)
    codes, _ = sar.convert(np.array([-1.7, -0.61, -0.59, 0.0, 0.59, 0.61, 1.7]), params)
    np.testing.assert_array_equal(codes, [0, 0, 1, 1, 1, 2, 2])


def test_noise_lowers_enob_by_the_expected_amount():
    """Comparator noise σ_n per decision costs ENOB, but at most as much as σ_n of input noise would (a SAR
    decision far from its threshold is immune to it; only the decisions near it turn noise into code errors)."""
    params = sar.SarAdcParams(n_bits=8, noise_v=10e-3)
    enob = sar.sine_test(params, rng=np.random.default_rng(3))["enob_bits"]
    q = params.lsb_v ** 2 / 12
    expected = 8 - 0.5 * np.log2((q + 10e-3 ** 2) / q)
    assert expected - 0.05 <= enob <= 8 - 0.5


def test_metrics_helpers():
    dnl, inl = adc_metrics.code_density(np.repeat(np.arange(8), 10), 8)
    assert np.all(dnl == 0) and np.all(inl == 0)
    codes = np.concatenate([np.repeat(np.arange(8), 10), [3] * 5])  # code 3 wide by half an LSB
    dnl, _ = adc_metrics.code_density(codes, 8)
    assert dnl[2] == pytest.approx(15 / (65 / 6) - 1)
    assert adc_metrics.walden_fom_J(1e-12, 8) == pytest.approx(1e-12 / 256)
    assert adc_metrics.schreier_fom_db(50.0, 0.5e-12) == pytest.approx(50 + 120)
    with pytest.raises(ValueError):
        adc_metrics.code_density([0, 1], 2)


def test_survey_csv_is_packaged_with_attribution():
    from circuitsim.reports.adc_survey import SURVEY_CSV, load_survey

    head = SURVEY_CSV.read_text().splitlines()[:2]
    assert "Murmann" in head[0] and "BSD-3-Clause" in head[1]
    assert (SURVEY_CSV.parent / "ADCsurvey_LICENSE.txt").read_text().startswith("BSD 3-Clause License")
    rows = load_survey()
    assert len(rows) == 725
    assert sum("SAR" in r["architecture"].upper() for r in rows) > 100


def test_spice_8bit_conversion_against_the_model_from_committed_artifacts():
    """netlists/sar_adc.cir (MIM CDAC, StrongARM latch, behavioural SAR logic), nominal at 7 points:
    identical codes at the held-out inputs, CDAC energy within 2 %, conversion energy within 5 %."""
    from circuitsim.calibration.runner import MODEL_FILE, SPICE_FILE
    from circuitsim.calibration.validate import find_artifacts, validate_artifact
    from circuitsim.config import project_root
    from circuitsim.sweep.artifacts import load_artifact

    found = find_artifacts(project_root() / "calibration", "sky130", "sar_adc")
    assert len(found) == 7
    for point, path in found.items():
        rec = validate_artifact(sar.SPEC, path)
        assert rec["max_error_lsb"] == 0.0, point
        assert abs(rec["energy_ratio"] - 1) <= 0.05, (point, rec["energy_ratio"])
        artifact = load_artifact(path)
        spice, model = artifact.arrays(SPICE_FILE), artifact.arrays(MODEL_FILE)
        # v_d = 0 V (a fit point) sits exactly on the MSB transition: the first decision of the latch is
        # metastable and still undecided at the capture instant at ss, fs and -40 C. Reported, not hidden;
        # no held-out input (all at code centres) is ever undecided.
        assert set(artifact.provenance["notes"]["undecided_inputs_V"]) <= {0.0}, point
        assert not spice["nominal_holdout_undecided"].any(), point
        params = sar.SarAdcParams(n_bits=8, c_parasitic_f=float(model["c_parasitic_F"]))
        _, e_cdac = sar.convert(spice["holdout_x"], params)
        np.testing.assert_allclose(e_cdac, spice["nominal_holdout_energy_cdac_J"], rtol=0.02, err_msg=point)

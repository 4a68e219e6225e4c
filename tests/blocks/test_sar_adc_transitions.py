"""SAR ADC code transition levels: the edge search of circuitsim/blocks/sar_adc_transitions.py on a fake
converter with a known edge, the bisection and DNL/INL of circuitsim/calibration/adc_metrics.py against an
ideal quantizer, the calibrated model's edges against the binary-weighted array's closed form, and the
validation record (model vs the SPICE edges committed in the artifacts)."""

import numpy as np
import pytest

from circuitsim.blocks import sar_adc as sar
from circuitsim.blocks import sar_adc_calibration as cal
from circuitsim.blocks import sar_adc_transitions as tr
from circuitsim.calibration import adc_metrics
from circuitsim.calibration.validate import transition_record
from circuitsim.errors import ArtifactError, SpiceError
from circuitsim.store import MODEL_FILE, SPICE_FILE, ArtifactStore, OperatingPoint

V_REF = 1.8


def _ideal_codes(v, n_bits, alpha=1.0, offset_v=0.0):
    """An independent ideal N-bit quantizer: floor((v + v_os)/(α·LSB) + L/2), clipped to 0 … L−1."""
    levels = 2 ** n_bits
    lsb = alpha * 2 * V_REF / levels
    return np.clip(np.floor((np.asarray(v, float) + offset_v) / lsb + levels / 2), 0, levels - 1).astype(int)


# --- which decision decides an edge -------------------------------------------------------------------------

@pytest.mark.parametrize("k, n_bits, j", [
    (128, 8, 1),   # 0111 1111 -> 1000 0000: the MSB
    (64, 8, 2), (192, 8, 2),
    (127, 8, 8), (1, 8, 8), (255, 8, 8),   # odd k: only the LSB differs
    (2, 2, 1), (1, 2, 2), (3, 2, 2),
    (4, 3, 1), (2, 3, 2), (6, 3, 2),
])
def test_deciding_decision_is_the_highest_bit_where_k_minus_1_and_k_differ(k, n_bits, j):
    assert tr.deciding_decision(k, n_bits) == j
    # cross-check by the binary strings: the first differing position, counted from the MSB
    a, b = format(k - 1, f"0{n_bits}b"), format(k, f"0{n_bits}b")
    assert next(i for i in range(n_bits) if a[i] != b[i]) + 1 == j


@pytest.mark.parametrize("k", [0, 256])
def test_deciding_decision_refuses_an_edge_outside_the_codes(k):
    with pytest.raises(ValueError, match="outside"):
        tr.deciding_decision(k, 8)


# --- the search on a fake converter --------------------------------------------------------------------------

def _fake_probe(n_bits, alpha, offset_v, slope=0.8, theta_v=0.0):
    """probe(v, j) of an ideal quantizer with attenuation and offset: its first j decisions (code >> (N−j)),
    and a comparator input that reaches θ at the true edge of that decision (slope ``slope``)."""
    lsb = alpha * 2 * V_REF / 2 ** n_bits
    calls = []

    def probe(v, j):
        calls.append(v)
        code = int(_ideal_codes(v, n_bits, alpha, offset_v))
        word = code >> (n_bits - j)
        # the decision-j threshold nearest v: where code >> (N−j) changes
        step = lsb * 2 ** (n_bits - j)
        edge = (np.round((v + offset_v) / step) * step) - offset_v
        return word, theta_v + slope * (v - edge)

    return probe, calls


@pytest.mark.parametrize("n_bits, k", [(8, 1), (8, 127), (8, 128), (8, 129), (8, 255), (4, 7), (2, 3), (6, 33)])
@pytest.mark.parametrize("alpha, offset_v, theta_v", [(0.948, 0.0, 0.0), (0.90, 4e-3, 1e-3), (1.0, -11e-3, -2e-3)])
def test_find_edge_brackets_the_true_edge_within_the_tolerance(n_bits, k, alpha, offset_v, theta_v):
    probe, calls = _fake_probe(n_bits, alpha, offset_v, theta_v=theta_v)
    lsb = 2 * V_REF / 2 ** n_bits
    true_edge = alpha * (-V_REF + k * lsb) - offset_v
    out = tr.find_edge(probe, k, n_bits, theta_v=0.0)
    # the bracket is two codes: k−1 below, k above, at most the tolerance apart
    assert _ideal_codes(out["below_V"], n_bits, alpha, offset_v) == k - 1
    assert _ideal_codes(out["above_V"], n_bits, alpha, offset_v) == k
    assert out["above_V"] - out["below_V"] <= tr.TOLERANCE_LSB * lsb * (1 + 1e-9)
    assert abs(out["level_V"] - true_edge) <= 0.5 * tr.TOLERANCE_LSB * lsb * (1 + 1e-9)
    assert out["probes"] == len(calls) <= tr.MAX_PROBES


def test_find_edge_refuses_a_converter_that_never_brackets():
    """A stuck converter (the same code everywhere) is refused, not reported at a guess."""
    with pytest.raises(SpiceError, match="not monotone"):
        tr.find_edge(lambda v, j: (0, 0.0), 128, 8)


# --- bisection and linearity from edges ----------------------------------------------------------------------

@pytest.mark.parametrize("n_bits", [2, 5, 8])
def test_bisection_finds_the_ideal_quantizers_edges(n_bits):
    levels = 2 ** n_bits
    lsb = 2 * V_REF / levels
    ks = np.arange(1, levels)
    found = adc_metrics.transition_levels_v(lambda v: _ideal_codes(v, n_bits, 0.95, 3e-3), ks, -V_REF, V_REF,
                                            1e-7)
    np.testing.assert_allclose(found, 0.95 * (-V_REF + ks * lsb) - 3e-3, atol=1e-7)


def test_bisection_refuses_an_edge_outside_the_interval():
    with pytest.raises(ValueError, match="outside"):
        adc_metrics.transition_levels_v(lambda v: _ideal_codes(v, 8), [1], 0.0, V_REF, 1e-6)


def test_edge_linearity_reads_a_known_dnl_and_ignores_gain_and_offset():
    n = 6
    ks = np.arange(1, 2 ** n)
    lsb = 2 * V_REF / 2 ** n
    alpha, offset = 0.93, -7e-3
    edges = alpha * (-V_REF + ks * lsb) + offset
    clean = adc_metrics.edge_linearity(ks, edges, lsb)
    assert clean["lsb_V"] == pytest.approx(alpha * lsb)
    assert max(map(abs, clean["dnl_lsb"])) < 1e-9 and max(map(abs, clean["inl_lsb"])) < 1e-9
    moved = edges.copy()
    moved[ks == 32] += 0.3 * alpha * lsb    # edge 32 late by 0.3 LSB: code 31 wider, code 32 narrower
    lin = adc_metrics.edge_linearity(ks, moved, lsb)
    dnl = dict(zip(lin["dnl_codes"], lin["dnl_lsb"]))
    inl = dict(zip(lin["inl_edges"], lin["inl_lsb"]))
    assert dnl[31] == pytest.approx(0.3) and dnl[32] == pytest.approx(-0.3) and dnl[30] == pytest.approx(0.0)
    assert inl[32] == pytest.approx(0.3) and inl[1] == pytest.approx(0.0)


def test_edge_linearity_on_a_subset_of_edges_uses_only_adjacent_pairs():
    ks = np.array([1, 127, 128, 129, 255])
    lsb = 2 * V_REF / 256
    edges = -V_REF + ks * lsb
    edges[2] += 0.2 * lsb
    lin = adc_metrics.edge_linearity(ks, edges, lsb)
    assert lin["dnl_codes"] == [127, 128]
    np.testing.assert_allclose(lin["dnl_lsb"], [0.2, -0.2], atol=1e-9)


# --- the calibrated model's edges ----------------------------------------------------------------------------

@pytest.mark.parametrize("n_bits", cal.SPICE_RESOLUTIONS)
def test_model_edges_follow_the_binary_weighted_array(n_bits):
    """The converter decides on v + e(v) (e: the sampled input's error LUT, linear between its points), and a
    binary-weighted V_cm-switched array with top-plate parasitic has its edges at u_k = α·(−V_ref +
    k·2V_ref/2^N) − v_os, α = C_array/(C_array + C_par) from the artifact's capacitances; so T_k solves
    T + e(T) = u_k (brentq here: independent of the model's bisection)."""
    from scipy.optimize import brentq

    arrays = sar.load_arrays(n_bits)
    params = sar.params_from_arrays(arrays)
    alpha = params.units_per_side * params.c_unit_f / params.c_total_f
    grid, error = map(np.asarray, params.input_error_lut)
    rows = cal._transition_edges(n_bits)
    lsb = 2 * V_REF / 2 ** n_bits
    ideal = [alpha * (-V_REF + k * lsb) - float(arrays["v_os_V"]) for k, _ in rows]
    expected = [brentq(lambda v, u=u: v + np.interp(v, grid, error) - u, -V_REF, V_REF, xtol=1e-12) for u in ideal]
    np.testing.assert_allclose(cal.transition_levels_model(arrays, rows), expected, atol=1e-4 * lsb)


# --- the validation record: model vs the committed SPICE edges ----------------------------------------------

def _artifact(n_bits, point=OperatingPoint("tt", 27.0)):
    artifact = ArtifactStore().open(f"sar_adc_{n_bits}b", point)
    return artifact.arrays(MODEL_FILE), dict(artifact.arrays(SPICE_FILE))


@pytest.mark.parametrize("n_bits", cal.SPICE_RESOLUTIONS)
def test_spice_edges_are_the_planned_ones_and_bracketed(n_bits):
    _, spice = _artifact(n_bits)
    lsb = 2 * V_REF / 2 ** n_bits
    assert [(float(k), float(n)) for k, n in zip(spice["transitions_edge"], spice["transitions_n_bits"])] == \
        list(cal._transition_edges(n_bits))
    width = spice["transitions_above_V"] - spice["transitions_below_V"]
    assert np.all(width > 0) and np.all(width <= tr.TOLERANCE_LSB * lsb * (1 + 1e-9))
    # SPICE's edges are ordered and sit near the attenuated ideal ones (a wrong edge would be LSBs off)
    assert np.all(np.diff(spice["transitions_level_V"]) > 0)
    ideal = tr.DESIGN_ALPHA * (-V_REF + spice["transitions_edge"] * lsb)
    assert np.max(np.abs(spice["transitions_level_V"] - ideal)) < 2 * lsb


def test_transition_record_judges_the_model_against_spice_and_fails_a_shifted_edge():
    spec = cal.SPECS[8]
    model, spice = _artifact(8)
    good = transition_record(spec, model, spice, "sar_adc_8b at tt_27C")
    assert good["max_error_lsb"] <= 0.5
    assert good["bracket_lsb"] <= 0.5 * tr.TOLERANCE_LSB + 1e-9
    shifted = dict(spice, transitions_level_V=spice["transitions_level_V"] + 0.6 * spec.lsb_v)
    bad = transition_record(spec, model, shifted, "sar_adc_8b at tt_27C")
    assert bad["max_error_lsb"] > 0.5
    # the signed errors are model − SPICE: moving SPICE up by 0.6 LSB moves every error down by 0.6
    np.testing.assert_allclose(bad["error_lsb"], np.array(good["error_lsb"]) - 0.6, atol=1e-9)


def test_transition_record_refuses_an_artifact_without_spice_edges():
    spec = cal.SPECS[4]
    model, spice = _artifact(4)
    without = {k: v for k, v in spice.items() if not k.startswith("transitions_")}
    with pytest.raises(ArtifactError, match="--transitions-only"):
        transition_record(spec, model, without, "sar_adc_4b at tt_27C")

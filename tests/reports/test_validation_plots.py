"""Validation figures from the committed artifacts: what the matplotlib objects hold (not pixels)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PolyCollection, QuadMesh

from circuitsim.blocks import get_spec
from circuitsim.calibration.metrics import F_TEST_ALPHA
from circuitsim.calibration.validate import validate_block
from circuitsim.reports.validation import (
    mc_interval,
    point_label,
    ratio_interval,
    validation_figure,
)
from circuitsim.store import ArtifactStore

LEVEL = 1 - F_TEST_ALPHA


@pytest.fixture(scope="module")
def psf():
    spec = get_spec("psf")
    return spec, validate_block(spec, ArtifactStore(), "sky130")


@pytest.fixture(scope="module")
def scm():
    spec = get_spec("scm")
    return spec, validate_block(spec, ArtifactStore(), "sky130")


@pytest.fixture(scope="module")
def psf_fig(psf):
    spec, results = psf
    fig = validation_figure("psf", results, spec)
    yield fig
    plt.close(fig)


def _band(collection, x):
    """(lower, upper) edge of a fill_between polygon at each x."""
    v = collection.get_paths()[0].vertices
    lo = np.array([v[np.isclose(v[:, 0], xi), 1].min() for xi in x])
    hi = np.array([v[np.isclose(v[:, 0], xi), 1].max() for xi in x])
    return lo, hi


def test_error_axis_in_mV_with_LSB_beside_it(psf, psf_fig):
    _, results = psf
    ax_err = psf_fig.axes[1]
    assert ax_err.get_ylabel() == "model − SPICE [mV]"
    assert ax_err.get_xlabel() == "v_pix [V]"
    (second,) = ax_err.child_axes
    assert second.get_ylabel() == "[LSB]"
    lsb_mV = results["tt_27C"]["lsb_mV"]
    # the secondary axis converts mV to LSB (and back)
    assert second._functions[0](lsb_mV) == pytest.approx(1.0)
    c = results["tt_27C"]["curves"]
    expected = (np.asarray(c["model_mean_V"]) - np.asarray(c["spice_V"])) * 1e3
    first_line = ax_err.get_lines()[0]
    np.testing.assert_allclose(first_line.get_ydata(), expected[np.argsort(c["x"])])
    assert np.max(np.abs(first_line.get_ydata())) > 0  # not a flat line at zero


def test_legend_names_every_corner_and_temperature(psf, psf_fig):
    _, results = psf
    (legend,) = psf_fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    for point in results:
        assert point_label(point) in texts
    assert "tt, −40 °C" in texts and "model (line)" in texts and "SPICE (markers)" in texts


def test_model_line_and_spice_markers_share_the_corner_colour(psf, psf_fig):
    _, results = psf
    lines = psf_fig.axes[0].get_lines()
    model = [ln for ln in lines if ln.get_linestyle() == "-"]
    spice = [ln for ln in lines if ln.get_linestyle() == "None"]
    assert len(model) == len(spice) == len(results)
    colours = [m.get_color() for m in model]
    assert [s.get_color() for s in spice] == colours
    assert len(set(map(str, colours))) == len(results)


def test_sigma_band_is_the_chi_square_interval_around_both_estimates(psf, psf_fig):
    _, results = psf
    rec = results["tt_27C"]
    c, n = rec["curves"], rec["mc_samples"]
    ax_sigma = psf_fig.axes[2]
    assert ax_sigma.get_ylabel() == "σ [mV]" and f"n = {n}" in ax_sigma.get_title()
    (band,) = [col for col in ax_sigma.collections if isinstance(col, PolyCollection)]
    x = np.sort(np.asarray(c["x"]))
    order = np.argsort(c["x"])
    spice_mV = np.asarray(c["spice_sigma_V"])[order] * 1e3
    lo, hi = _band(band, x)
    exp_lo, exp_hi = mc_interval(spice_mV, n, LEVEL)
    np.testing.assert_allclose(lo, exp_lo, rtol=1e-9)
    np.testing.assert_allclose(hi, exp_hi, rtol=1e-9)
    assert np.all(lo < spice_mV) and np.all(spice_mV < hi)
    labels = [ln.get_label() for ln in ax_sigma.get_lines()]
    assert "model σ band, tt, 27 °C" in labels  # the model's own 200-sample estimate has its band too


def test_sigma_ratio_band_brackets_one_exactly_where_the_f_test_passes(psf, psf_fig):
    _, results = psf
    rec = results["tt_27C"]
    c = rec["curves"]
    ax_ratio = psf_fig.axes[3]
    (band,) = [col for col in ax_ratio.collections if isinstance(col, PolyCollection)]
    x = np.sort(np.asarray(c["x"]))
    order = np.argsort(c["x"])
    ratio = (np.asarray(c["model_sigma_V"]) / np.asarray(c["spice_sigma_V"]))[order]
    lo, hi = _band(band, x)
    assert np.all(lo < ratio) and np.all(ratio < hi)
    brackets_one = (lo <= 1.0) & (1.0 <= hi)
    assert int(np.sum(~brackets_one)) == rec["sigma_f_test_failures"]
    assert np.mean(brackets_one) > 0.9


def test_chi_square_interval_covers_sigma_at_its_level():
    rng = np.random.default_rng(16)
    n, trials = 200, 3000
    s = rng.standard_normal((trials, n)).std(axis=1, ddof=1)
    lo, hi = mc_interval(s, n, 0.95)
    assert np.mean((lo <= 1.0) & (1.0 <= hi)) == pytest.approx(0.95, abs=0.015)
    lo, hi = ratio_interval(np.ones(3), n, n, LEVEL)
    assert np.all(lo < 1) and np.all(hi > 1)


def test_scm_heat_maps_have_the_grid_shape(scm):
    spec, results = scm
    fig = validation_figure("scm", results, spec)
    try:
        rec = results["tt_27C"]
        x = np.asarray(rec["curves"]["x"])
        shape = (len(np.unique(x[:, 1])), len(np.unique(x[:, 0])))  # rows: word, columns: v_in
        assert shape == (32, 8)
        meshes = [(ax, col) for ax in fig.axes for col in ax.collections if isinstance(col, QuadMesh)]
        error_maps = [(ax, m) for ax, m in meshes if ax.get_title().startswith("model − SPICE")]
        assert len(error_maps) == len(results)
        for ax, mesh in error_maps:
            assert mesh.get_array().shape == shape
            assert ax.get_xlabel() == "v_in [V]" and ax.get_ylabel() == "word"
        # the tt map holds the tt error at (word, v_in)
        (_, tt_mesh) = next(m for m in error_maps if "tt, 27 °C" in m[0].get_title())
        err = (np.asarray(rec["curves"]["model_mean_V"]) - rec["curves"]["spice_V"]) * 1e3
        i_v = np.searchsorted(np.unique(x[:, 0]), x[:, 0])
        i_w = np.searchsorted(np.unique(x[:, 1]), x[:, 1])
        np.testing.assert_allclose(np.asarray(tt_mesh.get_array())[i_w, i_v], err)
        # Monte Carlo maps on their own (coarser) grid, ratio misses counted as the F-test does
        sx = np.asarray(rec["curves"]["sigma_x"])
        sigma_shape = (len(np.unique(sx[:, 1])), len(np.unique(sx[:, 0])))
        sigma_maps = [m for ax, m in meshes if "σ" in ax.get_title()]
        assert len(sigma_maps) == 3 and all(m.get_array().shape == sigma_shape for m in sigma_maps)
        ratio_ax = next(ax for ax, _ in meshes if ax.get_title().startswith("σ model / SPICE"))
        misses = sum(len(ln.get_xdata()) for ln in ratio_ax.get_lines())
        assert misses == rec["sigma_f_test_failures"]
        # the error colour bar reads mV with LSB beside it
        every = [*fig.axes, *(child for ax in fig.axes for child in ax.child_axes)]
        bar_axes = [ax for ax in every if ax.get_ylabel() == "model − SPICE [mV]"]
        assert len(bar_axes) == 1 and bar_axes[0].child_axes[0].get_ylabel().startswith("[LSB]")
    finally:
        plt.close(fig)


def test_few_level_2d_grid_draws_one_line_style_per_level():
    """A (v, which) grid with two values of 'which' (the ternary comparator): lines, not heat maps."""
    spec = get_spec("ternary")
    x = [[v, w] for w in (0.0, 1.0) for v in (0.1, 0.2, 0.3)]
    rec = {"lsb_mV": spec.lsb_v * 1e3, "curves": {
        "x": x, "model_mean_V": [0.5, 0.6, 0.7, 0.5, 0.6, 0.7], "spice_V": [0.5, 0.6, 0.7, 0.5, 0.6, 0.701]}}
    fig = validation_figure("ternary", {"tt_27C": rec}, spec)
    try:
        assert not [c for ax in fig.axes for c in ax.collections if isinstance(c, QuadMesh)]
        texts = [t.get_text() for t in fig.legends[0].get_texts()]
        assert "which = 0" in texts and "which = 1" in texts
        assert fig.axes[0].get_xlabel() == "v_bias [V]"
    finally:
        plt.close(fig)


def test_transition_figure_plots_each_points_edge_errors_with_the_spice_bracket(tmp_path):
    """sar_adc_4b: one error-bar series per point whose y are the record's model − SPICE edge errors (LSB)
    and whose bars are the SPICE brackets; written as transitions.png beside validation.png (a block without
    code edges gets only validation.png)."""
    from circuitsim.reports.validation import transitions_figure, write_plots

    spec = get_spec("sar_adc_4b")
    results = validate_block(spec, ArtifactStore(), "sky130")
    fig = transitions_figure("sar_adc_4b", results)
    ax_err = fig.axes[0]
    series = [c for c in ax_err.containers]
    assert len(series) == len(results)
    for container, rec in zip(series, results.values()):
        line, _, (bars,) = container
        np.testing.assert_allclose(np.asarray(line.get_ydata(), float), rec["transitions"]["error_lsb"])
        spans = np.array([np.ptp(seg[:, 1]) for seg in bars.get_segments()])
        np.testing.assert_allclose(spans, 2 * np.asarray(rec["transitions"]["bracket_half_width_lsb"]), rtol=1e-9)
    assert sorted(t.get_text() for t in fig.legends[0].get_texts()) == sorted(point_label(p) for p in results)
    plt.close(fig)
    written = write_plots({"sar_adc_4b": results}, tmp_path, {"sar_adc_4b": spec})
    assert sorted(p.name for p in written) == ["transitions.png", "validation.png"]
    psf_spec = get_spec("psf")
    only = write_plots({"psf": validate_block(psf_spec, ArtifactStore(), "sky130")}, tmp_path, {"psf": psf_spec})
    assert [p.name for p in only] == ["validation.png"]

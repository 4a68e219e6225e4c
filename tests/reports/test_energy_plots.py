"""Energy-report and sweep figures: absolute values beside shares, log/linear axes, hatches by source kind,
the sweep's Pareto front over named axes with violations greyed and named (matplotlib objects, not pixels)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from circuitsim.accounting.sweep import sweep
from circuitsim.errors import CircuitsimError
from circuitsim.reports.energy import evaluate_all
from circuitsim.reports.energy_plots import (
    KIND_HATCH,
    bandwidth_figure,
    component_kinds,
    energy_by_component_figure,
    pareto_figure,
    sweep_pareto_figure,
)

ARCHS = ["leca-4x4", "snn", "cs"]


@pytest.fixture(scope="module")
def calibrated():
    return evaluate_all(ARCHS, "sky130")


@pytest.fixture(scope="module")
def literature():
    return evaluate_all(ARCHS, "literature")


@pytest.fixture(scope="module")
def leca_sweep():
    return sweep("leca-4x4", {"N_ch": np.arange(1.0, 9.0), "Q_bit": np.array([1.5, 2.0, 4.0, 9.0])}, "sky130")


def _segments(fig):
    """{(architecture, component): (kind, hatch, height %)} of the share panel's bars."""
    ax_share = fig.axes[1]
    out = {}
    for patch in ax_share.patches:
        if patch.get_gid():
            arch, comp, kind = patch.get_gid().split("/")
            out[(arch, comp)] = (kind, patch.get_hatch() or "", patch.get_height())
    return out


def test_segments_hatched_by_source_kind(calibrated):
    fig = energy_by_component_figure(calibrated)
    try:
        seg = _segments(fig)
        assert {a for a, _ in seg} == set(ARCHS)
        for ev in calibrated:
            for comp, kind in component_kinds(ev).items():
                got_kind, hatch, _ = seg[(ev.arch.name, comp)]
                assert got_kind == kind and hatch == KIND_HATCH[kind]
                lines = [ln for ln in ev.lines if ln.component == comp]
                if all(ln.budget.kind == "calibrated" for ln in lines):
                    assert hatch == ""
                else:
                    assert hatch != ""
        kinds = {k for k, _, height in seg.values() if height > 0}
        assert "calibrated" in kinds and kinds - {"calibrated"}  # both kinds occur at sky130
        legend_texts = [t.get_text() for leg in fig.axes[1].get_children()
                        if isinstance(leg, matplotlib.legend.Legend) for t in leg.get_texts()]
        assert "calibrated (sky130 artifact)" in legend_texts
        assert any(t.startswith("estimate") for t in legend_texts)
    finally:
        plt.close(fig)


def test_literature_technology_marks_every_bar(literature):
    assert all(ev.point is None for ev in literature)
    fig = energy_by_component_figure(literature)
    try:
        seg = _segments(fig)
        live = [(kind, hatch) for kind, hatch, height in seg.values() if height > 0]
        assert live and all(kind != "calibrated" and hatch == KIND_HATCH[kind] != "" for kind, hatch in live)
        assert "literature" in fig.axes[0].get_title()
    finally:
        plt.close(fig)


def test_absolute_values_beside_shares(calibrated):
    fig = energy_by_component_figure(calibrated)
    try:
        ax_total, ax_share = fig.axes[:2]
        assert ax_total.get_ylabel() == "energy per frame [µJ]" and ax_total.get_yscale() == "log"
        totals_uJ = [ev.energy_per_frame_J * 1e6 for ev in calibrated]
        bar_labels = [t.get_text() for t in ax_total.texts]
        assert bar_labels == [f"{t:.3g}" for t in totals_uJ]
        leca = calibrated[0].component_energy_J()
        pixel_uJ = leca["pixel"] * 1e6
        assert f"{pixel_uJ:.3g} µJ" in [t.get_text() for t in ax_share.texts]
        heights = {}
        for patch in ax_share.patches:
            if patch.get_gid():
                arch = patch.get_gid().split("/")[0]
                heights[arch] = heights.get(arch, 0.0) + patch.get_height()
        assert all(h == pytest.approx(100.0) for h in heights.values())
    finally:
        plt.close(fig)


def test_linear_axis_option(calibrated):
    figs = [energy_by_component_figure(calibrated, scale="linear"), pareto_figure(calibrated, scale="linear"),
            bandwidth_figure(calibrated, scale="linear")]
    try:
        assert figs[0].axes[0].get_yscale() == "linear"
        assert figs[1].axes[0].get_xscale() == figs[1].axes[0].get_yscale() == "linear"
        assert all(ax.get_yscale() == "linear" for ax in figs[2].axes)
    finally:
        for fig in figs:
            plt.close(fig)
    with pytest.raises(ValueError, match="scale"):
        energy_by_component_figure(calibrated, scale="semilog")


def _legend_texts(fig):
    return [t.get_text() for leg in fig.legends for t in leg.get_texts()]


def test_sweep_default_axes_violations_named_and_parameters_visible(leca_sweep):
    frame = leca_sweep
    fig = sweep_pareto_figure(frame, ["N_ch", "Q_bit"])
    try:
        ax = fig.axes[0]
        assert ax.get_xlabel() == "energy per frame [µJ]" and ax.get_ylabel() == "compression_ratio"
        texts = _legend_texts(fig)
        joined = " ".join(t.replace("\n", " ") for t in texts)
        assert "violates: Q_bit must be within 1.5..8" in joined  # Q_bit = 9
        assert "N_ch above 4 must be a multiple of 4" in joined  # N_ch = 5, 6, 7
        assert {"Q_bit = 1.5", "Q_bit = 2", "Q_bit = 4", "Q_bit = 9"} <= set(texts)
        assert any(cb_ax.get_ylabel() == "N_ch" for cb_ax in fig.axes[1:])
        # invalid points are grey (equal RGB), valid ones coloured by N_ch
        n_bad = 0
        for col in ax.collections:
            rgb = col.get_facecolors()[:, :3]
            if len(rgb) and np.allclose(rgb, rgb[:, :1]) and col.get_array() is None:
                n_bad += len(col.get_offsets())
        assert n_bad == int((~frame["valid"]).sum()) > 0
        annotations = [t.get_text() for t in ax.texts]
        assert annotations and all("N_ch=" in a and "Q_bit=" in a for a in annotations)
    finally:
        plt.close(fig)


def test_sweep_front_over_named_axes(leca_sweep):
    frame = leca_sweep
    fig = sweep_pareto_figure(frame, ["N_ch", "Q_bit"], x="frame_rate_hz", y="energy_per_frame_J")
    try:
        ax = fig.axes[0]
        assert ax.get_xlabel() == "frame rate [kHz]" and ax.get_ylabel() == "energy per frame [µJ]"
        (step,) = [ln for ln in ax.get_lines() if ln.get_drawstyle().startswith("steps")]
        front_x = np.asarray(step.get_xdata()) * 1e3  # kHz -> Hz
        valid = frame[frame["valid"]]
        fr, e = valid["frame_rate_hz"].to_numpy(), valid["energy_per_frame_J"].to_numpy()
        # brute force: not dominated (higher-or-equal frame rate and lower-or-equal energy, one strictly)
        dominated = [np.any((fr >= fr[i]) & (e <= e[i]) & ((fr > fr[i]) | (e < e[i]))) for i in range(len(fr))]
        expected = np.sort(fr[~np.array(dominated)])
        np.testing.assert_allclose(np.sort(front_x), expected)
        assert "higher frame_rate_hz, lower energy_per_frame_J" in " ".join(_legend_texts(fig))
    finally:
        plt.close(fig)
    with pytest.raises(CircuitsimError, match="no column 'latency'"):
        sweep_pareto_figure(frame, ["N_ch", "Q_bit"], x="latency")

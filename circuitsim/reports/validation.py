"""Validation report: a table of model-vs-SPICE figures per block and operating point, and plots
(transfer overlay, error vs input, sigma vs input) under ``reports/validation/<block>/``."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _fmt(value, spec):
    return "-" if value is None else format(value, spec)


def _input_text(value) -> str:
    """A worst-case input for the table: ``0.65`` on a 1-D grid, ``0.65/31`` on an (n, d) grid."""
    if isinstance(value, (list, tuple)):
        return " " + "/".join(format(v, "g") for v in value)  # may overflow the column; keep a gap
    return format(value, ".2f")


def summary_rows(results: dict) -> list[dict]:
    """One row per (block, point) with the headline figures."""
    rows = []
    for block, points in results.items():
        for point, rec in points.items():
            rows.append({
                "block": block,
                "point": point,
                "max_error_lsb": rec["max_error_lsb"],
                "max_error_mV": rec["max_error_mV"],
                "worst_input_V": rec["worst_input"],
                "sigma_ratio": rec["sigma_ratio"],
                "f_test_failures": rec["sigma_f_test_failures"],
                "energy_ratio": rec["energy_ratio"],
                "energy_per_op_fJ": rec["energy_per_op_J"] * 1e15,
                "pass": rec["pass"],
            })
    return rows


def format_table(results: dict) -> str:
    """Plain-text table for the terminal."""
    head = (f"{'block':<14}{'point':<10}{'max err':>10}{'max err':>10}{'at':>7}{'σ ratio':>9}"
            f"{'F fails':>8}{'E ratio':>9}{'E/op':>10}  pass")
    units = f"{'':<24}{'[LSB]':>10}{'[mV]':>10}{'[V]':>7}{'':>9}{'':>8}{'':>9}{'[fJ]':>10}"
    lines = [head, units]
    for r in summary_rows(results):
        lines.append(
            f"{r['block']:<14}{r['point']:<10}{r['max_error_lsb']:>10.3f}{r['max_error_mV']:>10.3f}"
            f"{_input_text(r['worst_input_V']):>7}{_fmt(r['sigma_ratio'], '9.3f'):>9}"
            f"{_fmt(r['f_test_failures'], 'd'):>8}"
            f"{r['energy_ratio']:>9.4f}{r['energy_per_op_fJ']:>10.2f}  {'yes' if r['pass'] else 'NO'}"
        )
    return "\n".join(lines)


def write_plots(results: dict, out_dir: Path, specs: dict) -> list[Path]:
    """Per block: transfer overlay, error vs input (LSB) and sigma vs input, all points on each plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for block, points in results.items():
        spec = specs[block]
        folder = Path(out_dir) / block
        folder.mkdir(parents=True, exist_ok=True)
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
        for point, rec in points.items():
            c = rec["curves"]
            x = np.asarray(c["x"])
            if x.ndim > 1:  # (n, d) grid: plot against the point index
                x = np.arange(len(x))
            axes[0].plot(x, c["spice_V"], "o", ms=3, label=f"SPICE {point}")
            axes[0].plot(x, c["model_mean_V"], "-", lw=0.8)
            axes[1].plot(x, (np.asarray(c["model_mean_V"]) - c["spice_V"]) / spec.lsb_v, ".-", label=point)
            if "spice_sigma_V" in c:
                sx = np.asarray(c.get("sigma_x", c["x"]))  # a block may have its own Monte Carlo grid
                if sx.ndim > 1:
                    sx = np.arange(len(sx))
                axes[2].plot(sx, np.asarray(c["spice_sigma_V"]) * 1e3, "o", label=f"SPICE MC {point}")
                axes[2].plot(sx, np.asarray(c["model_sigma_V"]) * 1e3, "-", label=f"model {point}")
        label = spec.input_label if np.asarray(spec.fit_grid).ndim == 1 else f"held-out point {spec.input_label}"
        axes[0].set(xlabel=label, ylabel="output [V]", title=f"{block}: transfer (held-out points)")
        axes[1].axhspan(-0.5, 0.5, color="0.9")
        axes[1].set(xlabel=label, ylabel="model − SPICE [LSB]",
                    title=f"error, {spec.output_bits}-bit LSB = {spec.lsb_v * 1e3:.2f} mV")
        axes[2].set(xlabel=label, ylabel="σ [mV]", title="Monte Carlo σ (held-out seeds)")
        for ax in axes:
            ax.grid(alpha=0.3)
        axes[1].legend(fontsize=7, ncol=2)
        if axes[2].get_legend_handles_labels()[0]:
            axes[2].legend(fontsize=7)
        fig.tight_layout()
        path = folder / "validation.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written

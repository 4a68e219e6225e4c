"""Validation report: a table of model-vs-SPICE figures per block and operating point, and one figure per
block under ``reports/validation/<block>/validation.png`` (matplotlib imported lazily, Agg backend).

On a 1-D grid: transfer (model lines, SPICE markers, one colour per corner/temperature), error model − SPICE
in mV with LSB on a second axis, Monte Carlo σ of SPICE and model with two-sided χ² intervals of an
n-sample estimate, and σ_model/σ_SPICE with its F interval. A full 2-D grid (the SCM over (v_in, weight
word)) is drawn as heat maps over the two inputs instead.

Why one module of ~410 lines: the table and every validation figure (1-D transfers, 2-D heat maps, the sigma
bands) read the same validation records.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from circuitsim.reports.figures import pyplot as _pyplot
from circuitsim.reports.figures import save_figure


def _fmt(value, spec):
    return "-" if value is None else format(value, spec)


def _input_text(value) -> str:
    """A worst-case input for the table: ``0.65`` on a 1-D grid, ``0.65/31`` on an (n, d) grid."""
    if isinstance(value, (list, tuple)):
        return "/".join(format(v, ".4g") for v in value)
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
                "energy_error": rec["energy_error"],
                "energy_per_op_fJ": rec["energy_per_op_J"] * 1e15,
                # a converter's code transition levels vs SPICE's (None: the block has no code edges)
                "transition_error_lsb": rec["transitions"]["max_error_lsb"] if "transitions" in rec else None,
                "pass": rec["pass"],
            })
    return rows


def format_table(results: dict) -> str:
    """Terminal table, one row per block and operating point (rich: columns never run together)."""
    from circuitsim.reports.text_table import render_table

    columns = ["block", "point", "max err\n[LSB]>", "max err\n[mV]>", "worst at\n(input)>",
               "edge err\n[LSB]>", "σ ratio>",
               "F-test\nfails>", "E err\n[% range]>", "E/op\n[fJ]>", "pass"]
    rows = [[r["block"], r["point"], f"{r['max_error_lsb']:.3f}", f"{r['max_error_mV']:.3f}",
             _input_text(r["worst_input_V"]), _fmt(r["transition_error_lsb"], ".3f"), _fmt(r["sigma_ratio"], ".3f"),
             _fmt(r["f_test_failures"], "d"),
             f"{100 * r['energy_error']:.2f}", f"{r['energy_per_op_fJ']:.2f}", "yes" if r["pass"] else "NO"]
            for r in summary_rows(results)]
    return render_table(columns, rows)


#: 2-D grids drawn as heat maps need at least this many distinct values on each axis (fewer: one line
#: per value of the second coordinate, e.g. the ternary comparator's low/high threshold).
_HEATMAP_MIN_LEVELS = 4


def point_label(point: str) -> str:
    """``tt_-40C`` -> ``tt, −40 °C`` (the legend's name of an operating point)."""
    corner, _, temp = point.rpartition("_")
    if not corner or not temp.endswith("C"):
        return point
    return f"{corner}, {temp[:-1].replace('-', '−')} °C"


def _unit_label(name: str) -> str:
    """``v_pix_V`` -> ``v_pix [V]``; other names unchanged."""
    name = name.strip()
    for suffix, unit in (("_V", "V"), ("_A", "A"), ("_s", "s"), ("_J", "J")):
        if name.endswith(suffix) and len(name) > len(suffix):
            return f"{name[:-len(suffix)]} [{unit}]"
    return name


def _axis_names(input_label: str, d: int) -> list[str]:
    """The d coordinate names of an (n, d) grid from the spec's ``input_label`` ("(v_in_V, word)")."""
    parts = [p.strip() for p in input_label.strip().strip("()").split(",", d - 1)]
    if len(parts) != d:
        parts = [f"x{i}" for i in range(d)]
    return [_unit_label(p) for p in parts]


def mc_interval(sigma, n: int, level: float):
    """Two-sided ``level`` confidence interval of σ from an n-sample standard deviation (ddof=1):
    σ·sqrt((n−1)/χ²_{(1+level)/2, n−1}) .. σ·sqrt((n−1)/χ²_{(1−level)/2, n−1})."""
    from scipy import stats

    sigma = np.asarray(sigma, float)
    lo_q, hi_q = stats.chi2.ppf([(1 + level) / 2, (1 - level) / 2], n - 1)
    return sigma * np.sqrt((n - 1) / lo_q), sigma * np.sqrt((n - 1) / hi_q)


def ratio_interval(ratio, n_model: int, n_spice: int, level: float):
    """Two-sided ``level`` interval of σ_model/σ_SPICE from two independent sample σ (ddof=1):
    r/sqrt(F_{(1+level)/2}) .. r/sqrt(F_{(1−level)/2}) with F(n_model−1, n_spice−1). It misses 1.0 exactly
    where the point-wise F-test at alpha = 1 − level fails."""
    from scipy import stats

    ratio = np.asarray(ratio, float)
    f_hi, f_lo = stats.f.ppf([(1 + level) / 2, (1 - level) / 2], n_model - 1, n_spice - 1)
    return ratio / np.sqrt(f_hi), ratio / np.sqrt(f_lo)


def _band_level() -> float:
    """Confidence level of the Monte Carlo bands: 1 − the point-wise F-test's alpha (99 %), so a point whose
    σ-ratio interval misses 1.0 is exactly a point the F-test fails."""
    from circuitsim.calibration.metrics import F_TEST_ALPHA

    return 1.0 - F_TEST_ALPHA


def _grid_levels(x: np.ndarray, min_levels: int = _HEATMAP_MIN_LEVELS):
    """For an (n, 2) grid that fills every (a, b) combination once, with >= ``min_levels`` values on each
    axis: (a values, b values, index of each point into a, into b). Otherwise None."""
    if x.ndim != 2 or x.shape[1] != 2:
        return None
    a, ia = np.unique(x[:, 0], return_inverse=True)
    b, ib = np.unique(x[:, 1], return_inverse=True)
    if min(len(a), len(b)) < min_levels or len(a) * len(b) != len(x):
        return None
    if len(set(zip(ia.tolist(), ib.tolist()))) != len(x):
        return None
    return a, b, ia, ib


def _grid_image(values, levels) -> np.ndarray:
    """Values of the points on a (len(b), len(a)) image: rows the second coordinate, columns the first."""
    a, b, ia, ib = levels
    image = np.full((len(b), len(a)), np.nan)
    image[ib, ia] = np.asarray(values, float)
    return image


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges around sorted cell centres (half-way between neighbours)."""
    c = np.asarray(centres, float)
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate(([2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]))


def _lsb_axis(ax, lsb_mV: float, which: str = "y"):
    """A second axis in LSB beside an axis in mV."""
    functions = (lambda mv: mv / lsb_mV, lambda lsb: lsb * lsb_mV)
    if which == "y":
        second = ax.secondary_yaxis("right", functions=functions)
        second.set_ylabel("[LSB]")
    else:
        second = ax.secondary_xaxis("top", functions=functions)
    return second


def _series(x: np.ndarray, names: list[str]):
    """(x along the plot axis, [(mask, suffix, linestyle, marker)]): one series per value of the second
    coordinate of a (n, 2) grid with few values; a 1-D grid is one series. None for other grids."""
    styles = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"), ((0, (5, 1)), "v"), ((0, (1, 3)), "P")]
    if x.ndim == 1:
        return x, [(np.ones(len(x), bool), "", *styles[0])]
    if x.ndim == 2 and x.shape[1] == 2:
        values = np.unique(x[:, 1])
        if len(values) <= len(styles):
            short = names[1].split(":")[0].strip()  # "which: 0 = low threshold, ..." -> "which"
            return x[:, 0], [(x[:, 1] == v, f"{short} = {v:g}", *styles[i]) for i, v in enumerate(values)]
    return None


def validation_figure(block: str, points: dict, spec):
    """The validation figure of one block over every operating point in ``points`` ({point: record})."""
    x0 = np.asarray(next(iter(points.values()))["curves"]["x"], float)
    levels = _grid_levels(x0)
    if levels is not None:
        return _heatmap_figure(block, points, spec, levels)
    return _line_figure(block, points, spec)


def _line_figure(block: str, points: dict, spec):
    """1-D grids (and 2-D grids with few values of the second coordinate, one line style each): transfer,
    error in mV with LSB beside it, and, where Monte Carlo was run, σ with its interval and σ ratio."""
    plt = _pyplot()
    from matplotlib.lines import Line2D

    level = _band_level()
    first = next(iter(points.values()))
    x0 = np.asarray(first["curves"]["x"], float)
    names = _axis_names(spec.input_label, 1 if x0.ndim == 1 else x0.shape[1])
    flat = _series(x0, names) is None
    xlabel = "held-out point index (grid " + spec.input_label + ")" if flat else names[0]
    has_mc = any("spice_sigma_V" in rec["curves"] for rec in points.values())
    if has_mc:
        fig, grid = plt.subplots(2, 2, figsize=(12.5, 8.2), layout="constrained")
        axes = grid.ravel()
    else:
        fig, axes = plt.subplots(1, 2, figsize=(12.5, 4.4), layout="constrained")
    ax_tf, ax_err = axes[0], axes[1]
    lsb_mV = first.get("lsb_mV", spec.lsb_v * 1e3)
    colours = plt.get_cmap("tab10").colors
    handles, series_styles = [], {}
    max_abs_mV = 0.0
    for i, (point, rec) in enumerate(points.items()):
        colour = colours[i % len(colours)]
        c = rec["curves"]
        x = np.asarray(c["x"], float)
        xs, series = (np.arange(len(x)), [(np.ones(len(x), bool), "", "-", "o")]) if flat else _series(x, names)
        model = np.asarray(c["model_mean_V"], float)
        spice = np.asarray(c["spice_V"], float)
        err_mV = (model - spice) * 1e3
        max_abs_mV = max(max_abs_mV, float(np.max(np.abs(err_mV))))
        for mask, suffix, ls, marker in series:
            order = np.argsort(xs[mask])
            xm = xs[mask][order]
            ax_tf.plot(xm, model[mask][order], ls=ls, color=colour, lw=1.0)
            ax_tf.plot(xm, spice[mask][order], marker, ls="none", ms=3.5, mfc="none", color=colour)
            ax_err.plot(xm, err_mV[mask][order], ls=ls, marker=marker, ms=2.5, color=colour, lw=0.9)
            if suffix:
                series_styles[suffix] = (ls, marker)
        handles.append(Line2D([], [], color=colour, ls="-", marker="o", mfc="none", ms=4,
                              label=point_label(point)))
        if "spice_sigma_V" in c:
            _sigma_lines(axes[2], axes[3], rec, colour, point, names, flat, level)
    style = [Line2D([], [], color="0.2", ls="-", label="model (line)"),
             Line2D([], [], color="0.2", ls="none", marker="o", mfc="none", label="SPICE (markers)")]
    style += [Line2D([], [], color="0.2", ls=ls, marker=m, ms=4, label=s) for s, (ls, m) in series_styles.items()]
    fig.legend(handles=handles + style, loc="outside right upper", fontsize=8, title="corner, temperature",
               title_fontsize=8)
    ax_tf.set(xlabel=xlabel, ylabel="output [V]", title=f"{block}: transfer (held-out points)")
    if x0.ndim > 1:
        fig.suptitle(f"grid: {spec.input_label}", fontsize=9)
    bar_mV = 0.5 * lsb_mV
    if bar_mV <= 4 * max(max_abs_mV, 1e-12):
        ax_err.axhspan(-bar_mV, bar_mV, color="0.92", zorder=0, label="±0.5 LSB bar")
        bar_note = "grey: ±0.5 LSB bar"
    else:
        bar_note = f"bar ±0.5 LSB = ±{bar_mV:.3g} mV (off scale)"
    if max_abs_mV == 0:
        bar_note += "; model = SPICE at every point"
    ax_err.axhline(0.0, color="0.5", lw=0.6)
    ax_err.set(xlabel=xlabel, ylabel="model − SPICE [mV]",
               title=f"error; {spec.output_bits}-bit LSB = {lsb_mV:.3g} mV; {bar_note}")
    ax_err.title.set_fontsize(9)
    _lsb_axis(ax_err, lsb_mV)
    if has_mc:
        n = next(rec["mc_samples"] for rec in points.values() if "spice_sigma_V" in rec["curves"])
        axes[2].set(xlabel=xlabel, ylabel="σ [mV]")
        axes[2].set_title(f"Monte Carlo σ, held-out seeds; bands or bars: {level:.0%} χ² interval, n = {n}", fontsize=9)
        axes[2].legend(fontsize=7)
        axes[3].axhline(1.0, color="0.3", lw=0.8)
        axes[3].set(xlabel=xlabel, ylabel="σ model / σ SPICE")
        axes[3].set_title(f"σ ratio, {level:.0%} interval (F, n = {n} each);\nmisses 1.0 = F-test failure",
                          fontsize=9)
        axes[3].legend(fontsize=7)
    for ax in axes:
        ax.grid(alpha=0.3)
    return fig


def _sigma_lines(ax_sigma, ax_ratio, rec, colour, point, names, flat, level):
    """σ of SPICE (markers) and model (line), each with its χ² band; ratio with its F interval."""
    c = rec["curves"]
    n = int(rec["mc_samples"])
    sx = np.asarray(c.get("sigma_x", c["x"]), float)
    xs, series = (np.arange(len(sx)), [(np.ones(len(sx), bool), "", "-", "o")]) if flat else _series(sx, names)
    spice = np.asarray(c["spice_sigma_V"], float) * 1e3
    model = np.asarray(c["model_sigma_V"], float) * 1e3
    s_lo, s_hi = mc_interval(spice, n, level)
    m_lo, m_hi = mc_interval(model, n, level)
    ratio = model / spice
    r_lo, r_hi = ratio_interval(ratio, n, n, level)
    label = point_label(point)
    for k, (mask, suffix, ls, marker) in enumerate(series):
        o = np.argsort(xs[mask])
        xm = xs[mask][o]
        tag = f"{label}{', ' + suffix if suffix else ''}"
        first = k == 0
        if len(xm) < 2:  # a lone point (a sparse Monte Carlo grid): a band or a line would not show
            _sigma_point(ax_sigma, ax_ratio, xm, (spice, s_lo, s_hi), (model, m_lo, m_hi), (ratio, r_lo, r_hi),
                         mask, colour, marker, label, tag, first, level)
            continue
        ax_sigma.fill_between(xm, s_lo[mask][o], s_hi[mask][o], color=colour, alpha=0.18, lw=0,
                              label=f"SPICE σ band, {label}" if first else None)
        ax_sigma.plot(xm, spice[mask][o], marker, ls="none", ms=3.5, mfc="none", color=colour,
                      label=f"SPICE σ, {label}" if first else None)
        ax_sigma.plot(xm, model[mask][o], ls=ls, color=colour, lw=1.0, label=f"model σ, {label}" if first else None)
        ax_sigma.plot(xm, m_lo[mask][o], ls=":", color=colour, lw=0.7, alpha=0.7,
                      label=f"model σ band, {label}" if first else None)
        ax_sigma.plot(xm, m_hi[mask][o], ls=":", color=colour, lw=0.7, alpha=0.7)
        ax_ratio.fill_between(xm, r_lo[mask][o], r_hi[mask][o], color=colour, alpha=0.2, lw=0,
                              label=f"{level:.0%} interval, {label}" if first else None)
        ax_ratio.plot(xm, ratio[mask][o], ls=ls, marker=marker, ms=3, color=colour, lw=0.9, label=tag)
        miss = (r_lo[mask][o] > 1) | (r_hi[mask][o] < 1)
        if np.any(miss):
            ax_ratio.plot(xm[miss], ratio[mask][o][miss], "x", color="C3", ms=7,
                          label="interval misses 1.0" if first else None)
    if rec.get("sigma_ratio") is not None:
        from circuitsim.calibration.metrics import SIGMA_RATIO_BAND

        ax_ratio.axhline(rec["sigma_ratio"], color=colour, ls="--", lw=0.8,
                         label=f"pooled {rec['sigma_ratio']:.3f} (bar {SIGMA_RATIO_BAND[0]}–{SIGMA_RATIO_BAND[1]})")


def _sigma_point(ax_sigma, ax_ratio, xm, spice, model, ratio, mask, colour, marker, label, tag, first, level):
    """One Monte Carlo point: SPICE σ (open marker) and model σ (x, beside it) with their χ² intervals as error
    bars, the ratio with its F interval."""
    def bar(ax, x, triple, **kw):
        v, lo, hi = (np.asarray(t)[mask] for t in triple)
        ax.errorbar(x, v, yerr=[v - lo, hi - v], ls="none", capsize=2.5, elinewidth=0.9, color=colour, **kw)
        return v, lo, hi

    dx = 0.004 * (ax_sigma.get_xlim()[1] - ax_sigma.get_xlim()[0]) + 1e-12
    bar(ax_sigma, xm, spice, marker=marker, ms=4, mfc="none", label=f"SPICE σ ({level:.0%} interval), {label}" if first else None)
    bar(ax_sigma, xm + dx, model, marker="x", ms=4, label=f"model σ ({level:.0%} interval), {label}" if first else None)
    v, lo, hi = bar(ax_ratio, xm, ratio, marker=marker, ms=3.5, label=tag)
    if np.any((lo > 1) | (hi < 1)):
        ax_ratio.plot(xm, v, "x", color="C3", ms=7, label="interval misses 1.0" if first else None)


def _heatmap_figure(block: str, points: dict, spec, levels):
    """A full 2-D grid (e.g. the SCM over (v_in, weight word)): SPICE output, σ of SPICE and model and
    their ratio at the Monte Carlo point, and the error in mV (LSB on the colour bar) at every point."""
    plt = _pyplot()
    from matplotlib.colors import TwoSlopeNorm

    level = _band_level()
    first = next(iter(points.values()))
    names = _axis_names(spec.input_label, 2)
    lsb_mV = first.get("lsb_mV", spec.lsb_v * 1e3)
    n_err = len(points)
    ncols = 4
    nrows = 1 + -(-n_err // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.1 * ncols, 3.4 * nrows), layout="constrained",
                             squeeze=False)
    a, b = levels[0], levels[1]
    ea, eb = _edges(a), _edges(b)

    def heat(ax, image, title, **kw):
        mesh = ax.pcolormesh(ea, eb, image, **kw)
        ax.set(xlabel=names[0], ylabel=names[1])
        ax.set_title(title, fontsize=9)
        return mesh

    nominal = "tt_27C" if "tt_27C" in points else next(iter(points))
    rec = points[nominal]
    mesh = heat(axes[0, 0], _grid_image(rec["curves"]["spice_V"], levels),
                f"{block}: SPICE output, {point_label(nominal)}", cmap="viridis")
    fig.colorbar(mesh, ax=axes[0, 0], label="output [V]")
    mc = [(p, r) for p, r in points.items() if "spice_sigma_V" in r["curves"]]
    if mc and _grid_levels(np.asarray(mc[0][1]["curves"].get("sigma_x", mc[0][1]["curves"]["x"]), float),
                           min_levels=1) is None:
        mc = []  # a Monte Carlo grid that is not a full (a, b) grid: no σ maps (the table has the figures)
    if mc:
        p_mc, r_mc = mc[0]
        c = r_mc["curves"]
        n = int(r_mc["mc_samples"])
        sx = np.asarray(c.get("sigma_x", c["x"]), float)
        sl = _grid_levels(sx, min_levels=1)  # the Monte Carlo grid may be coarser (2 v_in x 32 words)
        sa_e, sb_e = _edges(sl[0]), _edges(sl[1])
        spice = np.asarray(c["spice_sigma_V"], float) * 1e3
        model = np.asarray(c["model_sigma_V"], float) * 1e3
        vmax = float(np.nanmax([spice.max(), model.max()]))
        for ax, values, who in ((axes[0, 1], spice, "SPICE"), (axes[0, 2], model, "model")):
            m = ax.pcolormesh(sa_e, sb_e, _grid_image(values, sl), cmap="magma", vmin=0, vmax=vmax)
            ax.set(xlabel=names[0], ylabel=names[1])
            ax.set_title(f"{who} σ, {point_label(p_mc)} (n = {n})", fontsize=9)
            fig.colorbar(m, ax=ax, label="σ [mV]")
        ratio = model / spice
        r_lo, r_hi = ratio_interval(ratio, n, n, level)
        span = max(float(np.max(np.abs(ratio - 1))), 0.05)
        ax = axes[0, 3]
        m = ax.pcolormesh(sa_e, sb_e, _grid_image(ratio, sl), cmap="RdBu_r",
                          norm=TwoSlopeNorm(1.0, 1 - span, 1 + span))
        miss = (r_lo > 1) | (r_hi < 1)
        ax.plot(sl[0][sl[2][miss]], sl[1][sl[3][miss]], "x", color="k", ms=6,
                label=f"{level:.0%} interval misses 1.0")
        ax.set(xlabel=names[0], ylabel=names[1])
        ax.set_title(f"σ model / SPICE: pooled {r_mc['sigma_ratio']:.3f};\n"
                     f"{level:.0%} F interval misses 1.0 at {int(miss.sum())} of {len(ratio)}", fontsize=9)
        if miss.any():
            ax.legend(fontsize=7, loc="upper right")
        fig.colorbar(m, ax=ax, label="σ ratio")
    else:
        for ax in axes[0, 1:]:
            ax.axis("off")
    errors = {p: (np.asarray(r["curves"]["model_mean_V"], float) - np.asarray(r["curves"]["spice_V"], float)) * 1e3
              for p, r in points.items()}
    lim = max(float(max(np.max(np.abs(e)) for e in errors.values())), 1e-6)
    err_axes = [ax for row in axes[1:] for ax in row]
    for ax, (p, e) in zip(err_axes, errors.items()):
        mesh = heat(ax, _grid_image(e, levels), f"model − SPICE, {point_label(p)}: max |e| "
                    f"{np.max(np.abs(e)):.2g} mV", cmap="RdBu_r", vmin=-lim, vmax=lim)
    for ax in err_axes[n_err:]:
        ax.axis("off")
    if len(err_axes) > n_err:  # the colour bar in the first free panel, beside the error maps
        bar = fig.colorbar(mesh, cax=err_axes[n_err].inset_axes([0.55, 0.05, 0.08, 0.9]),
                           label="model − SPICE [mV]")
    else:
        bar = fig.colorbar(mesh, ax=err_axes, label="model − SPICE [mV]", shrink=0.8)
    second = bar.ax.secondary_yaxis("left", functions=(lambda mv: mv / lsb_mV, lambda l: l * lsb_mV))
    second.set_ylabel(f"[LSB] ({spec.output_bits}-bit LSB = {lsb_mV:.3g} mV; bar ±0.5 LSB)", fontsize=8)
    return fig


def transitions_figure(block: str, points: dict):
    """A converter's code transition levels over every operating point: model − SPICE per edge (LSB) with the
    SPICE bracket as an error bar and the ±0.5 LSB bar, and the SPICE converter's DNL / INL from the same
    edges (end-point line), one colour per corner/temperature."""
    plt = _pyplot()
    fig, (ax_err, ax_lin) = plt.subplots(1, 2, figsize=(12.5, 4.4), layout="constrained")
    colours = plt.get_cmap("tab10").colors
    ax_err.axhspan(-0.5, 0.5, color="0.92", zorder=0)
    for i, (point, rec) in enumerate(points.items()):
        t = rec["transitions"]
        colour = colours[i % len(colours)]
        shift = (i - 0.5 * (len(points) - 1)) * 0.06   # side by side at each edge
        xs = np.arange(len(t["edges"])) + shift
        ax_err.errorbar(xs, t["error_lsb"], yerr=t["bracket_half_width_lsb"], fmt="o", ms=3.5, color=colour,
                        capsize=2, lw=0.8, label=point_label(point))
        lin = t["spice_linearity"]
        pos = {k: j for j, k in enumerate(t["edges"])}
        ax_lin.plot([pos[k] + shift for k in lin["inl_edges"]], lin["inl_lsb"], "o", ms=3.5, mfc="none",
                    color=colour)
        ax_lin.plot([pos[k] + 0.5 + shift for k in lin["dnl_codes"]], lin["dnl_lsb"], "s", ms=3.5, color=colour)
    labels = [str(k) for k in next(iter(points.values()))["transitions"]["edges"]]
    for ax in (ax_err, ax_lin):
        ax.set_xticks(range(len(labels)), labels, fontsize=7 if len(labels) > 9 else 9)
        ax.axhline(0.0, color="0.5", lw=0.6)
        ax.grid(alpha=0.3)
    ax_err.set(xlabel="edge k (code k−1 → k)", ylabel="T_model − T_SPICE [LSB]")
    ax_err.set_title(f"{block}: code transition levels (grey: ±0.5 LSB bar; bars: SPICE bracket)", fontsize=9)
    ax_lin.set(xlabel="edge k: INL (circles); between edges c and c+1: DNL of code c (squares)",
               ylabel="SPICE [LSB]")
    ax_lin.set_title("SPICE converter: INL at the edges, DNL where adjacent edges were measured", fontsize=9)
    fig.legend(loc="outside right upper", fontsize=8, title="corner, temperature", title_fontsize=8)
    return fig


def write_plots(results: dict, out_dir: Path, specs: dict) -> list[Path]:
    """Per block, ``<out_dir>/<block>/validation.png`` (:func:`validation_figure`) and, for a converter
    with measured code edges, ``transitions.png`` (:func:`transitions_figure`)."""
    written = []
    for block, points in results.items():
        folder = Path(out_dir) / block
        written.append(save_figure(validation_figure(block, points, specs[block]), folder / "validation.png", dpi=110))
        if all("transitions" in rec for rec in points.values()):
            written.append(save_figure(transitions_figure(block, points), folder / "transitions.png", dpi=110))
    return written

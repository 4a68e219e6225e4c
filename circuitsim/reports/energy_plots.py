"""Plots of the energy report (matplotlib imported here, lazily, with the Agg backend): energy by component
(absolute values beside shares, hatched by source kind), energy vs compression ratio with its Pareto front,
bandwidth, each on a log or linear axis (``scale``); and the Pareto plot of a sweep over the columns the user
names, constraint violations greyed and named. Each ``*_figure`` function returns the matplotlib Figure
(for tests); each ``plot_*`` writes it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from circuitsim.reports.figures import pyplot as _pyplot
from circuitsim.reports.figures import save_figure


#: Hatch of a bar by the source kind its figure rests on (calibrated: none). Order: most to least trusted.
KIND_HATCH = {"calibrated": "", "measured": "..", "published": "//", "derived": "\\\\", "estimate": "xx"}
_KIND_TEXT = {"calibrated": "calibrated ({technology} artifact)", "measured": "measured (silicon, as printed)",
              "published": "published (as printed)", "derived": "derived from a published figure",
              "estimate": "estimate (first principles)"}
SCALES = ("log", "linear")


def _check_scale(scale: str) -> str:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, not {scale!r}")
    return scale


def component_kinds(ev) -> dict:
    """{component: source kind} of one evaluation: the least trusted kind (calibrated < measured <
    published < derived < estimate) among the component's lines that carry energy."""
    from circuitsim.accounting.engine import line_energy_J

    rank = {k: i for i, k in enumerate(KIND_HATCH)}
    kinds: dict[str, str] = {}
    for line in ev.lines:
        if not np.any(np.asarray(line_energy_J(line)) != 0):
            continue
        kind = line.budget.kind if line.budget.kind in rank else "estimate"
        old = kinds.get(line.component)
        if old is None or rank[kind] > rank[old]:
            kinds[line.component] = kind
    return kinds


def _si(values, unit: str):
    """(factor, label) showing ``values`` (SI) with one engineering prefix: 4.8e-6 J -> (1e6, 'µJ')."""
    peak = float(np.nanmax(np.abs(np.asarray(values, float)))) if np.size(values) else 0.0
    for factor, prefix in ((1e-9, "G"), (1e-6, "M"), (1e-3, "k"), (1, ""), (1e3, "m"), (1e6, "µ"), (1e9, "n"),
                           (1e12, "p"), (1e15, "f")):
        if peak * factor >= 1:
            return factor, f"{prefix}{unit}"
    return 1e15, f"f{unit}"


def energy_by_component_figure(evaluations, scale: str = "log"):
    """Top: energy per frame per architecture, its value printed on each bar (``scale`` "log" or "linear").
    Bottom: the same bars stacked by component share, each segment of at least 5 % labelled with its
    energy. Hatches say what each segment's figure rests on (:data:`KIND_HATCH`): no hatch = calibrated
    artifact; a hatched segment is a literature figure (published / derived / estimate / measured), with a
    calibrated technology a fallback (the report's ``fallback_reason`` says why). Each segment's gid is
    ``architecture/component/kind``."""
    plt = _pyplot()
    from matplotlib.patches import Patch

    _check_scale(scale)
    names = [ev.arch.name for ev in evaluations]
    per = [ev.component_energy_J() for ev in evaluations]
    kinds = [component_kinds(ev) for ev in evaluations]
    components = list(dict.fromkeys(c for p in per for c in p))
    colors = [*plt.get_cmap("tab20").colors, *plt.get_cmap("tab20b").colors, *plt.get_cmap("tab20c").colors]
    fig, (ax_total, ax_share) = plt.subplots(2, 1, figsize=(max(9, 0.75 * len(names) + 5), 8.5), sharex=True,
                                             gridspec_kw={"height_ratios": [1, 2]}, layout="constrained")
    x = np.arange(len(names))
    totals = np.array([sum(p.values()) for p in per])
    factor, unit = _si(totals, "J")
    bars = ax_total.bar(x, totals * factor, color="0.45")
    ax_total.bar_label(bars, labels=[f"{t * factor:.3g}" for t in totals], fontsize=7, padding=2)
    ax_total.set_yscale(scale)
    if scale == "linear":
        ax_total.set_ylim(0, totals.max() * factor * 1.15)
    else:
        ax_total.set_ylim(top=totals.max() * factor * 3)
    ax_total.set_ylabel(f"energy per frame [{unit}]")
    bottom = np.zeros(len(names))
    seen_kinds = set()
    for i, comp in enumerate(components):
        energy = np.array([p.get(comp, 0.0) for p in per])
        share = energy / totals
        segs = ax_share.bar(x, share * 100, bottom=bottom * 100, color=colors[i % len(colors)], label=comp,
                            edgecolor="0.25", linewidth=0.4)
        for j, seg in enumerate(segs):
            kind = kinds[j].get(comp, "none")  # "none": the component spends nothing in this architecture
            seg.set_gid(f"{names[j]}/{comp}/{kind}")
            if energy[j] > 0:
                seen_kinds.add(kind)
                seg.set_hatch(KIND_HATCH[kind])
            if share[j] >= 0.05:
                f, u = _si(energy[j], "J")
                ax_share.text(x[j], (bottom[j] + share[j] / 2) * 100, f"{energy[j] * f:.3g} {u}",
                              ha="center", va="center", fontsize=6,
                              bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75})
        bottom += share
    ax_share.set_ylim(0, 100)
    component_legend = ax_share.legend(handles=[Patch(facecolor=colors[i % len(colors)], edgecolor="0.25",
                                                      linewidth=0.4, label=c) for i, c in enumerate(components)],
                                       fontsize=7, ncol=1, bbox_to_anchor=(1.01, 1), loc="upper left",
                                       title="component", title_fontsize=7)
    ax_share.add_artist(component_legend)
    technology = evaluations[0].technology if evaluations else ""
    ax_share.legend(handles=[Patch(facecolor="white", edgecolor="0.3", hatch=KIND_HATCH[k],
                                   label=_KIND_TEXT[k].format(technology=technology))
                             for k in KIND_HATCH if k in seen_kinds],
                    fontsize=7, loc="lower left", bbox_to_anchor=(1.01, 0), title="source of the figure",
                    title_fontsize=7)
    points = [ev.point for ev in evaluations if ev.point is not None]
    if points:
        title = f"calibrated budgets at {points[0]} where an artifact exists; hatched: literature figures (fallbacks)"
    else:
        title = "literature budgets (no calibrated technology); hatch: kind of each figure"
    ax_total.set_title(title, fontsize=9)
    ax_share.set_ylabel("share of energy per frame [%] (labels: energy per frame)")
    ax_share.set_xticks(x, names, rotation=45, ha="right")
    return fig


def plot_energy_by_component(evaluations, path: Path, scale: str = "log") -> Path:
    """Write :func:`energy_by_component_figure` to ``path``."""
    return save_figure(energy_by_component_figure(evaluations, scale), path)


def _front(energy, cr):
    from circuitsim.accounting.sweep import pareto_mask

    mask = pareto_mask(energy, cr, np.ones(len(energy), dtype=bool))
    order = np.argsort(energy[mask])
    return energy[mask][order], cr[mask][order]


def pareto_figure(evaluations, scale: str = "log"):
    """Energy per frame vs compression ratio, one labelled point per architecture, Pareto front as a step
    line (axes ``scale`` "log" or "linear")."""
    plt = _pyplot()
    _check_scale(scale)
    energy = np.array([ev.energy_per_frame_J for ev in evaluations])
    cr = np.array([ev.compression_ratio for ev in evaluations])
    factor, unit = _si(energy, "J")
    fig, ax = plt.subplots(figsize=(7, 5), layout="constrained")
    ax.scatter(energy * factor, cr, color="C0")
    for ev, e, c in zip(evaluations, energy, cr):
        ax.annotate(ev.arch.name, (e * factor, c), fontsize=7, xytext=(3, 3), textcoords="offset points")
    fe, fc = _front(energy, cr)
    ax.step(fe * factor, fc, where="post", color="C3", label="Pareto front (lower energy, higher CR)")
    ax.set_xscale(scale)
    ax.set_yscale(scale)
    ax.set_xlabel(f"energy per frame [{unit}]")
    ax.set_ylabel("compression ratio")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig


def plot_pareto(evaluations, path: Path, scale: str = "log") -> Path:
    """Write :func:`pareto_figure` to ``path``."""
    return save_figure(pareto_figure(evaluations, scale), path)


def bandwidth_figure(evaluations, scale: str = "log"):
    """Bits per frame and bits per second per architecture, the value printed on each bar."""
    plt = _pyplot()
    _check_scale(scale)
    names = [ev.arch.name for ev in evaluations]
    bits = np.array([ev.bits_per_frame for ev in evaluations])
    rate = bits * np.array([ev.frame_rate_hz for ev in evaluations])
    x = np.arange(len(names))
    fig, (ax_f, ax_s) = plt.subplots(1, 2, figsize=(max(10, 0.7 * len(names) + 4), 4.5), layout="constrained")
    for ax, values, unit, colour, what in ((ax_f, bits, "bit", "C2", "per frame"),
                                           (ax_s, rate, "bit/s", "C4", "at the frame rate")):
        factor, label = _si(values, unit)
        bars = ax.bar(x, values * factor, color=colour)
        ax.bar_label(bars, labels=[f"{v * factor:.3g}" for v in values], fontsize=7, padding=2)
        ax.set_ylabel(f"{label} {what}")
        ax.set_yscale(scale)
        top = values.max() * factor
        ax.set_ylim(*((0, top * 1.15) if scale == "linear" else (None, top * 3)))
        ax.set_xticks(x, names, rotation=45, ha="right")
    return fig


def plot_bandwidth(evaluations, path: Path, scale: str = "log") -> Path:
    """Write :func:`bandwidth_figure` to ``path``."""
    return save_figure(bandwidth_figure(evaluations, scale), path)


#: Sweep columns where a higher value is better (every other column: lower is better).
HIGHER_IS_BETTER = frozenset({"compression_ratio", "frame_rate_hz", "max_frame_rate_hz"})
_COLUMN_UNITS = {"_J": "J", "_W": "W", "_hz": "Hz", "_s": "s", "bits_per_frame": "bit",
                 "bits_per_second": "bit/s"}
#: Markers for the levels of the parameter shown by marker shape.
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")


def _column_axis(frame, column: str):
    """(factor, axis label, log?) of a sweep column: SI columns with one prefix, spread > 30x on a log axis."""
    values = np.asarray(frame[column], float)
    unit = next((u for suffix, u in _COLUMN_UNITS.items() if column.endswith(suffix)), None)
    text = column
    for suffix in ("_J", "_W", "_hz", "_s"):
        if column.endswith(suffix):
            text = column[:-len(suffix)]
    text = text.replace("_", " ") if unit else column
    factor, label = _si(values, unit) if unit else (1.0, "")
    finite = values[np.isfinite(values)]
    log = bool(finite.size and finite.min() > 0 and finite.max() / finite.min() > 30)
    return factor, f"{text} [{label}]" if label else text, log


def violated_constraints(frame, params, arch=None) -> list[str]:
    """Per row of a sweep frame, the messages of the architecture's constraints it violates joined by
    "; " ("" where all hold). ``arch``: an Architecture, a name or path (default: the frame's
    ``architecture`` attribute). Rows are re-evaluated from the parameter columns."""
    from circuitsim.accounting.engine import evaluate_symbols, load_architecture
    from circuitsim.accounting.schema import Architecture

    if not isinstance(arch, Architecture):
        arch = load_architecture(arch or frame.attrs["architecture"])
    n = len(frame)
    with np.errstate(all="ignore"):
        # with the timing the sweep took from the blocks (its columns), as the sweep evaluated them
        names = [*params, *(ts.parameter for ts in arch.timing_sources if ts.parameter in frame and ts.parameter not in params)]
        s = evaluate_symbols(arch, {p: frame[p].to_numpy(float) for p in names})
        broken = [(c.message, ~np.broadcast_to(np.asarray(c.require(s), bool), (n,))) for c in arch.constraints]
    return ["; ".join(msg for msg, bad in broken if bad[i]) for i in range(n)]


def _wrap(text: str, width: int = 48) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def sweep_pareto_figure(frame, params, x: str = "energy_per_frame_J", y: str = "compression_ratio",
                        arch=None, annotate: int = 12):
    """A sweep over the axes ``x`` and ``y`` (columns of the sweep frame) with the Pareto front of the valid
    points over those two axes (lower is better, except the columns of :data:`HIGHER_IS_BETTER`).

    The parameters are visible: colour = the parameter with the most values (colour bar), marker = the one
    with the fewest (legend), and every other parameter in the labels of up to ``annotate`` front points
    (which name all parameters). Points violating a constraint are grey, one shade per violated constraint
    set, named in the legend (``arch``: see :func:`violated_constraints`; unnamed if it cannot be loaded)."""
    plt = _pyplot()
    from matplotlib.lines import Line2D

    from circuitsim.accounting.sweep import pareto_mask
    from circuitsim.errors import CircuitsimError

    params = list(params)
    for column in (x, y, *params):
        if column not in frame.columns:
            raise CircuitsimError(f"sweep plot: no column {column!r}; columns: {', '.join(frame.columns)}")
    valid = frame["valid"].to_numpy(bool)
    xv, yv = frame[x].to_numpy(float), frame[y].to_numpy(float)
    front = pareto_mask(xv if x not in HIGHER_IS_BETTER else -xv, yv if y in HIGHER_IS_BETTER else -yv, valid)
    levels = {p: np.unique(frame[p].to_numpy(float)) for p in params}
    by_count = sorted(params, key=lambda p: len(levels[p]))
    colour_p = by_count[-1]
    marker_p = by_count[0] if len(params) > 1 and len(levels[by_count[0]]) <= len(_MARKERS) else None
    fx, xlabel, xlog = _column_axis(frame, x)
    fy, ylabel, ylog = _column_axis(frame, y)

    fig, ax = plt.subplots(figsize=(9, 7), layout="constrained")
    marker_of = (lambda v: _MARKERS[int(np.searchsorted(levels[marker_p], v))]) if marker_p else (lambda v: "o")
    mvals = frame[marker_p].to_numpy(float) if marker_p else np.zeros(len(frame))
    handles = []
    if not valid.all():
        try:
            reasons = np.array(violated_constraints(frame, params, arch), dtype=object)
        except CircuitsimError:
            reasons = np.array(["a constraint"] * len(frame), dtype=object)
        bad_reasons = list(dict.fromkeys(reasons[~valid]))
        greys = np.linspace(0.55, 0.85, max(len(bad_reasons), 1))
        for reason, grey in zip(bad_reasons, greys):
            rows = ~valid & (reasons == reason)
            for mv in np.unique(mvals[rows]):
                sel = rows & (mvals == mv)
                ax.scatter(xv[sel] * fx, yv[sel] * fy, s=14, marker=marker_of(mv), color=str(grey), zorder=1)
            handles.append(Line2D([], [], ls="none", marker="o", color=str(grey),
                                  label=_wrap(f"violates: {reason or 'a constraint'} ({int(rows.sum())})")))
    cvals = frame[colour_p].to_numpy(float)
    norm = plt.Normalize(cvals.min(), cvals.max() if cvals.max() > cvals.min() else cvals.min() + 1)
    mappable = None
    for mv in np.unique(mvals[valid]):
        sel = valid & (mvals == mv)
        mappable = ax.scatter(xv[sel] * fx, yv[sel] * fy, s=22, marker=marker_of(mv), c=cvals[sel],
                              cmap="viridis", norm=norm, edgecolors="none", zorder=2)
    if mappable is not None:
        fig.colorbar(mappable, ax=ax, label=colour_p)
    if marker_p:
        handles[:0] = [Line2D([], [], ls="none", marker=marker_of(v), color="0.3", label=f"{marker_p} = {v:g}")
                       for v in levels[marker_p]]
    order = np.flatnonzero(front)[np.argsort(xv[front])]
    if order.size:
        minimise_x = x not in HIGHER_IS_BETTER
        ax.step(xv[order] * fx, yv[order] * fy, where="post" if minimise_x else "pre", color="C3", lw=1.2,
                zorder=3)
        ax.scatter(xv[order] * fx, yv[order] * fy, s=70, facecolors="none", edgecolors="C3", lw=1.2, zorder=4)
        sense = lambda col: "higher" if col in HIGHER_IS_BETTER else "lower"
        handles.insert(0, Line2D([], [], color="C3", marker="o", mfc="none",
                                 label=f"Pareto front ({sense(x)} {x}, {sense(y)} {y}): {order.size}"))
        step = max(1, -(-order.size // max(annotate, 1)))
        for i in order[::step]:
            text = ", ".join(f"{p}={frame[p].iat[i]:g}" for p in params)
            ax.annotate(text, (xv[i] * fx, yv[i] * fy), fontsize=6, xytext=(4, -9), textcoords="offset points",
                        color="C3", zorder=5)
    ax.set_xscale("log" if xlog else "linear")
    ax.set_yscale("log" if ylog else "linear")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both")
    ax.set_title(f"{frame.attrs.get('architecture', '')}: sweep of {', '.join(params)}; {len(frame)} points, "
                 f"{int(valid.sum())} valid", fontsize=9)
    fig.legend(handles=handles, fontsize=7, loc="outside lower center", ncol=2 if len(handles) > 3 else 1)
    return fig


def plot_sweep_pareto(frame, params, path: Path, x: str = "energy_per_frame_J", y: str = "compression_ratio",
                      arch=None) -> Path:
    """Write :func:`sweep_pareto_figure` to ``path``."""
    return save_figure(sweep_pareto_figure(frame, params, x, y, arch), path)

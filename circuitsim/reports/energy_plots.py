"""Plots of the energy report (matplotlib imported here, lazily, with the Agg backend): energy by component,
energy vs compression ratio with its Pareto front, bandwidth; and the Pareto plot of a sweep."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _uncalibrated(ev) -> set:
    """Components of a calibrated-technology evaluation with at least one literature line (fallbacks)."""
    if ev.point is None:
        return set()
    return {line.component for line in ev.lines if line.budget.origin != "calibrated"}


def plot_energy_by_component(evaluations, path: Path) -> Path:
    """Top: energy per frame per architecture (log scale). Bottom: the same bars stacked by component share;
    with a calibrated technology, hatched segments are components priced (in part) by a literature figure
    (the report's ``fallback_reason`` says why)."""
    plt = _pyplot()
    names = [ev.arch.name for ev in evaluations]
    per = [ev.component_energy_J() for ev in evaluations]
    components = list(dict.fromkeys(c for p in per for c in p))
    colors = [*plt.get_cmap("tab20").colors, *plt.get_cmap("tab20b").colors, *plt.get_cmap("tab20c").colors]
    fig, (ax_total, ax_share) = plt.subplots(2, 1, figsize=(max(8, 0.6 * len(names) + 4), 8), sharex=True,
                                             gridspec_kw={"height_ratios": [1, 2]})
    x = np.arange(len(names))
    totals = np.array([sum(p.values()) for p in per])
    ax_total.bar(x, totals * 1e6, color="0.4")
    ax_total.set_yscale("log")
    ax_total.set_ylabel("energy per frame [µJ]")
    bottom = np.zeros(len(names))
    fallback = [_uncalibrated(ev) for ev in evaluations]
    for i, comp in enumerate(components):
        share = np.array([p.get(comp, 0.0) for p in per]) / totals
        bars = ax_share.bar(x, share * 100, bottom=bottom * 100, color=colors[i % len(colors)], label=comp)
        for bar, literature in zip(bars, fallback):
            if comp in literature:
                bar.set_hatch("//")
        bottom += share
    if any(fallback):
        from matplotlib.patches import Patch

        ax_share.add_artist(ax_share.legend(fontsize=7, ncol=1, bbox_to_anchor=(1.01, 1), loc="upper left"))
        ax_share.legend(handles=[Patch(facecolor="white", edgecolor="0.3", hatch="//",
                                       label="literature figure (not calibrated)")],
                        fontsize=7, loc="lower left", bbox_to_anchor=(1.01, 0))
        point = next(ev.point for ev in evaluations if ev.point is not None)
        ax_total.set_title(f"calibrated budgets at {point}; hatched: literature fallback", fontsize=9)
    ax_share.set_ylabel("share of energy per frame [%]")
    ax_share.set_xticks(x, names, rotation=45, ha="right")
    if not any(fallback):
        ax_share.legend(fontsize=7, ncol=1, bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def _front(energy, cr):
    from circuitsim.accounting.sweep import pareto_mask

    mask = pareto_mask(energy, cr, np.ones(len(energy), dtype=bool))
    order = np.argsort(energy[mask])
    return energy[mask][order], cr[mask][order]


def plot_pareto(evaluations, path: Path) -> Path:
    """Energy per frame vs compression ratio, one labelled point per architecture, Pareto front as a step line."""
    plt = _pyplot()
    energy = np.array([ev.energy_per_frame_J for ev in evaluations])
    cr = np.array([ev.compression_ratio for ev in evaluations])
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.scatter(energy * 1e6, cr, color="C0")
    for ev, e, c in zip(evaluations, energy, cr):
        ax.annotate(ev.arch.name, (e * 1e6, c), fontsize=7, xytext=(3, 3), textcoords="offset points")
    fe, fc = _front(energy, cr)
    ax.step(fe * 1e6, fc, where="post", color="C3", label="Pareto front")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("energy per frame [µJ]")
    ax.set_ylabel("compression ratio")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_bandwidth(evaluations, path: Path) -> Path:
    """Bits per frame and bits per second per architecture (log scale)."""
    plt = _pyplot()
    names = [ev.arch.name for ev in evaluations]
    bits = np.array([ev.bits_per_frame for ev in evaluations])
    rate = np.array([ev.frame_rate_hz for ev in evaluations])
    x = np.arange(len(names))
    fig, (ax_f, ax_s) = plt.subplots(1, 2, figsize=(max(10, 0.7 * len(names) + 4), 4.5))
    ax_f.bar(x, bits / 1e3, color="C2")
    ax_f.set_ylabel("kbit per frame")
    ax_s.bar(x, bits * rate / 1e6, color="C4")
    ax_s.set_ylabel("Mbit/s at the frame rate")
    for ax in (ax_f, ax_s):
        ax.set_yscale("log")
        ax.set_xticks(x, names, rotation=45, ha="right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_sweep_pareto(frame, params, path: Path) -> Path:
    """Sweep points (valid ones coloured by the first parameter) and the Pareto front."""
    plt = _pyplot()
    valid = frame[frame["valid"]]
    fig, ax = plt.subplots(figsize=(7, 5))
    if len(frame) > len(valid):
        bad = frame[~frame["valid"]]
        ax.scatter(bad["energy_per_frame_J"] * 1e6, bad["compression_ratio"], s=8, color="0.8",
                   label="violates a constraint")
    sc = ax.scatter(valid["energy_per_frame_J"] * 1e6, valid["compression_ratio"], s=12,
                    c=valid[params[0]], cmap="viridis")
    fig.colorbar(sc, ax=ax, label=params[0])
    front = valid[valid["pareto"]].sort_values("energy_per_frame_J")
    ax.step(front["energy_per_frame_J"] * 1e6, front["compression_ratio"], where="post", color="C3",
            label="Pareto front")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("energy per frame [µJ]")
    ax.set_ylabel("compression ratio")
    ax.set_title(f"{frame.attrs.get('architecture', '')}: sweep of {', '.join(params)}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)

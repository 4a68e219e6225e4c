"""``circuitsim reconcile``: the step table (text / JSON) and the waterfall PNG of
:func:`circuitsim.accounting.reconcile.reconcile`."""

from __future__ import annotations

from pathlib import Path

from circuitsim.reports.figures import pyplot, save_figure


def record(result: dict) -> dict:
    """JSON-ready: ``{"from", "to", "a", "b", "identical", "steps": [{line, energy_a_J, energy_b_J, ratio,
    delta_ratio}]}``."""
    steps, prev = [], None
    for s in result["steps"]:
        steps.append({"line": s.line, "energy_a_J": s.energy_a_J, "energy_b_J": s.energy_b_J, "ratio": s.ratio,
                      "delta_ratio": 0.0 if prev is None else s.ratio - prev})
        prev = s.ratio
    return {k: result[k] for k in ("from", "to", "a", "b", "identical")} | {"steps": steps,
                                                                           "joined": list(result.get("joined", []))}


def format_text(result: dict) -> str:
    rec = record(result)
    lines = [f"{rec['a']} / {rec['b']}: energy per frame ratio from {rec['from']} to {rec['to']}, one line at a time",
             f"{'line switched':46s} {'E_A (nJ)':>12s} {'E_B (nJ)':>12s} {'A/B':>8s} {'step':>8s}"]
    for s in rec["steps"]:
        lines.append(f"{s['line']:46s} {s['energy_a_J'] * 1e9:12.2f} {s['energy_b_J'] * 1e9:12.2f} "
                     f"{s['ratio']:8.3f} {s['delta_ratio']:+8.3f}")
    biggest = sorted(rec["steps"][1:], key=lambda s: -abs(s["delta_ratio"]))[:3]
    lines.append(f"largest steps: " + "; ".join(f"{s['line']} {s['delta_ratio']:+.3f}" for s in biggest))
    lines.append(f"{rec['identical']} further lines moved neither energy at their turn")
    lines += [f"switched with the next line: {j}" for j in rec["joined"]]
    return "\n".join(lines)


def plot_waterfall(result: dict, path: Path) -> Path:
    plt = pyplot()
    rec = record(result)
    steps = rec["steps"]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(steps) + 2), 4.5))
    for i, s in enumerate(steps):
        if i == 0:
            ax.bar(i, s["ratio"], color="0.5")
            continue
        lo = min(s["ratio"], steps[i - 1]["ratio"])
        ax.bar(i, abs(s["delta_ratio"]), bottom=lo, color="tab:green" if s["delta_ratio"] > 0 else "tab:red")
    ax.bar(len(steps), steps[-1]["ratio"], color="0.2")
    ax.set_xticks(range(len(steps) + 1))
    ax.set_xticklabels([s["line"] for s in steps] + [f"end: {rec['to']}"], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel(f"E({rec['a']}) / E({rec['b']})")
    ax.set_title(f"{rec['a']} / {rec['b']}: {rec['from']} -> {rec['to']}")
    fig.tight_layout()
    return save_figure(fig, path)

"""Energy / latency / bandwidth reports of architectures (``circuitsim report``) and design-space sweeps
(``circuitsim sweep``): per-architecture tables, a side-by-side comparison, CSV + Markdown + PNG, and the
``--json`` record; :mod:`circuitsim.commands` runs the commands. SI units in every column; the terminal and Markdown views print pJ / uJ / Mbit.
matplotlib is imported only by :mod:`circuitsim.reports.energy_plots`, when plots are written.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from circuitsim import __version__

SUMMARY_COLUMNS = ("energy_per_frame_J", "dynamic_energy_per_frame_J", "static_energy_per_frame_J",
                   "leakage_energy_per_frame_J", "power_W", "frame_rate_hz", "max_frame_rate_hz", "frame_time_s",
                   "limiting_stage", "bits_per_frame", "bits_per_second", "compression_ratio")


def evaluate_all(names, technology: str = "literature", calibration_root: Path | None = None,
                 point=None, overrides: dict | None = None, energy_table: Path | None = None) -> list:
    """Evaluate every architecture (name or YAML path) with one shared budget resolver at ``point``, each
    with ``overrides`` (``--set``: parameters and operating keys) and the default energy table with
    ``energy_table`` merged over it when given."""
    from circuitsim.accounting import BudgetResolver, evaluate
    from circuitsim.accounting.tables import merged_table

    table = merged_table(Path(energy_table)) if energy_table else None
    resolver = BudgetResolver(technology, calibration_root, table=table, point=point)
    return [evaluate(name, resolver=resolver, overrides=overrides) for name in names]


def comparison_table(evaluations):
    """Side by side: one row per architecture with the headline figures and how many lines are calibrated."""
    import pandas as pd

    rows = []
    for ev in evaluations:
        summary = ev.summary()
        origins = [line.budget.origin for line in ev.lines]
        rows.append({"architecture": ev.arch.name, **{k: summary[k] for k in SUMMARY_COLUMNS},
                     "lines_calibrated": origins.count("calibrated"),
                     "lines_literature": origins.count("literature")})
    return pd.DataFrame(rows)


def json_record(evaluations) -> dict:
    """The ``--json`` output: {"technology", "operating_point", "architectures": {name: summary}} (SI units in
    the keys; each summary's ``lines`` carry ``source_kind`` and ``fallback_reason``)."""
    first = evaluations[0] if evaluations else None
    return {"technology": first.technology if first else None,
            "operating_point": first.point.as_dict() if first and first.point else None,
            "architectures": {ev.arch.name: ev.summary() for ev in evaluations}}


def _eng(value: float, unit: str) -> str:
    """Engineering notation for reports: 4.84e-06 J -> '4.844 uJ'."""
    if value == 0 or value != value:
        return f"0 {unit}" if value == 0 else "-"
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"),
                          (1e-12, "p"), (1e-15, "f")):
        if abs(value) >= scale:
            return f"{value / scale:.4g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


#: unit of a parameter by the suffix of its name (SI units in the keys); other parameters are plain numbers
_PARAMETER_UNITS = (("_s", "s"), ("_hz", "Hz"), ("_v", "V"), ("_W", "W"), ("_J", "J"), ("_A", "A"), ("_F", "F"))


def _parameter_text(name: str, value: float) -> str:
    """``t_row_readout_s = 10.35 us``, ``send_raw_bayer = 1``: the unit its name states, else none."""
    unit = next((u for suffix, u in _PARAMETER_UNITS if name.endswith(suffix)), None)
    return f"{name} = {_eng(value, unit) if unit else f'{value:g}'}"


def format_comparison(evaluations, indent: int = 0, compact: bool = False) -> str:
    """The side-by-side table: one row per architecture with its headline figures, how many of its lines
    are calibrated, and the stage that bounds its frame rate (``compact``: without the dynamic / static /
    leakage split and the maximum rate, to fit 120 columns)."""
    from circuitsim.reports.text_table import render_table

    columns = ["architecture", "E/frame>", "dynamic>", "static>", "leakage>", "power>", "frame rate>",
               "max rate>", "bits/frame>", "CR>", "calibrated\nlines>", "bound by"]
    dropped = {"dynamic>", "static>", "leakage>", "max rate>"} if compact else set()
    rows = []
    for ev in evaluations:
        s = ev.summary()
        origins = [line.budget.origin for line in ev.lines]
        rows.append([ev.arch.name, _eng(s["energy_per_frame_J"], "J"), _eng(s["dynamic_energy_per_frame_J"], "J"),
                     _eng(s["static_energy_per_frame_J"], "J"), _eng(s["leakage_energy_per_frame_J"], "J"),
                     _eng(s["power_W"], "W"), _eng(s["frame_rate_hz"], "Hz"), _eng(s["max_frame_rate_hz"], "Hz"),
                     _eng(s["bits_per_frame"], "bit"), f"{s['compression_ratio']:.4g}",
                     f"{origins.count('calibrated')}/{len(origins)}", s["limiting_stage"]])
    keep = [i for i, c in enumerate(columns) if c not in dropped]
    return render_table([columns[i] for i in keep], [[row[i] for i in keep] for row in rows], indent)


def format_text(evaluations) -> str:
    """Terminal view: the comparison table, then each architecture's lines and its energy by component."""
    from circuitsim.reports.text_table import render_table

    out = [format_comparison(evaluations)]
    for ev in evaluations:
        s = ev.summary()
        out += ["", f"{ev.arch.name}: {ev.budget_description}",
                f"  frame rate {_eng(s['frame_rate_hz'], 'Hz')}, frame period {_eng(s['frame_period_s'], 's')} "
                f"(maximum {_eng(s['max_frame_rate_hz'], 'Hz')}, set by {s['max_frame_rate_limited_by']}), "
                f"exposure {_eng(s['exposure_s'], 's')}"]
        out += [f"  {_parameter_text(name, ev.parameters[name])}: {where}" for name, where in ev.timing_sources.items()]
        rows = []
        for _, row in ev.table().iterrows():
            if row["term"] != "dynamic":  # J per instance per frame = P x t
                unit_text = f"{_eng(row['power_W'], 'W')} x {_eng(row['time_s'], 's')}"
            else:
                unit_text = _eng(row["energy_per_action_J"], "J")
            rows.append([row["component"], row["action"], row["term"], f"{row['count']:.4g}", unit_text,
                         _eng(row["energy_J"], "J"), f"{row['share']:.1%}", source_label(row, reason=False),
                         row["fallback_reason"] or ""])
        out.append(render_table(["component", "action", "term", "count>", "E/unit>", "E/frame>", "share>",
                                 "source", "why not calibrated"], rows, indent=2))
        out.append(render_table(
            ["by component", "dynamic>", "static>", "leakage>", "total>"],
            [[name, _eng(t["dynamic"], "J"), _eng(t["static"], "J"), _eng(t["leakage"], "J"),
              _eng(sum(t.values()), "J")] for name, t in s["component_terms"].items()], indent=2))
    return "\n".join(out)


def source_label(row, reason: bool = True) -> str:
    """'calibrated', or 'literature estimate (why: ...)' for a line a calibrated technology fell back on
    (without the why when ``reason`` is false)."""
    if row["origin"] == row["source_kind"]:
        return str(row["origin"])
    label = f"{row['origin']} {row['source_kind']}"
    return f"{label} (why: {row['fallback_reason']})" if reason and row["fallback_reason"] else label


def _md_table(frame, formats: dict) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, row in frame.iterrows():
        cells = [formats[c](row[c]) if c in formats else str(row[c]) for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def provenance(evaluations, command: str) -> dict:
    """Command, versions and the SHA-256 of every architecture file and energy table used."""
    import numpy as np
    import pandas as pd

    from circuitsim.accounting.tables import LITERATURE_TABLE

    def sha(path: Path) -> str:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()

    return {
        "command": command,
        "versions": {"circuitsim": __version__, "numpy": np.__version__, "pandas": pd.__version__},
        "technology": evaluations[0].technology if evaluations else None,
        "budgets": evaluations[0].budget_description if evaluations else None,
        "energy_table_sha256": sha(LITERATURE_TABLE),
        "energy_tables": {str(p): sha(p) for p in (evaluations[0].energy_tables if evaluations else ())},
        "architectures": {ev.arch.name: {"path": str(ev.arch.path), "sha256": sha(ev.arch.path)}
                          for ev in evaluations},
    }


def format_markdown(evaluations, prov: dict, plots=()) -> str:
    """The Markdown report: provenance, the comparison, then each architecture's line table with sources."""
    comp = comparison_table(evaluations)
    fmt = {"energy_per_frame_J": lambda v: _eng(v, "J"), "power_W": lambda v: _eng(v, "W"),
           "dynamic_energy_per_frame_J": lambda v: _eng(v, "J"), "static_energy_per_frame_J": lambda v: _eng(v, "J"),
           "leakage_energy_per_frame_J": lambda v: _eng(v, "J"), "max_frame_rate_hz": lambda v: _eng(v, "Hz"),
           "frame_rate_hz": lambda v: _eng(v, "Hz"), "frame_time_s": lambda v: _eng(v, "s"),
           "bits_per_frame": lambda v: _eng(v, "bit"), "bits_per_second": lambda v: _eng(v, "bit/s"),
           "compression_ratio": lambda v: f"{v:.4g}"}
    out = ["# Energy report", "",
           f"Command: `{prov['command']}`  ", f"circuitsim {prov['versions']['circuitsim']}; budgets: {prov['budgets']}",
           "", "Boundary: sensor + link, plus off-chip processing where the architecture lists it. "
           "Source kinds: *published* (as printed), *derived* (arithmetic on a published figure), "
           "*estimate* (first-principles, see the table's derivation), *measured* (silicon, as printed), "
           "*calibrated* (sky130 artifact); *fallback_reason* says why a calibrated technology used a "
           "literature figure.", "",
           "## Side by side", "", _md_table(comp, fmt), ""]
    for plot in plots:
        out += [f"![{Path(plot).stem}]({Path(plot).name})", ""]
    for ev in evaluations:
        s = ev.summary()
        table = ev.table()
        lines = table[["component", "action", "term", "count", "energy_per_action_J", "power_W", "time_s",
                       "energy_J", "share", "origin", "source_kind", "fallback_reason", "source"]]
        out += [f"## {ev.arch.name}", "", ev.arch.description, "",
                f"Energy per frame {_eng(s['energy_per_frame_J'], 'J')} (dynamic "
                f"{_eng(s['dynamic_energy_per_frame_J'], 'J')}, static {_eng(s['static_energy_per_frame_J'], 'J')}, "
                f"leakage {_eng(s['leakage_energy_per_frame_J'], 'J')}), per second {_eng(s['power_W'], 'W')}; "
                f"frame rate {_eng(s['frame_rate_hz'], 'Hz')}, frame period {_eng(s['frame_period_s'], 's')} "
                f"(maximum {_eng(s['max_frame_rate_hz'], 'Hz')}, frame time {_eng(s['frame_time_s'], 's')}, "
                f"set by {s['max_frame_rate_limited_by']}; rate bound by {s['limiting_stage']}); {_eng(s['bits_per_frame'], 'bit')} per frame, "
                f"{_eng(s['bits_per_second'], 'bit/s')}; compression ratio {s['compression_ratio']:.4g}.", "",
                *[f"- {_parameter_text(name, ev.parameters[name])}: {where}" for name, where in ev.timing_sources.items()],
                *([""] if ev.timing_sources else []),
                _md_table(lines, {"count": lambda v: f"{v:.4g}", "energy_per_action_J": lambda v: _eng(v, "J"),
                                  "power_W": lambda v: _eng(v, "W"), "time_s": lambda v: _eng(v, "s"),
                                  "energy_J": lambda v: _eng(v, "J"), "share": lambda v: f"{v:.1%}",
                                  "source": lambda v: str(v).replace("|", "/")}), ""]
        if ev.arch.notes:
            out += [f"Notes: {ev.arch.notes}", ""]
    return "\n".join(out)


def write_report(evaluations, out_dir: Path, command: str = "circuitsim report", plots: bool = True,
                 scale: str = "log") -> list:
    """Write ``comparison.csv``, ``<arch>.csv``, ``report.md``, ``provenance.json`` and the PNG plots (value
    axes ``scale``: log or linear); a directory that cannot be written is an
    :class:`~circuitsim.errors.ArtifactError` naming it."""
    from circuitsim.errors import ArtifactError

    try:
        return _write_report(evaluations, Path(out_dir), command, plots, scale)
    except OSError as exc:
        raise ArtifactError(f"cannot write the report to {out_dir}: {exc.strerror or exc}; choose a writable "
                            "directory with --out") from None


def _write_report(evaluations, out_dir: Path, command: str, plots: bool, scale: str = "log") -> list:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    comparison_table(evaluations).to_csv(out_dir / "comparison.csv", index=False)
    written.append(out_dir / "comparison.csv")
    for ev in evaluations:
        path = out_dir / f"{ev.arch.name}.csv"
        ev.table().to_csv(path, index=False)
        written.append(path)
    pngs = []
    if plots:
        from circuitsim.reports.energy_plots import (
            plot_bandwidth,
            plot_energy_by_component,
            plot_pareto,
        )

        pngs = [plot_energy_by_component(evaluations, out_dir / "energy_by_component.png", scale),
                plot_pareto(evaluations, out_dir / "energy_vs_compression.png", scale),
                plot_bandwidth(evaluations, out_dir / "bandwidth.png", scale)]
    prov = provenance(evaluations, command)
    (out_dir / "provenance.json").write_text(json.dumps(prov, indent=2, sort_keys=True) + "\n")
    (out_dir / "report.md").write_text(format_markdown(evaluations, prov, pngs))
    return [*written, *pngs, out_dir / "provenance.json", out_dir / "report.md"]

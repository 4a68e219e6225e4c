"""``make demo``: what a newcomer sees first, entirely from committed artifacts (no ngspice).

The default output is one screen: the technology, what was calibrated and how well each block matches
SPICE on held-out points (one row per block, its worst operating point), the seed systems side by side,
one simulated LeCA frame and where the files went. ``--verbose`` adds the full tables: every artifact
with its provenance, validation per operating point, and each architecture's lines with their sources.
``--json`` prints the same figures and labels as one record.

What it does:
1. validate every block against SPICE on held-out points, plots in reports/validation/;
2. the side-by-side energy / latency / bandwidth report of every shipped architecture in reports/energy/;
3. one simulated LeCA frame (N_ch | Q_bit = 4 | 4, noisy chain) next to its input in reports/simulate/.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from circuitsim.accounting.chips import validate_system
from circuitsim.accounting.engine import list_architectures
from circuitsim.accounting.profiles import load_profile, profile_names
from circuitsim.blocks import block_names, get_spec
from circuitsim.calibration.validate import validate_block
from circuitsim.commands import simulate_leca_command
from circuitsim.config import project_root
from circuitsim.errors import CircuitsimError
from circuitsim.progress import block_bar
from circuitsim.reports.energy import _eng, evaluate_all, format_comparison, format_text, json_record, write_report
from circuitsim.reports.paper_profiles import figure_rows
from circuitsim.reports.text_table import render_table
from circuitsim.reports.validation import format_table, summary_rows, write_plots
from circuitsim.store import ENERGY_FILE, ArtifactStore, OperatingPoint
from circuitsim.technology import load_technology

#: The bar every validated point must meet (the wording of circuitsim.calibration.validate's checks).
BAR = "bar: <= 0.5 LSB, σ ratio 0.9-1.1, energy ±5 %"
#: Line width of the default (one-screen) story.
SCREEN_WIDTH = 120


@dataclass
class DemoResult:
    """Everything the demo computed; :func:`format_story`, :func:`format_verbose` and :func:`json_record`
    are three views of it."""

    technology: object
    store: ArtifactStore
    point: OperatingPoint
    artifacts: dict  # {block: {point: {"energy_J", "latency_s", "ngspice_version", "mc_samples", "content_sha256"}}}
    validation: dict  # {block: {point: record}} from validate_block
    evaluations: list
    plots: list
    energy_files: list
    frame_text: str
    report_dir: Path
    files: dict = field(default_factory=dict)
    #: {profile: figure rows} (circuitsim.reports.paper_profiles.figure_rows): each seed paper's stated figures
    seed: dict = field(default_factory=dict)
    #: ``validate-system`` on the shipped measured chips (circuitsim.accounting.chips.validate_system)
    chips: dict = field(default_factory=dict)


def _library_text(technology) -> str:
    try:
        return f"{technology.model_library_path()} (PDK {technology.pdk_version()})"
    except CircuitsimError as exc:  # the demo needs no PDK; say what re-calibration would need
        return f"not installed here: {exc}"


def technology_summary(technology) -> str:
    corners = ", ".join(f"{c.name} ({c.description})" for c in technology.corners.values())
    return "\n".join([
        f"Technology {technology.name}: {technology.pdk}",
        f"  VDD {technology.vdd_v:g} V (allowed {technology.supply_range_v[0]:g}-{technology.supply_range_v[1]:g} V),"
        f" temperatures {technology.temperature_range_c[0]:g}..{technology.temperature_range_c[1]:g} C",
        f"  corners: {corners}",
        f"  devices: {', '.join(technology.devices)}",
        f"  model library: {_library_text(technology)}",
    ])


def collect_artifacts(store: ArtifactStore, technology: str) -> dict:
    """{block: {point name: energy/latency per operation and provenance}} of every committed artifact."""
    out = {}
    for block in block_names():
        out[block] = {}
        for name, op in store.points(block, technology).items():
            artifact = store.open(block, op)
            action = artifact.table(ENERGY_FILE)["actions"][0]
            prov = artifact.provenance
            out[block][name] = {"action": action.get("name"), "energy_J": action["energy_J"],
                                "latency_s": action["latency_s"], "ngspice_version": prov["ngspice_version"],
                                "mc_samples": prov["mc_samples"], "content_sha256": prov["content_sha256"]}
    return out


def artifact_summary(artifacts: dict, root: Path) -> str:
    rows = [[block, point, f"{a['energy_J'] * 1e15:.2f}", f"{a['latency_s'] * 1e9:.3f}", a["ngspice_version"],
             a["mc_samples"], a["content_sha256"][:16]]
            for block, points in artifacts.items() for point, a in points.items()]
    return f"Calibration artifacts under {root}:\n" + render_table(
        ["block", "point", "energy/op\n[fJ]>", "latency\n[ns]>", "ngspice", "MC>", "content hash"], rows, indent=2)


def run(technology_name: str = "sky130", report_dir: Path | None = None, progress: bool = True) -> DemoResult:
    """Validate every block, write the plots, the energy report and one LeCA frame; return the figures."""
    technology = load_technology(technology_name)
    store = ArtifactStore()
    point = OperatingPoint(technology=technology.name)
    report_dir = Path(report_dir) if report_dir else project_root() / "reports"
    specs = {name: get_spec(name) for name in block_names()}
    validation = {name: validate_block(specs[name], store, technology.name)
                  for name in block_bar(list(specs), "validating", progress)}
    plots = write_plots(validation, report_dir / "validation", specs)
    evaluations = evaluate_all(list_architectures(), technology.name, store.root, point)
    energy_files = write_report(evaluations, report_dir / "energy", command="circuitsim demo")
    frame_text = simulate_leca_command(None, "4|4", 0, "noisy", report_dir / "simulate", point)
    result = DemoResult(technology, store, point, collect_artifacts(store, technology.name), validation,
                        evaluations, plots, energy_files, frame_text, report_dir)
    result.seed = {name: figure_rows(load_profile(name), technology.name) for name in profile_names()}
    result.chips = validate_system((), technology.name, point, store.root)
    result.files = {"validation_plots": [str(p) for p in plots], "energy_report": [str(p) for p in energy_files],
                    "leca_frame": [str(report_dir / "simulate" / "leca_frame.npz"),
                                   str(report_dir / "simulate" / "leca_feature_map.png")]}
    return result


def _group(block: str) -> str:
    """The row a block is folded into on the one-screen table: every SAR ADC resolution in one row, the
    pixel on both supplies in one (``--verbose`` has a row each)."""
    if block.startswith("sar_adc_"):
        return "sar_adc_2b..8b"
    return "pixel_4t(+3v3)" if block.startswith("pixel_4t") else block


def _variant(block: str) -> str:
    """The short name of a folded row's member: ``sar_adc_2b`` -> ``2b``, ``pixel_4t_3v3`` -> ``3v3``."""
    return block.removeprefix("sar_adc_").removeprefix("pixel_4t").lstrip("_") or "1v8"


def _span(values, spec: str) -> str:
    lo, hi = min(values), max(values)
    return format(lo, spec) if format(lo, spec) == format(hi, spec) else f"{lo:{spec}}-{hi:{spec}}"


def _eng_span(values, unit: str) -> str:
    """``[2.28e-12, 6.09e-12]`` J -> ``2.28-6.088 pJ`` (one prefix, that of the largest value)."""
    if not values:
        return None
    prefix, scale = _eng(max(values), unit).split(" ")[1][:-len(unit)] or "", None
    scale = {"G": 1e9, "M": 1e6, "k": 1e3, "": 1, "m": 1e-3, "u": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15}[prefix]
    return f"{_span([v / scale for v in values], '.4g')} {prefix}{unit}"


def block_table(result: DemoResult) -> str:
    """One row per block (SAR resolutions folded): points passing, the worst held-out error (LSB; mV in
    ``circuitsim validate``) and where, a converter's worst code transition level error (model vs SPICE
    edges), σ ratio at the Monte Carlo point, the energy-ratio range, and energy / latency per operation."""
    groups: dict[str, list] = {}
    for r in summary_rows(result.validation):
        art = result.artifacts.get(r["block"], {}).get(r["point"], {})
        groups.setdefault(_group(r["block"]), []).append({**r, **art})
    nominal = result.point.name
    rows = []
    for name, recs in groups.items():
        worst = max(recs, key=lambda r: r["max_error_lsb"])
        sigma = [r["sigma_ratio"] for r in recs if r["sigma_ratio"] is not None]
        edges = [r["transition_error_lsb"] for r in recs if r["transition_error_lsb"] is not None]
        where = worst["point"] if len(recs) <= 7 else f"{_variant(worst['block'])} {worst['point']}"
        rows.append([name, f"{sum(r['pass'] for r in recs)}/{len(recs)}", f"{worst['max_error_lsb']:.3f}",
                     where, f"{max(edges):.3f}" if edges else None,
                     # a folded row's σ ratio: the one farthest from 1 (the bar is 0.9-1.1)
                     f"{max(sigma, key=lambda v: abs(v - 1)):.3f}" if sigma else None,
                     _span([100 * r["energy_error"] for r in recs], ".2f"),
                     _eng_span([r["energy_J"] for r in recs if r["point"] == nominal and "energy_J" in r], "J"),
                     _eng_span([r["latency_s"] for r in recs if r["point"] == nominal and "latency_s" in r], "s")])
    return render_table(["block", "pass>", "worst err\n[LSB]>", "at point",
                         "code edge\nerr [LSB]>", "σ ratio\n(MC)>",
                         "E error\n[% range]>", f"energy/op\n{nominal}>", f"latency\n{nominal}>"], rows, indent=2)


def _calibration_line(result: DemoResult) -> str:
    points = sorted({p for pts in result.artifacts.values() for p in pts},
                    key=lambda n: OperatingPoint.sort_key(OperatingPoint.from_name(n, result.technology.name)))
    versions = sorted({a["ngspice_version"] for pts in result.artifacts.values() for a in pts.values()})
    mc = sorted({a["mc_samples"] for pts in result.artifacts.values() for a in pts.values()} - {0})
    mc_text = f", Monte Carlo {'/'.join(map(str, mc))} samples at the nominal point" if mc else ""
    return (f"Calibrated: {len(result.artifacts)} blocks at {len(points)} operating points "
            f"({', '.join(points)}) with {', '.join(versions)}{mc_text}")


def _passes(result: DemoResult) -> tuple[int, int]:
    recs = [r for pts in result.validation.values() for r in pts.values()]
    return sum(bool(r["pass"]) for r in recs), len(recs)


def _wrap(text: str, indent: str = "  ") -> str:
    return "\n".join(textwrap.fill(line, SCREEN_WIDTH, subsequent_indent=indent + "  ", break_long_words=False,
                                   break_on_hyphens=False) for line in text.splitlines())


def _short(path) -> str:
    """``path`` relative to the working directory when it lies under it."""
    path = Path(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


#: The architectures the one-screen story shows side by side (each family's reference and its headline
#: systems; ``--verbose`` and reports/energy/ have every one)
STORY_ARCHITECTURES = ("cnv", "cs", "leca-4x3", "leca-8x3", "lr-1b", "agt", "snn-baseline", "snn")


def _figure(value: float, unit: str, with_unit: bool = True) -> str:
    number = f"{value * 1e12:.4g}" if unit == "J" else f"{value:.4g}" if unit == "fps" else f"{value:.3g}"
    return number + ({"J": " pJ", "fps": " fps"}.get(unit, "x") if with_unit else "")


def seed_lines(result: DemoResult) -> list[str]:
    """Per seed paper: each stated figure -> the engine under the paper's profile | under the technology
    (``*`` = a prediction: the profile was not solved from it)."""
    tech = result.technology.name
    out = [f"Seed papers from their own assumptions (stated -> paper profile | {tech}; * = prediction, not "
           "solved for):"]
    for name, rows in result.seed.items():
        parts = [f"{r['short']}{'*' if not r['solved_from'] else ''} {_figure(r['stated'], r['unit'])}"
                 f" -> {_figure(r[name], r['unit'], False)} | {_figure(r[tech], r['unit'], False)}" for r in rows]
        out.append(_wrap(f"  {name}: " + "; ".join(parts), "  "))
    return out


def chip_table(result: DemoResult) -> str:
    """Measured chips: energy per pixel measured and predicted, circuitsim's and CamJ's error."""
    rows = []
    for name, r in result.chips.get("chips", {}).items():
        camj = r["camj_error"]
        rows.append([name, _eng(r["measured_energy_per_pixel_J"], "J"), _eng(r["predicted_energy_per_pixel_J"], "J"),
                     f"{r['error'] * 100:+.0f} %" + ("" if r["within_tolerance"] else " miss"),
                     None if camj is None else f"{camj * 100:+.0f} %", f"{r['frame_rate_hz']:g}",
                     ", ".join(r["top_components"])])
    return render_table(["chip", "measured/px>", "predicted/px>", "error>", "CamJ error>", "fps>",
                         "largest lines"], rows, indent=2)


def _frame_line(result: DemoResult) -> str:
    """``LeCA frame: N_ch=4, Q_bit=4, noisy chain at ..., seed 0; 5.308 uJ at 2689 frames/s`` (one line)."""
    lines = result.frame_text.splitlines()
    energy = re.search(r"energy of this frame: (.*? frames/s)", result.frame_text)
    return _wrap(lines[0] + (f"; {energy.group(1)}" if energy else ""))


def format_story(result: DemoResult) -> str:
    """The one-screen demo (<= 50 lines of <= 120 characters)."""
    tech = result.technology
    passed, total = _passes(result)
    energy_dir = result.report_dir / "energy"
    n_csv = sum(1 for p in result.energy_files if Path(p).suffix == ".csv")
    n_png = sum(1 for p in result.energy_files if Path(p).suffix == ".png")
    shown = [ev for ev in result.evaluations if ev.arch.name in STORY_ARCHITECTURES]
    return "\n".join([
        _wrap(f"Technology {tech.name}: {tech.pdk}; VDD {tech.vdd_v:g} V; corners {', '.join(tech.corners)}; "
              f"{tech.temperature_range_c[0]:g}..{tech.temperature_range_c[1]:g} C"),
        _wrap(_calibration_line(result)),
        "",
        _wrap(f"Model vs SPICE on held-out points ({BAR}): {passed}/{total} points pass"),
        block_table(result),
        "",
        _wrap(f"Seed systems side by side ({result.point} budgets where calibrated, literature elsewhere; "
              f"{len(result.evaluations) - len(shown)} more: --verbose):"),
        format_comparison(shown, indent=2, compact=True),
        *seed_lines(result),
        _wrap(f"Measured chips (circuitsim validate-system; {result.technology.name} budgets, goal ±25 %):"),
        chip_table(result),
        "",
        _frame_line(result),
        f"Files: {_short(result.report_dir / 'validation')}/<block>/validation.png ({len(result.plots)} plots)",
        f"  {_short(energy_dir / 'report.md')} (+{n_csv} CSV, {n_png} PNG, provenance.json)",
        f"  {_short(result.files['leca_frame'][0])}, leca_feature_map.png",
        "Full tables: circuitsim demo --verbose; figures as JSON: circuitsim demo --json",
    ])


def format_verbose(result: DemoResult) -> str:
    """The full tables: every artifact, validation per operating point, every architecture's lines."""
    tech = result.technology
    return "\n\n".join([
        technology_summary(tech),
        artifact_summary(result.artifacts, result.store.root / tech.name),
        f"Validation (model vs SPICE on held-out points; {BAR}):\n" + format_table(result.validation),
        "Plots:\n" + "\n".join(f"  {p}" for p in result.plots),
        f"Seed systems side by side ({tech.name} budgets where calibrated, cited literature elsewhere):\n"
        + format_text(result.evaluations),
        "Energy report:\n" + "\n".join(f"  {p}" for p in result.energy_files),
        "\n".join(seed_lines(result)),
        "Measured chips (circuitsim validate-system):\n" + chip_table(result),
        result.frame_text,
    ])


def demo_record(result: DemoResult) -> dict:
    """``circuitsim demo --json``: the labels and figures the text shows (SI units in the keys)."""
    tech = result.technology
    passed, total = _passes(result)
    validation = {b: {p: {k: v for k, v in r.items() if k != "curves"} for p, r in pts.items()}
                  for b, pts in result.validation.items()}
    return {
        "technology": {"name": tech.name, "pdk": tech.pdk, "vdd_v": tech.vdd_v,
                       "supply_range_v": list(tech.supply_range_v),
                       "temperature_range_c": list(tech.temperature_range_c),
                       "corners": {c.name: c.description for c in tech.corners.values()},
                       "devices": list(tech.devices), "model_library": _library_text(tech)},
        "calibration": {"root": str(result.store.root / tech.name), "summary": _calibration_line(result),
                        "artifacts": result.artifacts},
        "validation": {"bar": BAR, "points_passed": passed, "points": total, "blocks": validation},
        "energy": json_record(result.evaluations),
        "leca_frame": result.frame_text.splitlines(),
        "seed_papers": result.seed,
        "measured_chips": result.chips,
        "files": result.files,
    }


def run_demo(technology_name: str = "sky130", report_dir: Path | None = None, verbose: bool = False) -> str:
    """The demo's text: the one-screen story, or with ``verbose`` the full tables."""
    result = run(technology_name, report_dir, progress=False)
    return format_verbose(result) if verbose else format_story(result)

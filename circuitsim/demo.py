"""``make demo``: what a newcomer sees first, entirely from committed artifacts (no ngspice).

1. the technology (corners, devices, supply, where the model library would come from);
2. every committed calibration artifact with its energy/latency per operation and provenance;
3. validation of every block against SPICE on held-out points, with plots in reports/validation/;
4. the side-by-side energy / latency / bandwidth report of every shipped architecture in reports/energy/;
5. one simulated LeCA frame (N_ch | Q_bit = 4 | 4, noisy chain) next to its input in reports/simulate/.
"""

from __future__ import annotations

from pathlib import Path

from circuitsim.accounting.engine import list_architectures
from circuitsim.blocks import block_names, get_spec
from circuitsim.calibration.validate import validate_block
from circuitsim.commands import simulate_leca_command
from circuitsim.config import project_root
from circuitsim.errors import CircuitsimError
from circuitsim.reports.energy import evaluate_all, format_text, write_report
from circuitsim.reports.validation import format_table, write_plots
from circuitsim.store import ENERGY_FILE, ArtifactStore, OperatingPoint
from circuitsim.technology import load_technology


def technology_summary(technology) -> str:
    corners = ", ".join(f"{c.name} ({c.description})" for c in technology.corners.values())
    try:
        library = f"{technology.model_library_path()} (PDK {technology.pdk_version()})"
    except CircuitsimError as exc:  # the demo needs no PDK; say what re-calibration would need
        library = f"not installed here: {exc}"
    return "\n".join([
        f"Technology {technology.name}: {technology.pdk}",
        f"  VDD {technology.vdd_v:g} V (allowed {technology.supply_range_v[0]:g}-{technology.supply_range_v[1]:g} V),"
        f" temperatures {technology.temperature_range_c[0]:g}..{technology.temperature_range_c[1]:g} C",
        f"  corners: {corners}",
        f"  devices: {', '.join(technology.devices)}",
        f"  model library: {library}",
    ])


def artifact_summary(store: ArtifactStore, technology: str) -> str:
    lines = [f"Calibration artifacts under {store.root}/{technology}:",
             f"  {'block':<14}{'point':<10}{'energy/op':>12}{'latency':>11}  {'ngspice':<11}{'MC':>5}  content hash"]
    for block in block_names():
        for point, op in store.points(block, technology).items():
            artifact = store.open(block, op)
            action = artifact.table(ENERGY_FILE)["actions"][0]
            prov = artifact.provenance
            lines.append(
                f"  {block:<14}{point:<10}{action['energy_J'] * 1e15:>9.2f} fJ{action['latency_s'] * 1e9:>8.3f} ns"
                f"  {prov['ngspice_version']:<11}{prov['mc_samples']:>5}  {prov['content_sha256'][:16]}"
            )
    return "\n".join(lines)


def run_demo(technology_name: str = "sky130", report_dir: Path | None = None) -> str:
    technology = load_technology(technology_name)
    store = ArtifactStore()
    point = OperatingPoint(technology=technology.name)
    report_dir = report_dir or project_root() / "reports"
    specs = {name: get_spec(name) for name in block_names()}
    results = {name: validate_block(spec, store, technology.name) for name, spec in specs.items()}
    plots = write_plots(results, report_dir / "validation", specs)
    evaluations = evaluate_all(list_architectures(), technology.name, store.root, point)
    energy_files = write_report(evaluations, report_dir / "energy", command="circuitsim demo")
    return "\n\n".join([
        technology_summary(technology),
        artifact_summary(store, technology.name),
        "Validation (model vs SPICE on held-out points; bar: <= 0.5 LSB, sigma ratio 0.9-1.1, energy +/-5 %):\n"
        + format_table(results),
        "Plots:\n" + "\n".join(f"  {p}" for p in plots),
        f"Seed systems side by side ({technology.name} budgets where calibrated, cited literature elsewhere):\n"
        + format_text(evaluations),
        "Energy report:\n" + "\n".join(f"  {p}" for p in energy_files),
        simulate_leca_command(None, "4|4", 0, "noisy", report_dir / "simulate", point),
    ])

"""The ``circuitsim`` command (SPEC section 7). Thin: parse, call one function, print.

User errors (``CircuitsimError``) print one paragraph and exit 2; a validation that misses the bar exits 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from circuitsim import __version__
from circuitsim.errors import CircuitsimError


class _Group(click.Group):
    """A click group that turns CircuitsimError into a message and exit status 2 (no traceback)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CircuitsimError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


def _floats(text: str | None, what: str):
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"{what} must be comma-separated numbers, got {text!r}") from None


def _names(text: str | None):
    return None if text is None else [v.strip() for v in text.split(",") if v.strip()]


def _default_calibration_dir() -> Path:
    from circuitsim.store import default_root

    return default_root()


def _operating_point(technology: str, corner: str | None, temp: float | None):
    """The one operating point a command runs at: corner and temperature checked against the technology
    (a shipped name or a YAML path), by default its nominal corner and temperature; the point carries the
    technology's name."""
    from circuitsim.store import OperatingPoint
    from circuitsim.technology import load_technology

    tech = load_technology(technology)
    corner = tech.nominal_corner if corner is None else tech.corner(corner).name
    temp_c = tech.nominal_temperature_c if temp is None else tech.check_temperature(temp)
    return OperatingPoint(corner, temp_c, tech.name)


_corner_option = click.option("--corner", default=None,
                              help="Process corner (default: the technology's nominal corner, tt for sky130).")
_temp_option = click.option("--temp", type=float, default=None,
                            help="Temperature in °C (default: the technology's nominal, 27 °C for sky130).")


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="circuitsim")
def main():
    """circuitsim: transistor-level-calibrated circuit and energy models of computing image sensors."""


# -- spice ------------------------------------------------------------------------------------------
@main.group(cls=_Group)
def spice():
    """Render and run the ngspice decks in netlists/."""


_technology_option = click.option("--technology", default="sky130", show_default=True,
                                  help="Shipped technology name or path to a technology YAML file.")


@spice.command("render")
@click.argument("netlist")
@click.option("--corner", default=None, help="Process corner (default: the technology's nominal corner, tt for sky130).")
@click.option("--temp", type=float, default=None, help="Temperature in °C (default: the technology's nominal).")
@click.option("--mismatch", is_flag=True, help="Use the corner's Monte Carlo mismatch models.")
@click.option("--vdd", type=float, default=None, help="Supply voltage in V (default: the technology's).")
@click.option("--batch", is_flag=True,
              help="Add a .control block that runs the analyses and writes the vectors (wrdata) to a file "
                   "named after the deck, so 'ngspice -b deck.cir' works.")
@click.option("--vectors", default=None, help="With --batch: comma-separated vectors to write, e.g. v(out),i(vdd) "
                                               "(default: all).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Write the deck here instead of stdout (with --batch the data file is named after it).")
@_technology_option
def spice_render(netlist, corner, temp, mismatch, vdd, batch, vectors, out_path, technology):
    """Print a hand-runnable deck (run it with: ngspice deck.cir; with --batch: ngspice -b deck.cir)."""
    from circuitsim.spice.netlist import load_netlist, render_deck
    from circuitsim.technology import load_technology

    if vectors and not batch:
        raise click.UsageError("--vectors chooses what a --batch deck writes; add --batch")
    tech = load_technology(technology)
    corner = corner or tech.nominal_corner
    source = load_netlist(netlist)
    stem = Path(out_path).stem if out_path else source.name
    deck = render_deck(source, tech, corner, temp, mismatch=mismatch, vdd_v=vdd, batch=stem if batch else None,
                       vectors=_names(vectors))
    if out_path:
        Path(out_path).write_text(deck)
        note = f" (writes {stem}.data or {stem}_<analysis>.data)" if batch else ""
        click.echo(f"wrote {out_path}; run: ngspice {'-b ' if batch else ''}{out_path}{note}", err=True)
    else:
        click.echo(deck, nl=False)


@spice.command("run")
@click.argument("netlist")
@click.option("--corner", default=None, help="Process corner (default: the technology's nominal corner).")
@click.option("--temp", type=float, default=None, help="Temperature in °C.")
@click.option("--mismatch", is_flag=True, help="Use the corner's Monte Carlo mismatch models.")
@click.option("--seed", type=int, default=None, help="ngspice seed for the mismatch draw.")
@click.option("--vdd", type=float, default=None, help="Supply voltage in V.")
@click.option("--vectors", default=None,
              help="Comma-separated vectors to print, e.g. v(out),i(vdd) (default: top-level nodes and "
                   "source currents, no device-internal nodes).")
@click.option("--rows", type=int, default=12, show_default=True,
              help="Rows of the printed table: exactly this many, evenly spaced from first to last.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None, help="Write every row here.")
@click.option("--json", "as_json", is_flag=True, help="Print final values as JSON.")
@_technology_option
def spice_run(netlist, corner, temp, mismatch, seed, vdd, vectors, rows, csv_path, as_json, technology):
    """Run the deck's own analyses and print a table of its vectors (SI units in the column names)."""
    from circuitsim.spice.runner import run_deck, sample_rows

    if corner is None:
        from circuitsim.technology import load_technology

        corner = load_technology(technology).nominal_corner
    table = run_deck(netlist, technology, corner, temp, mismatch=mismatch, seed=seed, vdd_v=vdd,
                     vectors=_names(vectors))
    if csv_path:
        table.to_csv(csv_path, index=False)
    if not vectors:  # device-internal nodes (xsw.xm1.node) are in --csv; the terminal shows the circuit's own
        internal = set(table.attrs.get("internal_columns", ()))
        table = table[[c for c in table.columns if c not in internal]]
    if as_json:
        click.echo(json.dumps({"final": table.iloc[-1].to_dict(), "rows": len(table)}, indent=2))
        return
    click.echo(sample_rows(table, rows).to_string(index=False, float_format=lambda v: f"{v:.6g}"))


# -- calibrate / validate ---------------------------------------------------------------------------
@main.command()
@click.argument("blocks", nargs=-1, required=True)
@click.option("--corners", default=None, help="Comma-separated corners (default: the technology's plan).")
@click.option("--temps", default=None, help="Comma-separated temperatures in °C.")
@click.option("--mc", type=int, default=200, show_default=True, help="Monte Carlo samples (0 to skip).")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--workers", type=int, default=1, show_default=True, help="Local worker processes.")
@click.option("--scheduler", default=None, help="'local-dask' or tcp://HOST:PORT of a Dask scheduler.")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Artifact root (default calibration/).")
@click.option("--cache", type=click.Path(file_okay=False), default=None, help="Task cache (resume) directory.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--static-only", is_flag=True,
              help="Only measure static power and leakage (DC operating points; the SAR ADC: an idle window "
                   "after a conversion) and add them to the existing artifacts; their models are re-fitted from "
                   "their own SPICE data and must come out the same (within 1e-12, volts 1 fV).")
@click.option("--transitions-only", is_flag=True,
              help="Only measure a converter's code transition levels (the SAR ADC: a SPICE search per held-out "
                   "edge, bracketed by two codes 0.04 LSB apart) and add them to the existing artifacts, re-fitted "
                   "as with --static-only.")
@_technology_option
def calibrate(blocks, corners, temps, mc, seed, workers, scheduler, out, cache, quiet, static_only, transitions_only,
              technology):
    """Run SPICE for BLOCKS at every corner and temperature and write artifacts (resumable)."""
    from circuitsim.blocks import expand_names, get_spec
    from circuitsim.calibration.runner import calibrate as run
    from circuitsim.calibration.runner import calibrate_static, calibrate_transitions, make_plan
    from circuitsim.config import default_cache_dir
    from circuitsim.technology import load_technology

    specs = [get_spec(b) for b in expand_names(blocks)]
    tech = load_technology(technology)
    plan = make_plan(tech, _names(corners), _floats(temps, "--temps"), mc, seed)
    if static_only and transitions_only:
        raise CircuitsimError("--static-only and --transitions-only each run one measurement alone; give one of "
                              "them (a plain calibrate runs both)")
    if static_only:
        run = calibrate_static
    if transitions_only:
        run = calibrate_transitions
    written = run(specs, tech, plan, out_dir=Path(out) if out else _default_calibration_dir(),
                  cache_dir=Path(cache) if cache else default_cache_dir(), workers=workers, scheduler=scheduler,
                  progress=not quiet)
    for path in written:
        click.echo(f"wrote {path}")


@main.command()
@click.argument("blocks", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--calibration", "root", type=click.Path(file_okay=False), default=None,
              help="Artifact root (default: the committed calibration/).")
@click.option("--out", type=click.Path(file_okay=False), default="reports/validation", show_default=True,
              help="Where the plots go.")
@click.option("--no-plots", is_flag=True, help="Skip the plots.")
@click.option("--quick", is_flag=True,
              help="Judge a quick calibration (e.g. --corners tt --mc 20) at the points it has, instead of "
                   "refusing the plan points it lacks; says which are missing.")
@_technology_option
def validate(blocks, as_json, root, out, no_plots, quick, technology):
    """Model vs SPICE on held-out points, from committed artifacts (no ngspice needed)."""
    from circuitsim.blocks import block_names, expand_names, get_spec
    from circuitsim.calibration.validate import validate_block
    from circuitsim.reports.validation import format_table, write_plots
    from circuitsim.store import ArtifactStore
    from circuitsim.technology import load_technology

    tech_name = load_technology(technology).name
    specs = {name: get_spec(name) for name in expand_names(blocks or block_names())}
    store = ArtifactStore(root)
    root = store.root
    from circuitsim.progress import block_bar

    names = block_bar(list(specs), "validating", len(specs) > 1 and not as_json)
    results = {name: validate_block(specs[name], store, tech_name, quick) for name in names}
    plots = [] if no_plots else write_plots(results, Path(out), specs)
    adc_rows = None
    if any(name.startswith("sar_adc_") for name in specs):
        # the converter's own metrics (DNL/INL over Monte Carlo instances, ENOB, FoMs, survey placement)
        from circuitsim.errors import ArtifactError
        from circuitsim.reports.adc_survey import calibrated_report, format_metrics

        try:
            adc_rows, adc_files = calibrated_report(None if no_plots else Path(out) / "sar_adc", root=root)
            plots += [p for p in adc_files if p.suffix == ".png"]
        except ArtifactError as exc:  # the metrics need every resolution and the 8-bit Monte Carlo point
            click.echo(f"no SAR ADC metrics: {exc}", err=True)
    if as_json:
        slim = {b: {p: {k: v for k, v in r.items() if k != "curves"} for p, r in pts.items()}
                for b, pts in results.items()}
        click.echo(json.dumps({"blocks": slim, **({"sar_adc_metrics": adc_rows} if adc_rows else {})}, indent=2))
    else:
        click.echo(format_table(results))
        missing = sorted({m for pts in results.values() for r in pts.values() for m in r.get("missing_plan_points", [])})
        if missing:
            click.echo(f"--quick: not judged at {', '.join(missing)} (no artifacts there); a block is validated "
                       "only at every point of the plan")
        if adc_rows:
            click.echo("\nSAR ADC metrics (calibrated model, tt 27 C; DNL/INL over 200 Monte Carlo instances):")
            click.echo(format_metrics(adc_rows))
        for path in plots:
            click.echo(f"plot: {path}")
    if not all(r["pass"] for pts in results.values() for r in pts.values()):
        sys.exit(1)


@main.command()
@click.argument("blocks", nargs=-1)
@click.option("--all", "all_blocks", is_flag=True, help="Export every registered block.")
@_corner_option
@_temp_option
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Output file (.npz).")
@click.option("--calibration", "root", type=click.Path(file_okay=False), default=None,
              help="Artifact root (default: the committed calibration/).")
@click.option("--json", "as_json", is_flag=True, help="Print the metadata as JSON.")
@_technology_option
def export(blocks, all_blocks, corner, temp, out, root, as_json, technology):
    """Write the calibrated tables (mean, sigma; grids of any dimension) of BLOCKS, or of every block with
    --all, to one portable .npz for training code (groups such as 'sar' expand)."""
    from circuitsim.blocks import block_names
    from circuitsim.export import export_luts
    from circuitsim.store import ArtifactStore

    if bool(blocks) == all_blocks:
        raise click.UsageError("name the blocks to export, or give --all (not both)")
    point = _operating_point(technology, corner, temp)
    names = block_names() if all_blocks else list(blocks)
    meta = export_luts(names, Path(out), point=point, store=ArtifactStore(root), progress=not as_json)
    if as_json:
        click.echo(json.dumps(meta, indent=2))
    else:
        for block, info in meta["blocks"].items():
            shapes = ", ".join(f"{name} " + "x".join(str(a["points"]) for a in t["axes"])
                               + (" (+sigma)" if t["sigma"] else "") for name, t in info["tables"].items())
            click.echo(f"{block}: {shapes}; {point}, sigma from {info['sigma_source'] or 'none'}")
        click.echo(f"wrote {out}")


@main.command()
@click.argument("system", type=click.Choice(["leca", "snn"]))
@click.option("--image", type=click.Path(dir_okay=False), default=None,
              help="PNG/JPEG/.npy image, centre-cropped to 448x448 (default: a built-in test scene).")
@click.option("--config", "config_", default="4|4", show_default=True, help="leca: N_ch|Q_bit, e.g. 4|4, 8|3, 4|1.5.")
@click.option("--channels", type=int, default=8, show_default=True, help="snn: output channels (seeded kernels).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--mode", type=click.Choice(["ideal", "hard", "noisy"]), default="noisy", show_default=True)
@_corner_option
@_temp_option
@click.option("--out", type=click.Path(file_okay=False), default="reports/simulate", show_default=True)
@click.option("--json", "as_json", is_flag=True,
              help="Print the figures and labels (operating point, energy sources) as JSON.")
@_technology_option
def simulate(system, image, config_, channels, seed, mode, corner, temp, out, as_json, technology):
    """Simulate one frame of SYSTEM from the committed calibration (no ngspice): feature map + the frame's
    energy, both at the same operating point."""
    from circuitsim.commands import simulate_leca_command, simulate_snn_command

    point = _operating_point(technology, corner, temp)
    image = Path(image) if image else None
    if system == "leca":
        click.echo(simulate_leca_command(image, config_, seed, mode, Path(out), point, as_json))
    else:
        click.echo(simulate_snn_command(image, channels, seed, mode, Path(out), point, as_json))


@main.command()
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Report directory (default reports/).")
@click.option("--verbose", is_flag=True, help="The full tables: every artifact, every operating point, every line.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures and labels as JSON.")
@_technology_option
def demo(out, verbose, as_json, technology):
    """The README demo on one screen: what was calibrated, how well it matches SPICE, the seed systems side
    by side and where the files went (from committed artifacts, no ngspice)."""
    from circuitsim.demo import demo_record, format_story, format_verbose, run

    result = run(technology, Path(out) if out else None, progress=not as_json)
    if as_json:
        click.echo(json.dumps(demo_record(result), indent=2, default=str))
    else:
        click.echo(format_verbose(result) if verbose else format_story(result))


# -- report / sweep (accounting) ---------------------------------------------------------------------
_accounting_technology = click.option(
    "--technology", default="literature", show_default=True,
    help="Budgets: 'literature' (cited tables only), a paper profile (leca-paper, snn-paper, or the path of a "
         "circuitsim.profile/1 YAML: one paper's stated assumptions, never calibration artifacts) or a technology "
         "(sky130, or the path of a technology YAML file) whose calibration artifacts replace the literature line "
         "by line where they exist.")
_energy_table_option = click.option(
    "--energy-table", "energy_table", type=click.Path(dir_okay=False), default=None,
    help="Your own energy table (YAML, schema circuitsim.energy_table/1), merged over the default: its "
         "components and actions replace those of the same name.")


def _accounting_point(technology: str, corner: str, temp: float | None):
    """The operating point of calibrated budgets; None for the literature table and a paper profile, which have
    no corners."""
    from circuitsim.accounting.profiles import is_profile

    if technology == "literature" or is_profile(technology):
        if corner is not None or temp is not None:
            raise CircuitsimError(f"--corner/--temp choose calibrated budgets; {technology} has no "
                                  "operating point (add --technology sky130)")
        return None
    from circuitsim.errors import TechnologyError

    try:
        return _operating_point(technology, corner, temp)
    except TechnologyError as exc:
        raise CircuitsimError(f"{exc}; for budgets the choices are: literature (the cited tables) or a "
                              "calibrated technology") from None


@main.command()
@click.argument("architectures", nargs=-1)
@click.option("--list", "list_only", is_flag=True, help="Name the shipped architectures and exit.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Write CSV + Markdown + PNG here (e.g. reports/energy).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON (SI units in the keys).")
@click.option("--calibration", "root", type=click.Path(file_okay=False), default=None,
              help="Artifact root (default: the committed calibration/).")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
              help="Set a parameter or the operating point (frame_rate_hz, exposure_s, row_time_s) of every "
                   "architecture, SI units (repeatable), e.g. --set frame_rate_hz=30.")
@click.option("--scale", type=click.Choice(["log", "linear"]), default="log", show_default=True,
              help="Value axes of the plots written with --out.")
@_energy_table_option
@_corner_option
@_temp_option
@_accounting_technology
def report(architectures, list_only, out, as_json, root, sets, scale, energy_table, corner, temp, technology):
    """Energy per frame (dynamic / static / leakage) and per second by component, frame rate, bandwidth and
    compression ratio of ARCHITECTURES (shipped names or YAML paths), side by side; calibrated budgets at
    --corner/--temp."""
    from circuitsim.commands import report_command

    point = _accounting_point(technology, corner, temp)
    click.echo(report_command(architectures, technology, Path(out) if out else None, as_json, list_only,
                              Path(root) if root else None, command=" ".join(["circuitsim", *sys.argv[1:]]),
                              point=point, sets=sets, energy_table=Path(energy_table) if energy_table else None,
                              scale=scale))


@main.command("sweep")
@click.argument("architecture")
@click.option("--param", "params", multiple=True, required=True,
              help="NAME=VALUES: START..STOP, START..STOP:STEP or a comma list (repeatable).")
@click.option("--out", type=click.Path(file_okay=False), default="reports/sweep", show_default=True,
              help="Where the CSV and the Pareto plot go.")
@click.option("--calibration", "root", type=click.Path(file_okay=False), default=None,
              help="Artifact root (default: the committed calibration/).")
@click.option("--x", "x_column", default="energy_per_frame_J", show_default=True,
              help="Sweep column on the Pareto plot's x axis (lower is better, except compression_ratio, frame_rate_hz).")
@click.option("--y", "y_column", default="compression_ratio", show_default=True,
              help="Sweep column on the Pareto plot's y axis.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts and the Pareto points as JSON.")
@_energy_table_option
@_corner_option
@_temp_option
@_accounting_technology
def sweep_cmd(architecture, params, out, root, x_column, y_column, as_json, energy_table, corner, temp, technology):
    """Design-space sweep of ARCHITECTURE over every combination of --param values (vectorised) -> CSV + Pareto plot."""
    from circuitsim.commands import sweep_command

    point = _accounting_point(technology, corner, temp)
    click.echo(sweep_command(architecture, params, technology, Path(out), Path(root) if root else None, point=point,
                             energy_table=Path(energy_table) if energy_table else None, x=x_column, y=y_column,
                             as_json=as_json))


@main.command("validate-system")
@click.argument("chips", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON (SI units in the keys).")
@click.option("--chips-dir", "chips_dir", type=click.Path(file_okay=False), default=None,
              help="Where chip files are looked up by name (default: architectures/chips/).")
@click.option("--calibration", "root", type=click.Path(file_okay=False), default=None,
              help="Artifact root (default: the committed calibration/).")
@_corner_option
@_temp_option
@click.option("--technology", default="sky130", show_default=True,
              help="Budgets: a calibrated technology (sky130, or a technology YAML path) or 'literature'.")
def validate_system_cmd(chips, as_json, chips_dir, root, corner, temp, technology):
    """Published, measured sensors (architectures/chips/, or CHIPS by name or path) vs the accounting: per
    chip measured and predicted energy per frame and per pixel, the error, CamJ's figure and error, and the
    components of the prediction; exit 1 when a chip is outside +-25 %."""
    from circuitsim.accounting.chips import format_table, validate_system

    point = _accounting_point(technology, corner, temp)
    result = validate_system(chips, point.technology if point is not None else technology, point,
                             Path(root) if root else None, Path(chips_dir) if chips_dir else None)
    click.echo(json.dumps(result, indent=2) if as_json else format_table(result))
    if not result["pass"]:
        sys.exit(1)


@main.command("reconcile")
@click.argument("arch_a")
@click.argument("arch_b")
@click.option("--from", "source", default="leca-paper", show_default=True,
              help="Budgets to start from (a paper profile, literature or a technology).")
@click.option("--to", "target", default="sky130", show_default=True, help="Budgets to end at.")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Set a parameter of both architectures.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Write the waterfall PNG here (reconcile_<A>_<B>.png).")
@click.option("--calibration", "root", type=click.Path(file_okay=False), default=None,
              help="Artifact root (default: the committed calibration/).")
@click.option("--json", "as_json", is_flag=True, help="Print the steps as JSON.")
def reconcile_cmd(arch_a, arch_b, source, target, sets, out, root, as_json):
    """Switch the budget lines one at a time from --from to --to and show how E(ARCH_A) / E(ARCH_B) moves
    with each (table + waterfall PNG with --out)."""
    from circuitsim.accounting.reconcile import reconcile
    from circuitsim.commands import check_writable_dir, parse_sets
    from circuitsim.reports.reconcile import format_text, plot_waterfall, record

    if out:
        check_writable_dir(Path(out))
    result = reconcile(arch_a, arch_b, source, target, Path(root) if root else None, parse_sets(sets))
    written = []
    if out:
        written.append(plot_waterfall(result, Path(out) / f"reconcile_{result['a']}_{result['b']}.png"))
    if as_json:
        click.echo(json.dumps(record(result) | {"written": [str(p) for p in written]}, indent=2))
    else:
        click.echo("\n".join([format_text(result), *[f"wrote {p}" for p in written]]))


# -- new-block (user blocks outside the package) -----------------------------------------------------
@main.command("new-block")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None,
              help="Where the files go (default: ./NAME); existing files are never overwritten.")
def new_block_cmd(name, directory):
    """Scaffold a user block NAME: netlist, module (a BlockSpec from the buffer/LUT helpers), test, and a
    pyproject.toml registering it under the entry-point group circuitsim.blocks."""
    from circuitsim.scaffold import new_block, next_steps

    directory = Path(directory) if directory else Path(name)
    click.echo(next_steps(name, directory, new_block(name, directory)))


if __name__ == "__main__":
    main()

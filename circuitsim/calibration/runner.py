"""``circuitsim calibrate``: plan the SPICE tasks of each block (corner x temperature x Monte Carlo
batch), run them through an executor with the resumable cache, fit, and write one artifact per
(block, corner, temperature) under ``<out>/<technology>/<corner>_<temp>C/<block>/``.

A block that declares ``static`` also gets one static task per point (its quiescent supply power and
off-state leakage, from DC operating points of the same deck, or for the SAR ADC an idle window of its
transient). :func:`calibrate_static` (``circuitsim calibrate BLOCK --static-only``) runs only those tasks and
adds their results to the committed artifacts, whose model it re-fits from their own SPICE data and requires
to come out the same within float round-off (:mod:`circuitsim.calibration.refit`, the rule of
tests/calibration/test_refit.py); the committed model and fit figures are kept byte for byte."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from circuitsim import __version__
from circuitsim.calibration.contract import BlockSpec, CalibrationData
from circuitsim.calibration.refit import array_mismatch, same_record
from circuitsim.errors import CircuitsimError
from circuitsim.spice.analyses import sample_seeds
from circuitsim.spice.netlist import load_netlist
from circuitsim.store import (
    ENERGY_FILE,
    MODEL_FILE,
    SPICE_FILE,
    ArtifactStore,
    OperatingPoint,
    json_bytes,
    npz_bytes,
    run_date,
    software_versions,
)
from circuitsim.tasks.cache import TaskCache
from circuitsim.tasks.executors import run_tasks
from circuitsim.tasks.task import Task
from circuitsim.technology import Technology


def point_name(corner: str, temp_c: float) -> str:
    """Directory name of an operating point: ``tt_27C``, ``tt_-40C``."""
    return OperatingPoint(corner, temp_c).name


@dataclass(frozen=True)
class Plan:
    """What a calibration will run: operating points, the Monte Carlo point and sample count, seed."""

    points: tuple[tuple[str, float], ...]
    mc_point: tuple[str, float] | None
    mc_samples: int
    seed: int


def make_plan(technology: Technology, corners=None, temps=None, mc_samples: int = 200, seed: int = 1) -> Plan:
    """The technology's default plan, or the product of the given corners and temperatures.

    Monte Carlo runs at the technology's MC point (tt, 27 C for sky130) when that point is planned.
    """
    if corners is None and temps is None:
        points = technology.calibration_points
    else:
        corners = corners or [technology.monte_carlo_point[0]]
        temps = temps or [technology.nominal_temperature_c]
        points = tuple((c, float(t)) for c in corners for t in temps)
    for corner, temp in points:
        technology.corner(corner)
        technology.check_temperature(temp)
    if mc_samples < 0 or mc_samples == 1:
        raise CircuitsimError(f"--mc must be 0 (no Monte Carlo) or at least 2 samples, got {mc_samples}")
    mc_point = technology.monte_carlo_point if technology.monte_carlo_point in points else None
    if mc_point is None and mc_samples and len(points) == 1:
        mc_point = points[0]  # a single-point run (e.g. --corners ss) gets its own Monte Carlo
    return Plan(tuple(points), mc_point if mc_samples else None, mc_samples, int(seed))


def deck_technology(spec: BlockSpec, technology: Technology) -> Technology:
    """The technology as the block's deck sees it: its supply domain's (``*@domain``), else ``technology``."""
    return technology.for_domain(load_netlist(spec.netlist).domain())


def plan_tasks(spec: BlockSpec, technology: Technology, plan: Plan) -> list[Task]:
    """Nominal tasks at every point; Monte Carlo batches (fit and held-out seed streams) at the MC point."""
    netlist = load_netlist(spec.netlist)
    technology = deck_technology(spec, technology)
    tech_id = technology_id(technology)
    common = dict(block=spec.name, simulate=spec.simulate, netlist=str(netlist.path),
                  netlist_sha256=netlist.sha256, technology=tech_id, technology_sha256=technology.sha256)
    grid = tuple(spec.fit_grid) + tuple(spec.holdout_grid)
    tasks = [Task(analysis="nominal", corner=c, temp_c=t, mismatch=False, inputs=grid, **common)
             for c, t in plan.points]
    if plan.mc_point and spec.monte_carlo:
        corner, temp = plan.mc_point
        streams = (("fit", spec.mc_fit_inputs, plan.mc_samples * spec.mc_fit_factor),
                   ("holdout", spec.mc_holdout_inputs, plan.mc_samples * spec.mc_holdout_factor))
        for stream, inputs, count in streams:
            for start in range(0, count, spec.mc_batch):
                stop = min(start + spec.mc_batch, count)
                tasks.append(Task(analysis=f"mc-{stream}", corner=corner, temp_c=temp, mismatch=True,
                                  inputs=tuple(inputs), seed=plan.seed, sample_start=start,
                                  sample_stop=stop, seeds=tuple(sample_seeds(plan.seed, start, stop, stream)),
                                  **common))
    return tasks


#: ``analysis`` of a block's static-power task (one per operating point).
STATIC_ANALYSIS = "static"
#: What a static task adds to ``energy.json`` (top level, beside ``actions``).
STATIC_ENERGY_KEYS = ("static_W", "leakage_W", "static_note")


def plan_static_tasks(spec: BlockSpec, technology: Technology, plan: Plan) -> list[Task]:
    """One static task per point (nominal models, ``spec.static_inputs``); none if the block declares none."""
    if spec.static is None:
        return []
    netlist = load_netlist(spec.netlist)
    technology = deck_technology(spec, technology)
    tech_id = technology_id(technology)
    return [Task(block=spec.name, analysis=STATIC_ANALYSIS, simulate=spec.static, netlist=str(netlist.path),
                 netlist_sha256=netlist.sha256, technology=tech_id, technology_sha256=technology.sha256,
                 corner=c, temp_c=t, mismatch=False, inputs=tuple(spec.static_inputs))
            for c, t in plan.points]


#: ``analysis`` of a converter's transition-level task (one per operating point).
TRANSITIONS_ANALYSIS = "transitions"


def plan_transition_tasks(spec: BlockSpec, technology: Technology, plan: Plan) -> list[Task]:
    """One transition-level task per point (nominal models, rows ``spec.transition_edges``); none if the
    block declares none."""
    if spec.transitions is None:
        return []
    netlist = load_netlist(spec.netlist)
    technology = deck_technology(spec, technology)
    tech_id = technology_id(technology)
    return [Task(block=spec.name, analysis=TRANSITIONS_ANALYSIS, simulate=spec.transitions,
                 netlist=str(netlist.path), netlist_sha256=netlist.sha256, technology=tech_id,
                 technology_sha256=technology.sha256, corner=c, temp_c=t, mismatch=False,
                 inputs=tuple(spec.transition_edges))
            for c, t in plan.points]


def technology_id(technology: Technology) -> str:
    """How tasks and commands name a technology: a shipped one by its name, any other by its file's path."""
    return technology.name if technology.source_path.parent.name == "technology" else str(technology.source_path)


def _command_head(block: str, technology: Technology, plan: Plan, corner: str, temp: float) -> list[str]:
    """``circuitsim calibrate BLOCK --technology T``, and the point when the plan is not the technology's."""
    parts = ["circuitsim calibrate", block, f"--technology {technology_id(technology)}"]
    if tuple(plan.points) != tuple(technology.calibration_points):
        parts.append(f"--corners {corner} --temps {temp:g}")
    return parts


def supplement_reproduce_command(block: str, technology: Technology, plan: Plan, corner: str, temp: float,
                                 flag: str) -> str:
    """The command that measures a supplement of this artifact again (``flag``: ``--static-only``,
    ``--transitions-only``), from its committed fit."""
    return " ".join(_command_head(block, technology, plan, corner, temp) + [flag])


def _static_parts(spec: BlockSpec, technology: Technology, plan: Plan, corner: str, temp: float,
                  result: dict) -> tuple[dict, dict, dict]:
    """What a static result adds to an artifact: ``spice.npz`` arrays (``static_<key>``), ``energy.json``
    keys (:data:`STATIC_ENERGY_KEYS`) and the provenance record ``static``."""
    arrays = {f"{STATIC_ANALYSIS}_{k}": np.asarray(v) for k, v in result.items() if k != "ngspice_version"}
    energy = {"static_W": float(result["static_W"]), "leakage_W": float(result["leakage_W"]),
              "static_note": spec.static_note}
    provenance = {"reproduce": supplement_reproduce_command(spec.name, technology, plan, corner, temp,
                                                            "--static-only"),
                  "ngspice_version": str(result["ngspice_version"]), "date": run_date(),
                  "inputs": np.asarray(spec.static_inputs, float).tolist()}
    return arrays, energy, provenance


def _transition_parts(spec: BlockSpec, technology: Technology, plan: Plan, corner: str, temp: float,
                      result: dict) -> tuple[dict, dict, dict]:
    """What a transition-level result adds to an artifact: ``spice.npz`` arrays (``transitions_<key>``),
    nothing in ``energy.json``, the provenance record ``transitions``."""
    arrays = {f"{TRANSITIONS_ANALYSIS}_{k}": np.asarray(v) for k, v in result.items() if k != "ngspice_version"}
    provenance = {"reproduce": supplement_reproduce_command(spec.name, technology, plan, corner, temp,
                                                            "--transitions-only"),
                  "ngspice_version": str(result["ngspice_version"]), "date": run_date(),
                  "edges": np.asarray(spec.transition_edges, float).tolist()}
    return arrays, {}, provenance


@dataclass(frozen=True)
class Supplement:
    """A measurement a block adds to its artifacts beside the fit (``calibrate --<name>-only`` runs it alone)."""

    name: str                 # provenance record, spice.npz prefix (name + "_"), task analysis
    declared: Callable        # spec -> whether the block declares it
    plan: Callable            # (spec, technology, plan) -> tasks
    parts: Callable           # (spec, technology, plan, corner, temp, result) -> (arrays, energy keys, record)
    energy_keys: tuple = ()   # what it adds to energy.json

    @property
    def prefix(self) -> str:
        """Its arrays' prefix in ``spice.npz``."""
        return f"{self.name}_"

    @property
    def flag(self) -> str:
        return f"--{self.name}-only"


SUPPLEMENTS = {
    STATIC_ANALYSIS: Supplement(STATIC_ANALYSIS, lambda spec: spec.static is not None, plan_static_tasks,
                                _static_parts, STATIC_ENERGY_KEYS),
    TRANSITIONS_ANALYSIS: Supplement(TRANSITIONS_ANALYSIS, lambda spec: spec.transitions is not None,
                                     plan_transition_tasks, _transition_parts),
}


def reproduce_command(block: str, technology: Technology, plan: Plan, corner: str, temp: float) -> str:
    """The command that makes this artifact again, spelled from the options that change results (block,
    technology, point, Monte Carlo samples, seed), never from options that do not (--quiet, --workers)."""
    parts = _command_head(block, technology, plan, corner, temp)
    return " ".join(parts + [f"--mc {plan.mc_samples}", f"--seed {plan.seed}"])


def _stack(results: list[dict]) -> dict:
    keys = [k for k in results[0] if k != "ngspice_version"]
    return {k: np.concatenate([r[k] for r in results], axis=0) for k in keys}


def _split(result: dict, n_fit: int) -> tuple[dict, dict]:
    arrays = {k: v for k, v in result.items() if k != "ngspice_version"}
    return {k: v[:n_fit] for k, v in arrays.items()}, {k: v[n_fit:] for k, v in arrays.items()}


def calibrate(specs: list[BlockSpec], technology: Technology, plan: Plan, *, out_dir: Path,
              cache_dir: Path, workers: int = 1, scheduler: str | None = None, progress: bool = True) -> list[Path]:
    """Run (or resume) the calibration of ``specs`` and write their artifacts; returns the artifact dirs.

    Provenance records the reproducing command (:func:`reproduce_command`), not this process's command
    line, so a rerun with other options that do not change results writes the same bytes."""
    all_tasks = {spec.name: plan_tasks(spec, technology, plan)
                 + [t for sup in SUPPLEMENTS.values() for t in sup.plan(spec, technology, plan)] for spec in specs}
    flat = [t for tasks in all_tasks.values() for t in tasks]
    summary = run_tasks(flat, TaskCache(cache_dir), workers=workers, scheduler=scheduler, progress=progress,
                        description="calibrate " + " ".join(all_tasks))
    by_key = {t.key: r for t, r in zip(flat, summary.results)}
    written = []
    for spec in specs:
        tasks = all_tasks[spec.name]
        mc = {}
        for stream in ("fit", "holdout"):
            batch = [by_key[t.key] for t in tasks if t.analysis == f"mc-{stream}"]
            mc[stream] = _stack(batch) if batch else None
        for corner, temp in plan.points:
            nominal_task = next(t for t in tasks if t.analysis == "nominal" and (t.corner, t.temp_c) == (corner, temp))
            result = by_key[nominal_task.key]
            extra = {name: next((by_key[t.key] for t in tasks if t.analysis == name
                                 and (t.corner, t.temp_c) == (corner, temp)), None) for name in SUPPLEMENTS}
            written.append(_write_point(spec, deck_technology(spec, technology), plan, corner, temp, result, mc, out_dir,
                                        nominal_task.netlist_sha256, extra))
    return written


def calibration_data_from_artifact(spec: BlockSpec, point: OperatingPoint,
                                   store: ArtifactStore | None = None) -> CalibrationData:
    """The :class:`CalibrationData` the fit of ``spec`` saw at ``point``, rebuilt from committed artifacts
    (the inverse of :func:`_write_point`): grids and nominal results from this point's ``spice.npz``, the
    Monte Carlo streams from the ``spice.npz`` of the point named by its provenance's ``sigma_source``
    (the Monte Carlo point; "" = the block was fitted without Monte Carlo). ``spec.fit(data)`` then
    recomputes the committed ``model.npz`` and ``energy.json`` from the SPICE data alone."""
    store = store or ArtifactStore()
    artifact = store.open(spec.name, point)
    spice = artifact.arrays(SPICE_FILE)

    def group(arrays: dict, prefix: str) -> dict:
        return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}

    mc_point = artifact.provenance.get("sigma_source", "")
    mc_fit = mc_holdout = None
    if mc_point:
        mc_spice = spice if mc_point == point.name else store.spice_arrays(
            spec.name, OperatingPoint.from_name(mc_point, point.technology))
        mc_fit, mc_holdout = group(mc_spice, "mc_fit_"), group(mc_spice, "mc_holdout_")
        mc_fit.pop("x", None), mc_holdout.pop("x", None)  # the grids, not results
        if not mc_fit or not mc_holdout:
            raise CircuitsimError(f"{spec.name}: the Monte Carlo point {mc_point} named by the artifact at "
                                  f"{point.name} holds no Monte Carlo results")
    return CalibrationData(spec.name, point.corner, point.temp_c, spice["fit_x"], spice["holdout_x"],
                           group(spice, "nominal_fit_"), group(spice, "nominal_holdout_"), mc_fit, mc_holdout,
                           mc_point, mc_fit_x=spice.get("mc_fit_x"), mc_holdout_x=spice.get("mc_holdout_x"))


def netlist_record(name_or_path: str) -> str:
    """The netlist as provenance records it: ``netlists/<name>.cir`` inside the checkout (where the stale
    check looks), else the absolute path of a user block's deck."""
    from circuitsim.config import project_root

    path = load_netlist(name_or_path).path.resolve()
    try:
        return str(path.relative_to(Path(project_root()).resolve()))
    except ValueError:
        return str(path)


def _write_point(spec, technology, plan, corner, temp, result, mc, out_dir, netlist_sha256, extra=None) -> Path:
    fit_x = np.asarray(spec.fit_grid, float)
    holdout_x = np.asarray(spec.holdout_grid, float)
    nominal_fit, nominal_holdout = _split(result, len(fit_x))
    mc_point = plan.mc_point if spec.monte_carlo else None  # a block without Monte Carlo has no σ source
    at_mc_point = mc_point == (corner, temp)
    separate_mc = spec.mc_fit_grid is not None or spec.mc_holdout_grid is not None
    mc_fit_x = np.asarray(spec.mc_fit_inputs, float) if separate_mc else None
    mc_holdout_x = np.asarray(spec.mc_holdout_inputs, float) if separate_mc else None
    data = CalibrationData(spec.name, corner, temp, fit_x, holdout_x, nominal_fit, nominal_holdout,
                           mc["fit"], mc["holdout"],
                           point_name(*mc_point) if mc_point else "",
                           mc_fit_x=mc_fit_x, mc_holdout_x=mc_holdout_x)
    fit = spec.fit(data)
    spice_arrays = {"fit_x": fit_x, "holdout_x": holdout_x}
    if separate_mc:  # only then, so the artifacts of blocks without MC grids keep their exact bytes
        spice_arrays.update({"mc_fit_x": mc_fit_x, "mc_holdout_x": mc_holdout_x})
    spice_arrays.update({f"nominal_fit_{k}": v for k, v in nominal_fit.items()})
    spice_arrays.update({f"nominal_holdout_{k}": v for k, v in nominal_holdout.items()})
    if at_mc_point:
        spice_arrays.update({f"mc_fit_{k}": v for k, v in mc["fit"].items()})
        spice_arrays.update({f"mc_holdout_{k}": v for k, v in mc["holdout"].items()})
    energy = {
        "component": spec.name,
        "technology": technology.name,
        "corner": corner,
        "temperature_C": temp,
        "actions": [{"name": spec.action, "energy_J": fit.energy_J, "latency_s": fit.latency_s,
                     "note": fit.notes.get("energy", "")}],
    }
    if technology.domain:  # the supply the energies were measured at, for the accounting's V scaling
        energy.update(vdd_v=technology.vdd_v, supply_range_v=list(technology.supply_range_v),
                      supply_domain=technology.domain)
    provenance = {
        "block": spec.name,
        "technology": technology.name,
        "technology_sha256": technology.sha256,
        "pdk": technology.pdk,
        "pdk_version": technology.pdk_version(),
        "corner": corner,
        "temperature_C": temp,
        "ngspice_version": str(result["ngspice_version"]),
        "netlist": netlist_record(spec.netlist),
        "netlist_sha256": netlist_sha256,  # the text the tasks simulated, hashed when they were planned
        "seed": plan.seed,
        "mc_samples": plan.mc_samples if at_mc_point else 0,
        "mc_fit_samples": plan.mc_samples * spec.mc_fit_factor if mc_point else 0,
        "mc_holdout_samples": plan.mc_samples * spec.mc_holdout_factor if at_mc_point else 0,
        "sigma_source": data.mc_point,
        "fit_points": len(fit_x),
        "holdout_points": len(holdout_x),
        "output_bits": spec.output_bits,
        "full_scale_V": list(spec.full_scale_v),
        "software": software_versions(),
        "circuitsim_version": __version__,
        # the options that change results, not the spelling of the command (--quiet, --workers ...)
        "reproduce": reproduce_command(spec.name, technology, plan, corner, temp),
        "date": run_date(),
        "notes": fit.notes,
    }
    if technology.domain:
        provenance["supply_domain"] = technology.domain
        provenance["vdd_V"] = technology.vdd_v
    if separate_mc:
        provenance["mc_fit_points"] = len(mc_fit_x)
        provenance["mc_holdout_points"] = len(mc_holdout_x)
    for name, sup_result in (extra or {}).items():
        if sup_result is None:  # only then, so the artifacts of blocks without this task keep their bytes
            continue
        sup_arrays, sup_energy, provenance[name] = SUPPLEMENTS[name].parts(spec, technology, plan, corner, temp,
                                                                          sup_result)
        spice_arrays.update(sup_arrays)
        energy.update(sup_energy)
    files = {MODEL_FILE: npz_bytes(fit.arrays), SPICE_FILE: npz_bytes(spice_arrays), ENERGY_FILE: json_bytes(energy)}
    return ArtifactStore(out_dir).write(spec.name, OperatingPoint(corner, temp, technology.name), files, provenance)


def calibrate_static(specs: list[BlockSpec], technology: Technology, plan: Plan, *, out_dir: Path,
                     cache_dir: Path, workers: int = 1, scheduler: str | None = None,
                     progress: bool = True) -> list[Path]:
    """``circuitsim calibrate BLOCK --static-only``: :func:`calibrate_supplement` of the static tasks.
    ``spice.npz`` gains the ``static_*`` arrays, ``energy.json`` the keys :data:`STATIC_ENERGY_KEYS`."""
    return calibrate_supplement(STATIC_ANALYSIS, specs, technology, plan, out_dir=out_dir, cache_dir=cache_dir,
                                workers=workers, scheduler=scheduler, progress=progress)


def calibrate_transitions(specs: list[BlockSpec], technology: Technology, plan: Plan, *, out_dir: Path,
                          cache_dir: Path, workers: int = 1, scheduler: str | None = None,
                          progress: bool = True) -> list[Path]:
    """``circuitsim calibrate BLOCK --transitions-only``: :func:`calibrate_supplement` of a converter's
    transition-level tasks. ``spice.npz`` gains the ``transitions_*`` arrays; ``energy.json`` is unchanged."""
    return calibrate_supplement(TRANSITIONS_ANALYSIS, specs, technology, plan, out_dir=out_dir,
                                cache_dir=cache_dir, workers=workers, scheduler=scheduler, progress=progress)


def calibrate_supplement(name: str, specs: list[BlockSpec], technology: Technology, plan: Plan, *, out_dir: Path,
                         cache_dir: Path, workers: int = 1, scheduler: str | None = None,
                         progress: bool = True) -> list[Path]:
    """Run only the tasks of supplement ``name`` (:data:`SUPPLEMENTS`) of ``specs`` at the plan's points
    (cached like the others) and add their results to the artifacts already under ``out_dir``.

    Every point's :class:`CalibrationData` is rebuilt from its artifact (:func:`calibration_data_from_artifact`)
    and fitted again; the new model, energy, latency and notes must equal the committed ones within float
    round-off (:mod:`circuitsim.calibration.refit`), else nothing is written (the block needs a full
    calibration). The committed ``model.npz``, ``actions`` and notes are kept byte for byte; the
    supplement's arrays, energy keys and provenance record replace earlier ones. The artifact must come from
    this checkout's netlist and technology file."""
    sup = SUPPLEMENTS[name]
    store = ArtifactStore(out_dir)
    missing = [spec.name for spec in specs if not sup.declared(spec)]
    if missing:
        raise CircuitsimError(f"{', '.join(missing)} declare(s) no {name} measurement (BlockSpec.{name}); "
                              f"{sup.flag} applies to blocks that do")
    for spec in specs:
        netlist = load_netlist(spec.netlist)
        deck_sha256 = deck_technology(spec, technology).sha256
        for corner, temp in plan.points:
            point = OperatingPoint(corner, temp, technology.name)
            if not store.has(spec.name, point):
                raise CircuitsimError(store.missing_message(spec.name, point) + f"; {sup.flag} adds to "
                                      f"existing artifacts: run circuitsim calibrate {spec.name} first")
            prov = store.open(spec.name, point).provenance
            if (prov.get("netlist_sha256"), prov.get("technology_sha256")) != (netlist.sha256, deck_sha256):
                raise CircuitsimError(f"{spec.name} at {point.name}: the artifact was made from another "
                                      f"{netlist.path.name} or technology file than this checkout's; its {name} "
                                      f"figures would not belong to it. Recalibrate: circuitsim calibrate {spec.name}")
    all_tasks = {spec.name: sup.plan(spec, technology, plan) for spec in specs}
    flat = [t for tasks in all_tasks.values() for t in tasks]
    summary = run_tasks(flat, TaskCache(cache_dir), workers=workers, scheduler=scheduler, progress=progress,
                        description=f"{name} " + " ".join(all_tasks))
    by_key = {t.key: r for t, r in zip(flat, summary.results)}
    staged = []  # every point re-fitted and checked before any artifact is rewritten
    for spec in specs:
        for task in all_tasks[spec.name]:
            point = OperatingPoint(task.corner, task.temp_c, technology.name)
            staged.append((spec, point, _restaged_files(spec, technology, plan, point, store, by_key[task.key],
                                                        sup)))
    return [store.write(spec.name, point, files, provenance) for spec, point, (files, provenance) in staged]


def _restaged_files(spec: BlockSpec, technology: Technology, plan: Plan, point: OperatingPoint,
                    store: ArtifactStore, result: dict, sup: Supplement | None = None) -> tuple[dict, dict]:
    """The files and provenance of the artifact of ``spec`` at ``point`` with the supplement's ``result``
    added (default: static), after checking that the re-fit from its own SPICE data gives its committed
    model, energy and notes back (within float round-off, :mod:`circuitsim.calibration.refit`); the committed
    model.npz is kept byte for byte."""
    sup = sup or SUPPLEMENTS[STATIC_ANALYSIS]
    artifact = store.open(spec.name, point)
    fit = spec.fit(calibration_data_from_artifact(spec, point, store))
    model = (artifact.path / MODEL_FILE).read_bytes()
    table = artifact.table(ENERGY_FILE)
    refit_action = [{"name": spec.action, "energy_J": fit.energy_J, "latency_s": fit.latency_s,
                     "note": fit.notes.get("energy", "")}]
    as_json = lambda obj: json.loads(json_bytes(obj))  # noqa: E731  (NumPy scalars as JSON numbers)
    if (array_mismatch(fit.arrays, artifact.arrays(MODEL_FILE)) is not None
            or not same_record(as_json(refit_action), as_json(table["actions"]))
            or not same_record(as_json(fit.notes), as_json(artifact.provenance.get("notes")))):
        raise CircuitsimError(f"{spec.name} at {point.name}: the fit no longer reproduces the committed model, "
                              "energy or notes from the committed SPICE data (within a relative 1e-12, volts 1 fV); "
                              f"the {sup.name} figures cannot be added to it. Recalibrate: circuitsim calibrate "
                              f"{spec.name}")
    arrays, energy, record = sup.parts(spec, technology, plan, point.corner, point.temp_c, result)
    spice = {k: v for k, v in artifact.arrays(SPICE_FILE).items() if not k.startswith(sup.prefix)}
    spice.update(arrays)
    table = {k: v for k, v in table.items() if k not in sup.energy_keys}
    table.update(energy)
    provenance = {k: v for k, v in artifact.provenance.items() if k not in ("files", "content_sha256")}
    provenance[sup.name] = record
    # the full calibration that makes this artifact again (supplements included), from its own seed and
    # Monte Carlo sample count; "command" and "date" stay those of the run that made the fit
    mc = provenance.get("mc_fit_samples", 0) // spec.mc_fit_factor if spec.monte_carlo else plan.mc_samples
    own = Plan(plan.points, plan.mc_point, int(mc), int(provenance.get("seed", plan.seed)))
    provenance["reproduce"] = reproduce_command(spec.name, technology, own, point.corner, point.temp_c)
    return {MODEL_FILE: model, SPICE_FILE: npz_bytes(spice), ENERGY_FILE: json_bytes(table)}, provenance

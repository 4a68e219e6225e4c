"""Architecture and workload files (YAML) -> validated, formula-compiled dataclasses.

An architecture file (``architectures/<name>.yaml``)::

    schema: circuitsim.architecture/1
    name: cnv
    description: ...
    parameters: {rows: 448, cols: 448, bits_adc: 8, ...}    # knobs, sweepable; unit in the name
    derived: {pixels: rows * cols, ...}                       # formulas, evaluated in order
    constraints: [{require: "N_ch <= 4 or N_ch % 4 == 0", message: "..."}]
    output:
      bits_per_frame: pixels * bits_adc
      reference_bits_per_frame: (rows / 2) * (cols / 2) * 3 * 8
      compression_ratio: ...          # optional; checked against reference / bits
    timing:
      frame_rate_hz: 30               # optional operating rate; default: as fast as the timing allows
      stages:                         # stages in one group run one after another; groups overlap
        - {name: pixel_readout, group: array, time_s: rows * t_row_readout_s}
    components:
      pixel:                          # name in the report
        block: pixel_4t               # component in the energy table (and calibration artifact name)
        instances: pixels             # optional, for leakage_W
        actions: {readout: pixels}    # table action -> count per frame (formula)
      adc:
        block: sar_adc
        resolution_bits: bits_adc     # converter resolution N (formula): picks sar_adc_<N>b when calibrated
        actions: {conversion: pixels}
      backbone:
        block: digital_fp32_45nm
        workload: snn_vgg11_backbone  # per-layer workload file: expands into mac/ac lines
        time_steps: time_steps
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from circuitsim.accounting.expressions import FUNCTIONS, Formula
from circuitsim.accounting.tables import DATA_DIR
from circuitsim.errors import CircuitsimError

ARCH_SCHEMA = "circuitsim.architecture/1"
WORKLOAD_SCHEMA = "circuitsim.workload/1"
_TOP_KEYS = {"schema", "name", "description", "family", "references", "notes", "parameters", "derived",
             "constraints", "output", "timing", "components"}
_COMPONENT_KEYS = {"block", "description", "instances", "actions", "workload", "time_steps", "spike_rate_scale",
                   "resolution_bits"}
_OUTPUT_KEYS = {"bits_per_frame", "reference_bits_per_frame", "compression_ratio"}
_TIMING_KEYS = {"stages", "frame_rate_hz"}
_STAGE_KEYS = {"name", "group", "time_s", "note"}
_LAYER_KEYS = {"name", "type", "in_h", "in_w", "in_c", "out_c", "kernel", "stride", "in_features",
               "out_features", "input", "spike_rate", "note"}
_LAYER_INPUTS = ("analog", "spikes")
_LAYER_TYPES = ("conv", "fc")
#: Symbols the engine defines for formulas evaluated after the output and timing sections.
ENGINE_SYMBOLS = ("bits_per_frame", "reference_bits_per_frame", "frame_time_s", "frame_rate_hz",
                  "frame_period_s")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ArchitectureError(CircuitsimError):
    """An architecture or workload file that does not follow the schema (message names file and key)."""


@dataclass(frozen=True)
class ActionSpec:
    """One report line: ``count`` actions of ``table_action`` per frame; ``label`` is what the report prints."""

    label: str
    table_action: str
    count: Formula


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    block: str
    actions: tuple
    instances: Formula | None = None
    description: str = ""
    #: Converter resolution N in bits, for table actions that depend on it (the SAR ADC's ``conversion``).
    resolution_bits: Formula | None = None


@dataclass(frozen=True)
class Stage:
    name: str
    group: str
    time_s: Formula


@dataclass(frozen=True)
class Constraint:
    require: Formula
    message: str


@dataclass(frozen=True)
class Architecture:
    """A validated architecture: parameters, ordered derived formulas, components, timing and output."""

    name: str
    path: Path
    description: str
    family: str
    references: tuple
    parameters: dict
    derived: tuple
    constraints: tuple
    components: tuple
    stages: tuple
    bits_per_frame: Formula
    reference_bits_per_frame: Formula
    compression_ratio: Formula | None
    frame_rate_hz: Formula | None
    notes: str = ""
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    def component_names(self) -> list[str]:
        return [c.name for c in self.components]


def _err(path: Path, key: str, message: str) -> ArchitectureError:
    return ArchitectureError(f"{path.name}: {key}: {message}")


def _check_keys(mapping, valid: set, path: Path, key: str) -> None:
    if not isinstance(mapping, dict):
        raise _err(path, key, f"expected a mapping, got {type(mapping).__name__}")
    unknown = set(mapping) - valid
    if unknown:
        raise _err(path, key, f"unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
                              f"valid keys: {', '.join(sorted(valid))}")


def _formula(value, path: Path, key: str, known: set) -> Formula:
    """Parse a formula and check every symbol it reads is already defined at this point."""
    formula = Formula.parse(value, where=f"{path.name}: {key}")
    unknown = formula.names - known
    if unknown:
        raise _err(path, key, f"unknown symbol(s) {', '.join(sorted(unknown))} in {formula.text!r}; "
                              f"defined here: {', '.join(sorted(known))}")
    return formula


def _number(value, path: Path, key: str) -> float:
    """A finite YAML number. PyYAML (YAML 1.1) reads ``1.0e6`` (no exponent sign) as a string: accept that
    too. A 400-digit integer, ``.inf`` or ``.nan`` is refused (a float holds at most ~1.8e308)."""
    number = None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
    if number is None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _err(path, key, f"must be a number (SI units), got {value!r}")
        try:
            number = float(value)
        except OverflowError:
            number = float("inf")
    if not math.isfinite(number):
        text = str(value) if len(str(value)) <= 24 else f"{str(value)[:12]}...({len(str(value))} digits)"
        raise _err(path, key, f"{text} is too large or not finite (a float holds at most ~1.8e308); "
                              "give a finite number in SI units")
    return number


def _parameters(raw, path: Path) -> dict:
    params = {}
    for name, value in (raw or {}).items():
        if not isinstance(name, str) or not _NAME.match(name) or name in FUNCTIONS or name in ENGINE_SYMBOLS:
            raise _err(path, f"parameters.{name}", "parameter names must be identifiers, not a function "
                       f"({', '.join(FUNCTIONS)}) or an engine symbol ({', '.join(ENGINE_SYMBOLS)})")
        params[name] = _number(value, path, f"parameters.{name}")
    return params


def _derived(raw, path: Path, known: set) -> tuple:
    if raw is not None and not isinstance(raw, dict):
        raise _err(path, "derived", "expected a mapping name -> formula")
    out = []
    for name, text in (raw or {}).items():
        if not _NAME.match(str(name)) or name in known or name in ENGINE_SYMBOLS:
            raise _err(path, f"derived.{name}", "must be a new identifier (not a parameter or engine symbol)")
        out.append((name, _formula(text, path, f"derived.{name}", known)))
        known.add(name)
    return tuple(out)


def _constraints(raw, path: Path, known: set) -> tuple:
    out = []
    for i, item in enumerate(raw or []):
        key = f"constraints[{i}]"
        _check_keys(item, {"require", "message"}, path, key)
        if "require" not in item or "message" not in item:
            raise _err(path, key, "needs 'require' (a condition) and 'message'")
        out.append(Constraint(_formula(item["require"], path, f"{key}.require", known), str(item["message"])))
    return tuple(out)


def _stages(raw, path: Path, known: set) -> tuple:
    _check_keys(raw, _TIMING_KEYS, path, "timing")
    stages = raw.get("stages")
    if not isinstance(stages, list) or not stages:
        raise _err(path, "timing.stages", "needs at least one stage {name, group, time_s}")
    out = []
    for i, item in enumerate(stages):
        key = f"timing.stages[{i}]"
        _check_keys(item, _STAGE_KEYS, path, key)
        if "name" not in item or "time_s" not in item:
            raise _err(path, key, "each stage needs 'name' and 'time_s' (seconds per frame)")
        out.append(Stage(str(item["name"]), str(item.get("group", "main")),
                         _formula(item["time_s"], path, f"{key}.time_s", known)))
    return tuple(out)


def _component(name: str, body, path: Path, known: set) -> ComponentSpec:
    key = f"components.{name}"
    _check_keys(body, _COMPONENT_KEYS, path, key)
    if "block" not in body:
        raise _err(path, key, "needs 'block' (the energy-table component it is built from)")
    if ("actions" in body) == ("workload" in body):
        raise _err(path, key, "needs exactly one of 'actions' (action -> count formula) or 'workload'")
    instances = _formula(body["instances"], path, f"{key}.instances", known) if "instances" in body else None
    resolution = body.get("resolution_bits")
    resolution = _formula(resolution, path, f"{key}.resolution_bits", known) if resolution is not None else None
    if "workload" in body:
        actions = workload_actions(body["workload"], body.get("time_steps", 1), body.get("spike_rate_scale", 1),
                                   path, key, known)
    else:
        raw = body["actions"]
        if not isinstance(raw, dict) or not raw:
            raise _err(path, f"{key}.actions", "expected a mapping action -> count per frame (formula)")
        actions = tuple(ActionSpec(str(a), str(a), _formula(c, path, f"{key}.actions.{a}", known))
                        for a, c in raw.items())
    return ComponentSpec(name, str(body["block"]), actions, instances, str(body.get("description", "")), resolution)


def parse_architecture(data, path: Path) -> Architecture:
    """Validate a loaded architecture mapping; every error names the file, the key and the valid choices."""
    path = Path(path)
    _check_keys(data, _TOP_KEYS, path, "top level")
    if data.get("schema") != ARCH_SCHEMA:
        raise _err(path, "schema", f"expected {ARCH_SCHEMA!r}, got {data.get('schema')!r}")
    for required in ("name", "parameters", "output", "timing", "components"):
        if required not in data:
            raise _err(path, required, "missing (required keys: name, parameters, output, timing, components)")
    params = _parameters(data["parameters"], path)
    known = set(params)
    derived = _derived(data.get("derived"), path, known)
    constraints = _constraints(data.get("constraints"), path, known)
    _check_keys(data["output"], _OUTPUT_KEYS, path, "output")
    for required in ("bits_per_frame", "reference_bits_per_frame"):
        if required not in data["output"]:
            raise _err(path, f"output.{required}", "missing (bits per frame as a formula)")
    bits = _formula(data["output"]["bits_per_frame"], path, "output.bits_per_frame", known)
    reference = _formula(data["output"]["reference_bits_per_frame"], path, "output.reference_bits_per_frame", known)
    cr = data["output"].get("compression_ratio")
    cr = _formula(cr, path, "output.compression_ratio", known) if cr is not None else None
    known |= {"bits_per_frame", "reference_bits_per_frame"}
    stages = _stages(data["timing"], path, known)
    rate = data["timing"].get("frame_rate_hz")
    rate = _formula(rate, path, "timing.frame_rate_hz", known) if rate is not None else None
    known |= {"frame_time_s", "frame_rate_hz", "frame_period_s"}
    if not isinstance(data["components"], dict) or not data["components"]:
        raise _err(path, "components", "expected a mapping of component names")
    components = tuple(_component(str(n), b, path, known) for n, b in data["components"].items())
    return Architecture(
        name=str(data["name"]), path=path, description=str(data.get("description", "")).strip(),
        family=str(data.get("family", "")), references=tuple(data.get("references") or ()),
        parameters=params, derived=derived, constraints=constraints, components=components, stages=stages,
        bits_per_frame=bits, reference_bits_per_frame=reference, compression_ratio=cr, frame_rate_hz=rate,
        notes=str(data.get("notes", "")).strip(), raw=data)


# -- workloads (spiking backbones, SPEC 5.4) ------------------------------------------------------------
def resolve_workload_path(name: str, relative_to: Path) -> Path:
    """A workload given by name (``circuitsim/data/<name>.yaml``) or by a path relative to the architecture."""
    candidates = [relative_to.parent / name, DATA_DIR / name, DATA_DIR / f"{name}.yaml"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    shipped = sorted(p.stem for p in DATA_DIR.glob("*.yaml") if _is_workload(p))
    raise ArchitectureError(f"{relative_to.name}: workload {name!r} not found; shipped workloads: "
                            f"{', '.join(shipped)} (or give a path relative to the architecture file)")


def _is_workload(path: Path) -> bool:
    with open(path) as fh:
        head = fh.read(400)
    return WORKLOAD_SCHEMA in head


def _layer_ops(layer: dict, wpath: Path, key: str, known: set) -> str:
    """Synaptic operations of one layer as a formula string (same padding for conv).

    conv: ops = (in_h / stride) * (in_w / stride) * out_c * kernel^2 * in_c ; fc: ops = in_features * out_features
    """
    kind = layer.get("type")
    if kind not in _LAYER_TYPES:
        raise _err(wpath, f"{key}.type", f"{kind!r} is not one of {', '.join(_LAYER_TYPES)}")
    needed = ("in_h", "in_w", "in_c", "out_c", "kernel", "stride") if kind == "conv" else ("in_features", "out_features")
    for field_name in needed:
        if field_name not in layer:
            raise _err(wpath, f"{key}.{field_name}", f"missing (a {kind} layer needs {', '.join(needed)})")
        _formula(layer[field_name], wpath, f"{key}.{field_name}", known)
    f = {k: f"({layer[k]})" for k in needed}
    if kind == "conv":
        return (f"{f['in_h']} / {f['stride']} * {f['in_w']} / {f['stride']} * {f['out_c']} * "
                f"{f['kernel']} * {f['kernel']} * {f['in_c']}")
    return f"{f['in_features']} * {f['out_features']}"


def workload_actions(name: str, time_steps, spike_rate_scale, arch_path: Path, key: str, known: set) -> tuple:
    """Expand a per-layer workload into report lines (SPEC 5.4).

    Layer with analog input (direct encoding): MACs = ops (computed once; the input is constant over time
    steps). Layer with spike input: ACs = ops * spike_rate * spike_rate_scale * time_steps.
    """
    wpath = resolve_workload_path(str(name), arch_path)
    with open(wpath) as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict) or data.get("schema") != WORKLOAD_SCHEMA:
        raise _err(wpath, "schema", f"expected {WORKLOAD_SCHEMA!r}")
    layers = data.get("layers")
    if not isinstance(layers, list) or not layers:
        raise _err(wpath, "layers", "needs a non-empty list of layers")
    steps = _formula(time_steps, arch_path, f"{key}.time_steps", known).text
    scale = _formula(spike_rate_scale, arch_path, f"{key}.spike_rate_scale", known).text
    actions = []
    for i, layer in enumerate(layers):
        lkey = f"layers[{i}]"
        _check_keys(layer, _LAYER_KEYS, wpath, lkey)
        ops = _layer_ops(layer, wpath, lkey, known)
        label = str(layer.get("name", f"layer{i}"))
        source = layer.get("input")
        if source not in _LAYER_INPUTS:
            raise _err(wpath, f"{lkey}.input", f"{source!r} is not one of {', '.join(_LAYER_INPUTS)}")
        if source == "analog":
            actions.append(ActionSpec(f"{label}.mac", "mac", _formula(ops, wpath, lkey, known)))
            continue
        rate = layer.get("spike_rate")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
            raise _err(wpath, f"{lkey}.spike_rate", f"a spiking layer needs spike_rate in [0, 1], got {rate!r}")
        count = f"({ops}) * {float(rate)!r} * ({scale}) * ({steps})"
        actions.append(ActionSpec(f"{label}.ac", "ac", _formula(count, wpath, lkey, known)))
    return tuple(actions)

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
      stages:                         # stages in one group run one after another; groups overlap
        - {name: pixel_readout, group: array, time_s: rows * t_row_readout_s}
    operating:                        # optional: the operating point (each key a formula; --set overrides)
      frame_rate_hz: 30               # default: the maximum 1 / frame_time_s; above it is refused
      exposure_s: frame_period_s - frame_time_s   # default: the frame period; must be in (0, frame_period_s]
      row_time_s: frame_period_s / rows           # optional symbol for power on-times (rolling shutter)
    components:
      pixel:                          # name in the report
        block: pixel_4t               # component in the energy table (and calibration artifact name)
        instances: pixels             # instances of the block: static and leakage power are per instance
        actions: {readout: pixels}    # table action -> count per frame (formula)
        power: {policy: gated}        # always_on | stage (+ stage: NAME(s) or on_time_s) | gated (default)
        supply_v: vdd_pixel_v         # optional supply of this component (a parameter per domain)
      column_load:
        block: column_load
        instances: cols
        power: {policy: stage, on_time_s: rows * row_time_s}   # no actions: static power only
        static_W: 9.0e-6              # optional overrides of the table (energy_J: {action: J} too), with
        source: {kind: measured, citation: "..."}   # a source (kind + citation/derivation) required
      adc:
        block: sar_adc
        resolution_bits: bits_adc     # converter resolution N (formula): picks sar_adc_<N>b when calibrated
        actions: {conversion: pixels}
      backbone:
        block: digital_fp32_45nm
        workload: snn_vgg11_backbone  # per-layer workload file: expands into mac/ac lines
        time_steps: time_steps
    measured:                         # optional, published chips (architectures/chips/): what silicon measured
      energy_per_pixel_J: 99.0e-12    # one of energy_per_pixel_J / energy_per_frame_J / power_W (at the
      citation: "..."                 # operating frame rate), with citation and quote; camj: {...} the peer
      quote: "..."                    # model's figure; read by circuitsim.accounting.chips (validate-system)

Why one module of ~500 lines: it is the architecture file format, section by section (parameters, derived,
output, timing, operating, components, constraints) with the error message of every malformed field; splitting
it would scatter one format's rules.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from circuitsim.accounting.expressions import FUNCTIONS, Formula, float_or_inf, shown_number
from circuitsim.accounting.tables import DATA_DIR
from circuitsim.errors import CircuitsimError

ARCH_SCHEMA = "circuitsim.architecture/1"
WORKLOAD_SCHEMA = "circuitsim.workload/1"
#: ``measured`` is a published chip's measured figures (architectures/chips/, read by
#: :mod:`circuitsim.accounting.chips`); the engine itself does not read it.
_TOP_KEYS = {"schema", "name", "description", "family", "references", "notes", "parameters", "derived",
             "constraints", "output", "timing", "operating", "components", "measured"}
_OVERRIDE_KEYS = ("energy_J", "static_W", "leakage_W")
_COMPONENT_KEYS = {"block", "description", "instances", "actions", "workload", "time_steps", "spike_rate_scale",
                   "resolution_bits", "power", "supply_v", "source", *_OVERRIDE_KEYS}
#: The operating point: keys of ``operating:``, also accepted by ``--set`` (evaluate's overrides).
OPERATING_KEYS = ("frame_rate_hz", "exposure_s", "row_time_s")
#: Power policies (how long a component's instances are biased in one frame period T):
#: always_on: T; stage: the named stages' time (or on_time_s); gated: only its own action windows.
POWER_POLICIES = ("always_on", "stage", "gated")
_POWER_KEYS = {"policy", "stage", "on_time_s", "note"}
_OUTPUT_KEYS = {"bits_per_frame", "reference_bits_per_frame", "compression_ratio"}
_TIMING_KEYS = {"stages", "frame_rate_hz", "from_blocks"}
#: Timing a calibrated block's artifact provides (``timing.from_blocks``): (block, quantity) -> its arguments.
#: ``pixel_4t`` ``row_readout_s``: the pixel's reset + signal settling to half an LSB of a ``bits``-bit ADC on
#: the column line of an array of ``rows`` pixels (:func:`circuitsim.blocks.pixel_timing.row_readout_s`).
#: ``latency_s`` (any block; ``action: NAME``, a string): the latency of that action in the block's artifact.
TIMING_QUANTITIES = {("pixel_4t", "row_readout_s"): ("rows", "bits"),
                     ("pixel_4t_3v3", "row_readout_s"): ("rows", "bits")}
LATENCY_QUANTITY = "latency_s"
_STAGE_KEYS = {"name", "group", "time_s", "note"}
_LAYER_KEYS = {"name", "type", "in_h", "in_w", "in_c", "out_c", "kernel", "stride", "in_features",
               "out_features", "input", "spike_rate", "note"}
_LAYER_INPUTS = ("analog", "spikes")
_LAYER_TYPES = ("conv", "fc")
#: Symbols the engine defines for formulas evaluated after the output and timing sections.
ENGINE_SYMBOLS = ("bits_per_frame", "reference_bits_per_frame", "frame_time_s", "frame_rate_hz",
                  "frame_period_s", "max_frame_rate_hz", "exposure_s", "row_time_s")
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
class PowerSpec:
    """How long one instance is biased per frame: ``policy`` (see :data:`POWER_POLICIES`), the stages it is
    on during (``stage`` policy) or an explicit ``on_time_s`` formula."""

    policy: str = "gated"
    stages: tuple = ()
    on_time_s: Formula | None = None
    stated: bool = False


@dataclass(frozen=True)
class Override:
    """Figures an architecture states for one component instead of the table's, with their source."""

    energy_J: dict
    static_W: float | None
    leakage_W: float | None
    kind: str
    source: str


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    block: str
    actions: tuple
    instances: Formula | None = None
    description: str = ""
    #: Converter resolution N in bits, for table actions that depend on it (the SAR ADC's ``conversion``).
    resolution_bits: Formula | None = None
    power: PowerSpec = PowerSpec()
    #: Supply of this component [V] (formula); None = the budget's reference supply.
    supply_v: Formula | None = None
    override: Override | None = None


@dataclass(frozen=True)
class Stage:
    name: str
    group: str
    time_s: Formula


@dataclass(frozen=True)
class TimingSource:
    """A timing parameter that a calibrated technology takes from a block's artifact: ``parameter`` (its
    stated value is the published profile, used with ``--technology literature``), the block, the quantity
    and its arguments (formulas over the parameters)."""

    parameter: str
    block: str
    quantity: str
    args: dict
    action: str = ""


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
    #: ``{key: Formula}`` of the ``operating:`` section (keys from OPERATING_KEYS; frame_rate_hz also above).
    operating: dict = field(default_factory=dict)
    #: Timing parameters a calibrated technology takes from the blocks' artifacts (``timing.from_blocks``).
    timing_sources: tuple = ()
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
        number = float_or_inf(value)
    if not math.isfinite(number):
        raise _err(path, key, f"{shown_number(value)} is too large or not finite (a float holds at most "
                              "~1.8e308); give a finite number in SI units")
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


def _timing_sources(raw, path: Path, params: dict) -> tuple:
    """``timing.from_blocks``: {parameter: {block, quantity, <argument>: formula over the parameters}}."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise _err(path, "timing.from_blocks", "expected a mapping {parameter: {block, quantity, ...}}")
    out = []
    for name, body in raw.items():
        key = f"timing.from_blocks.{name}"
        if name not in params:
            raise _err(path, key, f"names no parameter; it replaces a stated parameter (valid: {', '.join(params)})")
        if isinstance(body, dict) and body.get("quantity") == LATENCY_QUANTITY and isinstance(body.get("block"), str):
            _check_keys(body, {"block", "quantity", "action", "note"}, path, key)
            if not isinstance(body.get("action"), str):
                raise _err(path, key, "latency_s needs action: NAME (the block's action whose latency it is)")
            out.append(TimingSource(str(name), body["block"], LATENCY_QUANTITY, {}, body["action"]))
            continue
        if not isinstance(body, dict) or (body.get("block"), body.get("quantity")) not in TIMING_QUANTITIES:
            valid = "; ".join(f"{{block: {b}, quantity: {q}, {', '.join(f'{a}: ...' for a in args)}}}"
                              for (b, q), args in TIMING_QUANTITIES.items())
            raise _err(path, key, f"unknown block timing {body!r}; valid: {valid}; "
                                  "{block: NAME, quantity: latency_s, action: ACTION}")
        names = TIMING_QUANTITIES[(body["block"], body["quantity"])]
        _check_keys(body, {"block", "quantity", "note", *names}, path, key)
        missing = [a for a in names if a not in body]
        if missing:
            raise _err(path, key, f"needs {', '.join(missing)} (formulas over the parameters)")
        args = {a: _formula(body[a], path, f"{key}.{a}", set(params)) for a in names}
        out.append(TimingSource(str(name), str(body["block"]), str(body["quantity"]), args))
    return tuple(out)


def _component(name: str, body, path: Path, known: set, stages: tuple = ()) -> ComponentSpec:
    key = f"components.{name}"
    _check_keys(body, _COMPONENT_KEYS, path, key)
    if "block" not in body:
        raise _err(path, key, "needs 'block' (the energy-table component it is built from)")
    if ("actions" in body) and ("workload" in body) or not ({"actions", "workload", "power"} & set(body)):
        raise _err(path, key, "needs exactly one of 'actions' (action -> count formula) or 'workload' "
                              "(or only 'power', for a component that draws static power and makes no actions)")
    instances = _formula(body["instances"], path, f"{key}.instances", known) if "instances" in body else None
    resolution = body.get("resolution_bits")
    resolution = _formula(resolution, path, f"{key}.resolution_bits", known) if resolution is not None else None
    if "workload" in body:
        actions = workload_actions(body["workload"], body.get("time_steps", 1), body.get("spike_rate_scale", 1),
                                   path, key, known)
    elif "actions" in body:
        raw = body["actions"]
        if not isinstance(raw, dict) or not raw:
            raise _err(path, f"{key}.actions", "expected a mapping action -> count per frame (formula)")
        actions = tuple(ActionSpec(str(a), str(a), _formula(c, path, f"{key}.actions.{a}", known))
                        for a, c in raw.items())
    else:
        actions = ()
    power = _power(body.get("power"), path, key, known, stages)
    if power.stated and instances is None:
        raise _err(path, f"{key}.instances", "a component with a stated power policy needs 'instances' "
                                             "(static and leakage power are per instance)")
    supply = _formula(body["supply_v"], path, f"{key}.supply_v", known) if "supply_v" in body else None
    override = _override(body, path, key, actions)
    return ComponentSpec(name, str(body["block"]), actions, instances, str(body.get("description", "")), resolution,
                         power, supply, override)


def _power(raw, path: Path, key: str, known: set, stages: tuple) -> PowerSpec:
    if raw is None:
        return PowerSpec()
    _check_keys(raw, _POWER_KEYS, path, f"{key}.power")
    policy = raw.get("policy")
    if policy not in POWER_POLICIES:
        raise _err(path, f"{key}.power.policy", f"{policy!r} is not one of {', '.join(POWER_POLICIES)} "
                   "(always_on: biased the whole frame period; stage: during its stage(s) or on_time_s; "
                   "gated: only during its own actions)")
    names = raw.get("stage", ())
    names = (names,) if isinstance(names, str) else tuple(names or ())
    valid = [st.name for st in stages]
    for name in names:
        if name not in valid:
            raise _err(path, f"{key}.power.stage", f"unknown stage {name!r}; stages: {', '.join(valid)}")
    on_time = raw.get("on_time_s")
    on_time = _formula(on_time, path, f"{key}.power.on_time_s", known) if on_time is not None else None
    if policy == "stage" and not names and on_time is None:
        raise _err(path, f"{key}.power", "policy 'stage' needs 'stage' (stage name or list) or 'on_time_s'")
    if policy != "stage" and (names or on_time is not None):
        raise _err(path, f"{key}.power", f"policy {policy!r} takes no 'stage' / 'on_time_s' (only 'stage' does)")
    return PowerSpec(policy, names, on_time, True)


def _override(body: dict, path: Path, key: str, actions: tuple) -> Override | None:
    """``energy_J`` ({action: J}, or one number for a one-action component), ``static_W``, ``leakage_W`` stated
    in the architecture; refused without a ``source`` (kind + citation and/or derivation)."""
    from circuitsim.accounting.tables import EnergyTableError, _source_text

    present = [k for k in _OVERRIDE_KEYS if k in body]
    if not present:
        if "source" in body:
            raise _err(path, f"{key}.source", "a source belongs to figures stated here (energy_J, static_W, "
                                              "leakage_W); there are none")
        return None
    if "source" not in body:
        raise _err(path, f"{key}.source", f"{', '.join(present)} stated without a source: add source: "
                   "{kind: measured, citation: 'author, title, venue, year'} (kinds: published, derived, "
                   "estimate, measured)")
    try:
        kind, text = _source_text(body["source"], f"{path.name}: {key}.source")
    except EnergyTableError as exc:
        raise ArchitectureError(str(exc)) from None
    energies = {}
    if "energy_J" in body:
        raw = body["energy_J"]
        labels = [a.table_action for a in actions]
        if not isinstance(raw, dict):
            if len(set(labels)) != 1:
                raise _err(path, f"{key}.energy_J", "give a mapping action -> J per action "
                                                    f"(actions: {', '.join(sorted(set(labels))) or 'none'})")
            raw = {labels[0]: raw}
        for action, value in raw.items():
            if action not in labels:
                raise _err(path, f"{key}.energy_J.{action}", f"not an action of this component; actions: "
                                                             f"{', '.join(sorted(set(labels))) or 'none'}")
            energies[str(action)] = _nonnegative(value, path, f"{key}.energy_J.{action}")
    static = _nonnegative(body["static_W"], path, f"{key}.static_W") if "static_W" in body else None
    leakage = _nonnegative(body["leakage_W"], path, f"{key}.leakage_W") if "leakage_W" in body else None
    return Override(energies, static, leakage, kind, text)


def _nonnegative(value, path: Path, key: str) -> float:
    number = _number(value, path, key)
    if number < 0:
        raise _err(path, key, f"must be >= 0 (SI units), got {number:g}")
    return number


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
    timing_sources = _timing_sources(data["timing"].get("from_blocks"), path, params)
    operating = _operating(data, path, known)
    rate = operating.get("frame_rate_hz")
    if not isinstance(data["components"], dict) or not data["components"]:
        raise _err(path, "components", "expected a mapping of component names")
    components = tuple(_component(str(n), b, path, known, stages) for n, b in data["components"].items())
    return Architecture(
        name=str(data["name"]), path=path, description=str(data.get("description", "")).strip(),
        family=str(data.get("family", "")), references=tuple(data.get("references") or ()),
        parameters=params, derived=derived, constraints=constraints, components=components, stages=stages,
        bits_per_frame=bits, reference_bits_per_frame=reference, compression_ratio=cr, frame_rate_hz=rate,
        notes=str(data.get("notes", "")).strip(), raw=data, operating=operating, timing_sources=timing_sources)


def _operating(data: dict, path: Path, known: set) -> dict:
    """``{key: Formula}`` of the ``operating:`` section (``timing.frame_rate_hz`` is the older spelling of
    ``operating.frame_rate_hz``); adds the engine symbols to ``known`` in the order they are defined."""
    raw = data.get("operating") or {}
    _check_keys(raw, set(OPERATING_KEYS), path, "operating")
    raw = dict(raw)
    if data["timing"].get("frame_rate_hz") is not None:
        if "frame_rate_hz" in raw:
            raise _err(path, "timing.frame_rate_hz", "also given as operating.frame_rate_hz: keep one")
        raw["frame_rate_hz"] = data["timing"]["frame_rate_hz"]
    known |= {"frame_time_s", "max_frame_rate_hz"}
    out = {}
    if "frame_rate_hz" in raw:
        out["frame_rate_hz"] = _formula(raw["frame_rate_hz"], path, "operating.frame_rate_hz", known)
    known |= {"frame_rate_hz", "frame_period_s"}
    for key in ("exposure_s", "row_time_s"):
        if key in raw:
            out[key] = _formula(raw[key], path, f"operating.{key}", known)
    known.add("exposure_s")
    if "row_time_s" in out:
        known.add("row_time_s")
    return out


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

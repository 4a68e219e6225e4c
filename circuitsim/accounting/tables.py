"""Energy tables as data, and the budget of one (component, action): from a calibration artifact when one
exists for the technology, else from the literature table. Every budget says where it came from.

A table (``circuitsim/data/energy_literature.yaml``) maps component -> actions, each with ``energy_J``
(per action), ``latency_s`` (per action), ``leakage_W`` (per instance) and a ``source``. A calibration
artifact ``calibration/<technology>/<corner>_<temp>C/<component>/energy.json`` holds
``{"component", "actions": [{"name", "energy_J", "latency_s", "note"}]}``; its action of the same name wins.

An action whose cost depends on a converter's resolution N (SPEC 4.6: the SAR ADC at 2 ... 8 bit) gives
``energy_J`` and ``latency_s`` as formulas of ``bits`` and of the component's fixed actions
(``<action>_energy_J``, ``<action>_latency_s``), and names the calibration artifact of one integer
resolution in ``artifact`` (``sar_adc_{bits}b``)::

    - {name: conversion, artifact: "sar_adc_{bits}b",
       energy_J: "2 ** bits * cdac_unit_switch_energy_J + ceil(bits) * bit_cycle_energy_J", ...}

The architecture states the resolution (``resolution_bits`` of the component). With a calibrated
technology, an integer N picks artifact ``sar_adc_<N>b`` (action of the same name); a fractional N (1.5-bit
ternary mode) or a resolution without an artifact keeps the literature formula, and its source says why.

Time-proportional power is per component and per instance (:class:`PowerBudget`): ``static_W`` (quiescent
supply power while biased) and ``leakage_W`` (supply power while off), both at the component's reference
supply ``vdd_v`` (allowed range ``supply_range_v``). A calibrated artifact's ``energy.json`` may carry them
as top-level ``static_W`` / ``leakage_W`` (measured in SPICE from the block's own deck); without them the
table's figures are used, with a ``fallback_reason``. A user table (``--energy-table FILE``) is merged over
the default one (:func:`merged_table`): its components and actions replace those of the same name.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import yaml

from circuitsim.accounting.expressions import Formula
from circuitsim.errors import CircuitsimError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
LITERATURE_TABLE = DATA_DIR / "energy_literature.yaml"
TABLE_SCHEMA = "circuitsim.energy_table/1"
SOURCE_KINDS = ("published", "derived", "estimate", "measured")
#: What a report line's figure rests on: a literature kind, or a calibration artifact.
REPORT_SOURCE_KINDS = (*SOURCE_KINDS, "calibrated")
LITERATURE = "literature"
_ACTION_KEYS = {"name", "energy_J", "latency_s", "leakage_W", "source", "artifact"}
_COMPONENT_KEYS = {"description", "actions", "static_W", "leakage_W", "vdd_v", "supply_range_v", "power_source"}
#: Reference supply and allowed range of a component that states none: the sky130 1.8 V core
#: (circuitsim/technology/sky130.yaml, supply.vdd_v and supply.range_v).
DEFAULT_VDD_V = 1.8
DEFAULT_SUPPLY_RANGE_V = (1.6, 1.95)
#: The symbol a resolution-dependent action's formulas read: the converter resolution N in bits.
RESOLUTION_SYMBOL = "bits"


class EnergyTableError(CircuitsimError):
    """An energy table that does not follow the schema, or a component/action that is not in it."""


@dataclass(frozen=True)
class Budget:
    """Energy and latency of one action of one component, with its provenance.

    ``origin`` is ``"literature"``, ``"profile"`` (a paper profile's figure, ``--technology leca-paper``) or
    ``"calibrated"``; ``kind`` (the report's ``source_kind``) is the
    literature entry's ``published``/``derived``/``estimate``/``measured`` or ``calibrated``; ``source`` is
    the citation, derivation or artifact path with its content hash; ``fallback_reason`` says why a
    calibrated technology used the literature figure (None otherwise).
    """

    component: str
    action: str
    energy_J: float
    latency_s: float | None
    leakage_W: float | None
    origin: str
    kind: str
    source: str
    fallback_reason: str | None = None
    #: Quiescent (bias) supply power of one instance while on [W]; None = not reported (counts as zero).
    static_W: float | None = None

    @property
    def leakage_or_zero_W(self) -> float:
        return self.leakage_W or 0.0

    @property
    def static_or_zero_W(self) -> float:
        return self.static_W or 0.0


@dataclass(frozen=True)
class PowerBudget:
    """Time-proportional power of one instance of a component, with its provenance.

    ``static_W``: quiescent supply power while biased (on) [W]; ``leakage_W``: supply power while off [W];
    both at the reference supply ``vdd_v`` [V], which may be scaled within ``supply_range_v`` (static and
    leakage scale as I * V, dynamic energy as C * V^2). ``origin``/``kind``/``source``/``fallback_reason``
    as in :class:`Budget` (here for the power figures).
    """

    component: str
    static_W: float
    leakage_W: float
    vdd_v: float
    supply_range_v: tuple
    origin: str
    kind: str
    source: str
    fallback_reason: str | None = None


@dataclass(frozen=True)
class PerResolution:
    """A literature action whose figures are formulas of the converter resolution ``bits`` (SPEC 4.6).

    ``constants`` holds the component's fixed figures the formulas may read (``<action>_energy_J``,
    ``<action>_latency_s``); ``artifact`` is the per-resolution artifact name with ``{bits}`` in it.
    """

    component: str
    action: str
    energy_J: Formula
    latency_s: Formula | None
    leakage_W: float | None
    kind: str
    source: str
    artifact: str
    constants: dict
    #: ``"literature"``, or ``"profile"`` when a paper profile states the component's figures
    origin: str = LITERATURE

    def at(self, bits: float) -> Budget:
        """The literature budget at ``bits`` (labelled with the resolution it was evaluated at)."""
        symbols = dict(self.constants, **{RESOLUTION_SYMBOL: float(bits)})
        latency = None if self.latency_s is None else float(self.latency_s(symbols))
        return Budget(self.component, self.action, float(self.energy_J(symbols)), latency, self.leakage_W,
                      self.origin, self.kind, f"{self.source}; at N = {float(bits):g} bit")

    def artifact_name(self, bits: float) -> str | None:
        """``sar_adc_8b`` for 8 bit; None for a fractional resolution (no hardware of its own)."""
        return self.artifact.format(bits=int(bits)) if float(bits).is_integer() else None


@dataclass(frozen=True)
class EnergyTable:
    """A parsed energy table: ``budgets[component][action] -> Budget`` (or :class:`PerResolution`)."""

    technology: str
    path: Path
    budgets: dict
    #: ``power[component] -> PowerBudget`` (zero static and leakage where the table states none).
    power: dict = None
    #: Files merged into this table, default first (for provenance).
    sources: tuple = ()

    def components(self) -> list[str]:
        return sorted(self.budgets)

    def entry(self, component: str, action: str, where: str = "") -> Budget | PerResolution:
        """The table's entry, or an error naming the valid components/actions."""
        prefix = f"{where}: " if where else ""
        if component not in self.budgets:
            raise EnergyTableError(f"{prefix}unknown component {component!r} (energy table {self.path.name}); "
                                   f"valid components: {', '.join(self.components())}")
        actions = self.budgets[component]
        if action not in actions:
            raise EnergyTableError(f"{prefix}component {component!r} has no action {action!r} in {self.path.name}; "
                                   f"valid actions: {', '.join(sorted(actions))}")
        return actions[action]

    def budget(self, component: str, action: str, where: str = "", bits: float | None = None) -> Budget:
        """The budget of one action; a resolution-dependent one is evaluated at ``bits`` (required)."""
        entry = self.entry(component, action, where)
        if not isinstance(entry, PerResolution):
            return entry
        if bits is None:
            prefix = f"{where}: " if where else ""
            raise EnergyTableError(f"{prefix}action {action!r} of {component!r} depends on the converter resolution; "
                                   "give the component 'resolution_bits' (a formula, e.g. resolution_bits: bits_adc)")
        return entry.at(bits)


def yaml_number(value) -> float | None:
    """``value`` as a float when it is a number in YAML, else None (PyYAML, YAML 1.1, reads 1.0e6 without an
    exponent sign as a string; a boolean is not a number)."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _optional_float(value, where: str, key: str, minimum: float = 0.0):
    if value is None:
        return None
    number = yaml_number(value)
    if number is None:
        raise EnergyTableError(f"{where}: {key} must be a number in SI units or null, got {value!r}")
    if number < minimum:
        raise EnergyTableError(f"{where}: {key} must be >= {minimum:g}, got {number:g}")
    return number


def _source_text(source, where: str) -> tuple[str, str]:
    """(kind, one-line text) of a literature entry's ``source`` mapping."""
    if not isinstance(source, dict) or "kind" not in source:
        raise EnergyTableError(f"{where}: source must be a mapping with 'kind' ({', '.join(SOURCE_KINDS)}) "
                               "and a 'citation' and/or 'derivation'")
    kind = source["kind"]
    if kind not in SOURCE_KINDS:
        raise EnergyTableError(f"{where}: source kind {kind!r} is not one of {', '.join(SOURCE_KINDS)}")
    if kind in ("published", "derived", "measured") and not source.get("citation"):
        raise EnergyTableError(f"{where}: a {kind} figure needs a 'citation' (author, title, venue, year)")
    if kind in ("derived", "estimate") and not source.get("derivation"):
        raise EnergyTableError(f"{where}: a {kind} figure needs a 'derivation' saying how it was computed")
    quote = f"quote: \u201c{source['quote']}\u201d" if source.get("quote") else None
    parts = [source.get("citation"), quote, source.get("derivation"), source.get("note")]
    return kind, "; ".join(p for p in parts if p)


def _is_formula(value) -> bool:
    """A string that is not a plain number (PyYAML reads ``1.0e6`` as a string too)."""
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return True
    return False


def _fixed_figures(budgets: dict) -> dict:
    """``{<action>_energy_J, <action>_latency_s: value}`` of a component's fixed actions (formula symbols)."""
    out = {}
    for action, budget in budgets.items():
        out[f"{action}_energy_J"] = budget.energy_J
        if budget.latency_s is not None:
            out[f"{action}_latency_s"] = budget.latency_s
    return out


def _per_resolution(component: str, entry: dict, where: str, kind: str, text: str, constants: dict) -> PerResolution:
    """Validate a resolution-dependent action: formulas of ``bits`` and the fixed figures, and its artifact."""
    known = {RESOLUTION_SYMBOL, *constants}
    formulas = {}
    for key in ("energy_J", "latency_s"):
        value = entry.get(key)
        if value is None:
            formulas[key] = None
            continue
        formula = Formula.parse(value, where=f"{where}.{key}")
        unknown = formula.names - known
        if unknown:
            raise EnergyTableError(f"{where}: {key} reads unknown symbol(s) {', '.join(sorted(unknown))}; "
                                   f"valid: {', '.join(sorted(known))}")
        formulas[key] = formula
    if formulas["energy_J"] is None:
        raise EnergyTableError(f"{where}: energy_J must be a number or a formula (J per action)")
    artifact = str(entry.get("artifact", ""))
    rest = artifact.replace("{bits}", "")
    if "{bits}" not in artifact or "{" in rest or "}" in rest:
        raise EnergyTableError(f"{where}: a resolution-dependent action needs 'artifact', the calibration "
                               "artifact of one integer resolution with {bits} in its name (e.g. sar_adc_{bits}b)")
    return PerResolution(component, entry["name"], formulas["energy_J"], formulas["latency_s"],
                         _optional_float(entry.get("leakage_W"), where, "leakage_W"), kind, text, artifact,
                         constants)


def parse_table(data: dict, path: Path) -> EnergyTable:
    """Validate a loaded energy-table YAML mapping and build the :class:`EnergyTable`."""
    name = path.name
    if not isinstance(data, dict) or data.get("schema") != TABLE_SCHEMA:
        raise EnergyTableError(f"{name}: not an energy table (expected 'schema: {TABLE_SCHEMA}')")
    components = data.get("components")
    if not isinstance(components, dict) or not components:
        raise EnergyTableError(f"{name}: 'components' must map component names to their actions")
    budgets, power = {}, {}
    for component, body in components.items():
        if not isinstance(body, dict):
            raise EnergyTableError(f"{name}: component {component!r} must be a mapping with 'actions'")
        unknown = set(body) - _COMPONENT_KEYS
        if unknown:
            raise EnergyTableError(f"{name}: component {component!r}: unknown key(s) {sorted(unknown)}; valid "
                                   f"keys: {', '.join(sorted(_COMPONENT_KEYS))} (units in the key names)")
        actions = body.get("actions")
        if actions == [] and (body.get("static_W") or body.get("leakage_W")):
            actions = []  # a component that only draws power (e.g. a bias generator)
        elif not isinstance(actions, list) or not actions:
            raise EnergyTableError(f"{name}: component {component!r} needs a non-empty 'actions' list "
                                   "(or 'actions: []' with static_W / leakage_W)")
        budgets[component] = {}
        formulas = []
        for entry in actions:
            where = f"{name}: {component}.{entry.get('name', '?') if isinstance(entry, dict) else '?'}"
            if not isinstance(entry, dict) or "name" not in entry or "energy_J" not in entry:
                raise EnergyTableError(f"{where}: each action needs 'name' and 'energy_J' (J per action)")
            unknown = set(entry) - _ACTION_KEYS
            if unknown:
                raise EnergyTableError(f"{where}: unknown key(s) {sorted(unknown)}; valid keys: "
                                       f"{', '.join(sorted(_ACTION_KEYS))} (units in the key names)")
            kind, text = _source_text(entry.get("source"), where)
            if _is_formula(entry["energy_J"]) or "artifact" in entry:
                formulas.append((entry, where, kind, text))
                continue
            energy = _optional_float(entry["energy_J"], where, "energy_J")
            if energy is None:
                raise EnergyTableError(f"{where}: energy_J must be a number (J per action)")
            budgets[component][entry["name"]] = Budget(
                component, entry["name"], energy, _optional_float(entry.get("latency_s"), where, "latency_s"),
                _optional_float(entry.get("leakage_W"), where, "leakage_W"), LITERATURE, kind, text)
        constants = _fixed_figures(budgets[component])
        for entry, where, kind, text in formulas:
            budgets[component][entry["name"]] = _per_resolution(component, entry, where, kind, text, constants)
        power[component] = _component_power(component, body, f"{name}: {component}")
    return EnergyTable(str(data.get("technology", LITERATURE)), path, budgets, power, (path,))


def _component_power(component: str, body: dict, where: str) -> PowerBudget:
    """The component-level ``static_W`` / ``leakage_W`` (W per instance, null = not reported = 0) at
    ``vdd_v`` within ``supply_range_v``, with ``power_source`` (required when either figure is non-zero)."""
    static = _optional_float(body.get("static_W"), where, "static_W")
    leakage = _optional_float(body.get("leakage_W"), where, "leakage_W")
    vdd = _optional_float(body.get("vdd_v"), where, "vdd_v")
    vdd = DEFAULT_VDD_V if vdd is None else vdd
    span = body.get("supply_range_v", DEFAULT_SUPPLY_RANGE_V)
    if (not isinstance(span, (list, tuple)) or len(span) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in span)
            or not 0 < span[0] <= vdd <= span[1]):
        raise EnergyTableError(f"{where}: supply_range_v must be [low, high] in V around vdd_v = {vdd:g} V, "
                               f"got {span!r}")
    if static or leakage:
        kind, text = _source_text(body.get("power_source"), f"{where}.power_source")
    else:
        kind, text = "estimate", "no static or leakage figure in the table: counted as zero"
    return PowerBudget(component, static or 0.0, leakage or 0.0, vdd, (float(span[0]), float(span[1])),
                       LITERATURE, kind, text)


def with_origin(table: EnergyTable, components, origin: str) -> EnergyTable:
    """``table`` with every budget of ``components`` (actions, resolution formulas, static/leakage power)
    labelled ``origin``: a paper profile's components are reported as the profile's, not the literature's
    (a formula such as ``sar_adc.conversion`` reads the profile's constants, so it is the profile's too)."""
    budgets = {c: ({a: replace(b, origin=origin) for a, b in acts.items()} if c in components else acts)
               for c, acts in table.budgets.items()}
    power = {c: (replace(p, origin=origin) if c in components else p) for c, p in table.power.items()}
    return replace(table, budgets=budgets, power=power)


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise EnergyTableError(f"energy table {path} does not exist")
    try:
        with open(path) as fh:
            return yaml.safe_load(fh)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise EnergyTableError(f"energy table {path}: not valid YAML ({exc})") from None


@lru_cache(maxsize=8)
def load_energy_table(path: str | Path = LITERATURE_TABLE) -> EnergyTable:
    """Load and validate an energy table YAML file (the shipped literature table by default)."""
    path = Path(path)
    return parse_table(_read_yaml(path), path)


def merge_table_data(base: dict, extra: dict, where: str) -> dict:
    """``extra`` over ``base`` (both loaded table mappings): a component of ``extra`` replaces the
    component-level keys of the same component, and each of its actions replaces the action of the same
    name (new ones are added); components only in ``base`` are kept as they are."""
    if not isinstance(extra, dict) or extra.get("schema") != TABLE_SCHEMA:
        raise EnergyTableError(f"{where}: not an energy table (expected 'schema: {TABLE_SCHEMA}')")
    if not isinstance(extra.get("components"), dict) or not extra["components"]:
        raise EnergyTableError(f"{where}: 'components' must map component names to their actions")
    merged = dict(base, components={k: dict(v) for k, v in base["components"].items()})
    for component, body in extra["components"].items():
        if not isinstance(body, dict):
            raise EnergyTableError(f"{where}: component {component!r} must be a mapping")
        old = merged["components"].get(component, {})
        new = dict(old, **{k: v for k, v in body.items() if k != "actions"})
        actions = {a.get("name"): a for a in old.get("actions", []) if isinstance(a, dict)}
        for entry in body.get("actions") or []:
            if not isinstance(entry, dict) or "name" not in entry:
                raise EnergyTableError(f"{where}: {component}: each action needs a 'name'")
            actions[entry["name"]] = entry
        new["actions"] = list(actions.values())
        merged["components"][component] = new
    return merged


@lru_cache(maxsize=8)
def merged_table(path: str | Path) -> EnergyTable:
    """The default literature table with the user's table ``path`` merged over it (``--energy-table``)."""
    path = Path(path)
    data = merge_table_data(_read_yaml(LITERATURE_TABLE), _read_yaml(path), str(path))
    table = parse_table(data, path)
    return replace(table, path=path, sources=(LITERATURE_TABLE, path))



"""The accounting engine: architecture + budgets -> energy per frame / per second by component, latency and
frame rate (with the stage that bounds it), bits per frame / per second and compression ratio.

Equations (SI units throughout):

* frame time                 T_frame = max over groups g of sum over stages s in g of t_s  [s]
  (stages in a group run one after another; groups run concurrently, e.g. array readout and link)
* frame rate                 f = operating.frame_rate_hz (or --set), 0 < f <= f_max = 1 / T_frame;
                             default f_max                                                [Hz]
* frame period               T = 1 / f; exposure t_exp in (0, T] (default T)             [s]
* energy per frame           E = E_dyn + E_static + E_leak, per component:
  - dynamic line             E_dyn = count * E_action * (V / V_ref)^2                     [J]
    (E_action of a converter at its resolution N = the component's resolution_bits, e.g. the SAR ADC's
    conversion: calibrated sar_adc_<N>b, else the literature formula of N; a grid over N gets one line per N)
  - static line              E_static = instances * P_static * (V / V_ref) * max(T_on - T_act, 0)  [J]
  - leakage line             E_leak = instances * P_leak * (V / V_ref) * (T - T_on)       [J]
  where, per instance, T_act = sum over actions of count * latency_s / instances (the action windows,
  whose supply energy - bias included - is already in E_action) and T_on follows the component's power
  policy: always_on T_on = T (no leakage term); stage T_on = the named stages' time or on_time_s;
  gated T_on = T_act (no static term). V is the component's supply_v, V_ref its budget's vdd_v
  (dynamic ~ C V^2, static and leakage ~ I V with the currents held).
* energy per second          P = f * E                                                    [W = J/s]
* bandwidth                  B = f * bits_per_frame                                      [bit/s]
* compression ratio          CR = reference_bits_per_frame / bits_per_frame              [-]

The same code evaluates one configuration (floats) or a whole design-space grid (NumPy arrays).

Why one module of ~430 lines: the equations above are evaluated in one pass over scalars or a whole grid, and
the budget resolution, the line builder and the refusal checks share its symbol table; the result type lives
in :mod:`circuitsim.accounting.evaluation`, the budgets in :mod:`circuitsim.accounting.resolver`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from circuitsim.accounting.evaluation import (  # noqa: F401 - Line, TERMS, line_energy_J, limiting_stage re-exported
    TERMS,
    Evaluation,
    Line,
    bounding_stage,
    limiting_stage,
    line_energy_J,
)
from circuitsim.accounting.resolver import BudgetResolver
from circuitsim.accounting.schema import (
    OPERATING_KEYS,
    Architecture,
    ArchitectureError,
    parse_architecture,
)
from circuitsim.accounting.tables import Budget, PowerBudget
from circuitsim.errors import CircuitsimError
from circuitsim.store import OperatingPoint

_CR_RTOL = 1e-9


def architectures_dir() -> Path:
    from circuitsim.config import project_root

    return project_root() / "architectures"


def list_architectures(directory: Path | None = None) -> list[str]:
    """Names of the shipped architectures (``architectures/*.yaml``), sorted."""
    directory = Path(directory) if directory else architectures_dir()
    return sorted(p.stem for p in directory.glob("*.yaml"))


def load_architecture(name_or_path: str | Path, directory: Path | None = None) -> Architecture:
    """A shipped architecture by name, or any architecture YAML file by path."""
    path = Path(name_or_path)
    if not (path.suffix in (".yaml", ".yml") and path.is_file()):
        directory = Path(directory) if directory else architectures_dir()
        path = directory / f"{name_or_path}.yaml"
        if not path.is_file():
            raise ArchitectureError(f"unknown architecture {str(name_or_path)!r}; valid choices: "
                                    f"{', '.join(list_architectures(directory))} (or a path to a YAML file)")
    return _load_path(path.resolve(), path.stat().st_mtime_ns)


@lru_cache(maxsize=64)
def _load_path(path: Path, _mtime_ns: int) -> Architecture:
    try:
        with open(path) as fh:
            data = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise ArchitectureError(f"{path.name}: not valid YAML ({exc})") from None
    return parse_architecture(data, path)


#: The three terms of a frame's energy (a line's ``term``).




def resolution_groups(comp, symbols: dict) -> list:
    """``[(bits, where)]``: the component's resolution(s) and where each holds. ``[(None, 1.0)]`` without
    ``resolution_bits``; ``[(N, 1.0)]`` for one configuration; one ``(N, mask)`` per distinct N on a grid."""
    if comp.resolution_bits is None:
        return [(None, 1.0)]
    bits = comp.resolution_bits(symbols)
    if not np.ndim(bits):
        return [(float(bits), 1.0)]
    return [(float(value), bits == value) for value in np.unique(bits)]


#: Converter resolutions an architecture may state: an integer 1..16 bit (16 bit is the top of the SAR
#: survey; beyond it the 2^N CDAC formula prices a converter nobody builds, e.g. 99 bit = 2e11 GJ/frame), or
#: 1.5 (a ternary comparator pair, LeCA's 1.5-bit mode).
RESOLUTION_RANGE_BITS = (1, 16)
TERNARY_BITS = 1.5


def check_resolution(arch: Architecture, comp, symbols: dict) -> None:
    """The component's ``resolution_bits`` must be 1.5 or an integer in RESOLUTION_RANGE_BITS wherever it is
    evaluated (every point of a grid); the message names the file, the formula and the first bad point."""
    if comp.resolution_bits is None:
        return
    bits = np.asarray(comp.resolution_bits(symbols), dtype=float)
    lo, hi = RESOLUTION_RANGE_BITS
    with np.errstate(invalid="ignore"):
        ok = (bits == TERNARY_BITS) | ((bits >= lo) & (bits <= hi) & (bits == np.floor(bits)))
    if np.all(ok):
        return
    bad = ~ok
    value = float(np.ravel(bits)[np.flatnonzero(np.ravel(bad))[0]])
    swept = {k: symbols[k] for k in arch.parameters if np.ndim(symbols[k])}
    where = f" at {_first_bad(bad, swept)}" if np.ndim(bits) and swept else ""
    raise ArchitectureError(
        f"{arch.path.name}: components.{comp.name}.resolution_bits ({comp.resolution_bits.text}) is {value:g} "
        f"bit{where}: a converter resolution must be an integer {lo}..{hi} bit or {TERNARY_BITS:g} (ternary); "
        "set resolution_bits (or the parameter it reads) within that range")


def resolve_budgets(arch: Architecture, resolver: BudgetResolver, symbols: dict) -> dict:
    """``{(component, table_action, bits): Budget}`` for every action the architecture uses at each resolution
    it takes in ``symbols`` (``bits`` None without ``resolution_bits``), and ``{(component, "power", bits):
    PowerBudget}``; a component's own figures (``energy_J``, ``static_W``, ``leakage_W`` with their
    ``source``) replace the table's. Errors name valid choices."""
    budgets = {}
    cache = {}
    for comp in arch.components:
        check_resolution(arch, comp, symbols)
        where = f"{arch.path.name}: components.{comp.name}"
        override = comp.override
        for bits, _ in resolution_groups(comp, symbols):
            for action in comp.actions:
                key = (comp.block, action.table_action, bits)
                if override is not None and action.table_action in override.energy_J:
                    try:  # the action window stays the table's (the override states energy only)
                        latency = resolver.table.budget(comp.block, action.table_action, bits=bits).latency_s
                    except CircuitsimError:
                        latency = None
                    budgets[(comp.name, action.table_action, bits)] = Budget(
                        comp.block, action.table_action, override.energy_J[action.table_action], latency, None,
                        "architecture", override.kind, override.source)
                    continue
                if key not in cache:
                    cache[key] = resolver.budget(comp.block, action.table_action, bits=bits, where=where)
                budgets[(comp.name, action.table_action, bits)] = cache[key]
            pkey = (comp.block, "power", bits)
            if pkey not in cache:
                cache[pkey] = resolver.power(comp.block, bits, where)
            power = cache[pkey]
            if override is not None and (override.static_W is not None or override.leakage_W is not None):
                power = PowerBudget(comp.block,
                                    power.static_W if override.static_W is None else override.static_W,
                                    power.leakage_W if override.leakage_W is None else override.leakage_W,
                                    power.vdd_v, power.supply_range_v, "architecture", override.kind,
                                    override.source)
            budgets[(comp.name, "power", bits)] = power
    return budgets


def check_parameters(arch: Architecture, overrides: dict) -> None:
    unknown = set(overrides) - set(arch.parameters) - set(OPERATING_KEYS)
    if unknown:
        raise ArchitectureError(f"{arch.name}: unknown parameter(s) {', '.join(sorted(unknown))}; "
                                f"valid parameters: {', '.join(sorted(arch.parameters))}; operating point: "
                                f"{', '.join(OPERATING_KEYS)}")


def evaluate_symbols(arch: Architecture, overrides: dict | None = None) -> dict:
    """All symbols of the architecture (parameters, derived, output, timing), scalar or broadcast arrays.

    Adds ``valid`` (all constraints hold), ``stage_times`` ({stage: t_s}), ``group_times``,
    ``max_frame_rate_hz``, ``compression_ratio`` and the operating point (``frame_rate_hz``,
    ``frame_period_s``, ``exposure_s``, ``row_time_s`` where stated); ``overrides`` may set parameters and
    the operating keys (:data:`OPERATING_KEYS`).
    """
    overrides = dict(overrides or {})
    check_parameters(arch, overrides)
    as_value = lambda v: np.asarray(v, dtype=float) if np.ndim(v) else float(v)  # noqa: E731
    operating = {k: as_value(overrides.pop(k)) for k in OPERATING_KEYS if k in overrides}
    s = dict(arch.parameters)
    s.update({k: as_value(v) for k, v in overrides.items()})
    for name, formula in arch.derived:
        s[name] = formula(s)
    valid = True
    for constraint in arch.constraints:
        valid = np.logical_and(valid, constraint.require(s))
    s["valid"] = valid
    s["bits_per_frame"] = arch.bits_per_frame(s)
    s["reference_bits_per_frame"] = arch.reference_bits_per_frame(s)
    # NumPy division: a zero (e.g. N_ch: 0) gives inf/nan, refused by the checks that name the constraint
    with np.errstate(divide="ignore", invalid="ignore"):
        s["compression_ratio"] = np.divide(s["reference_bits_per_frame"], s["bits_per_frame"])
        stage_times = {st.name: st.time_s(s) for st in arch.stages}
        groups: dict[str, object] = {}
        for st in arch.stages:
            groups[st.group] = groups.get(st.group, 0.0) + stage_times[st.name]
        # groups broadcast against each other: on a grid, one group may not depend on the swept parameters
        frame_time = np.maximum.reduce(np.broadcast_arrays(*[np.asarray(v, dtype=float) for v in groups.values()]))
        s["stage_times"], s["group_times"] = stage_times, groups
        s["frame_time_s"] = frame_time
        s["max_frame_rate_hz"] = np.divide(1.0, frame_time)
        formulas = arch.operating
        for key in OPERATING_KEYS:
            if key in operating:
                s[key] = operating[key]
            elif key in formulas:
                s[key] = formulas[key](s)
            elif key == "frame_rate_hz":
                s[key] = s["max_frame_rate_hz"]
            elif key == "exposure_s":
                s[key] = s["frame_period_s"]
            if key == "frame_rate_hz":
                s["frame_period_s"] = np.divide(1.0, s["frame_rate_hz"])
    return s


def supply_scale(arch: Architecture, comp, power: PowerBudget, symbols: dict):
    """(V / V_ref) of the component: its ``supply_v`` over its budget's reference supply (1 without
    ``supply_v``); a supply outside the budget's ``supply_range_v`` is refused with the range."""
    if comp.supply_v is None:
        return 1.0
    volts = comp.supply_v(symbols)
    lo, hi = power.supply_range_v
    with np.errstate(invalid="ignore"):
        bad = ~((np.asarray(volts) >= lo) & (np.asarray(volts) <= hi))
    if np.any(bad):
        value = float(np.ravel(volts)[np.flatnonzero(np.ravel(bad))[0]]) if np.ndim(volts) else float(volts)
        raise ArchitectureError(
            f"{arch.path.name}: components.{comp.name}.supply_v ({comp.supply_v.text}) is {value:g} V, outside "
            f"the range of {comp.block} [{lo:g}, {hi:g}] V (its figures are at {power.vdd_v:g} V; dynamic energy "
            "scales as V^2, static and leakage power as V); choose a supply within the range"
            + _domain_variants_hint(comp))
    return np.divide(volts, power.vdd_v)


def _domain_variants_hint(comp) -> str:
    """The blocks calibrated from another deck of the same circuit on another supply domain of the technology
    (registered as ``<block>_<domain>``, e.g. pixel_4t_3v3 on the 3v3 domain): a supply outside a block's
    +-10 % range is a different circuit (other devices, other figures), so the refusal names them rather than
    extrapolating; "" when there are none."""
    from circuitsim.blocks import block_names, get_spec  # the registry, imported where a refusal needs it
    from circuitsim.spice.netlist import load_netlist

    variants = [name for name in block_names(plugins=False) if name.startswith(f"{comp.block}_")
                and load_netlist(get_spec(name).netlist).domain()]
    if not variants:
        return ""
    return (f", or run the component on another supply domain's circuit: {', '.join(variants)} (set "
            f"components.{comp.name}.block, and the block of any timing.from_blocks entry that names "
            f"{comp.block}, to it; its supply range is its artifact's)")


def _on_time_s(comp, symbols: dict, active_s):
    policy = comp.power.policy
    if policy == "always_on":
        return symbols["frame_period_s"]
    if policy == "gated":
        return active_s
    if comp.power.on_time_s is not None:
        return comp.power.on_time_s(symbols)
    return sum(symbols["stage_times"][name] for name in comp.power.stages)


def build_lines(arch: Architecture, budgets: dict, symbols: dict) -> list[Line]:
    """Dynamic lines (counts per frame of every (component, action)), then per component one static and one
    leakage line where its power budget is non-zero and it has ``instances`` (see the module docstring).

    On a grid over a converter's resolution each distinct N gets its own lines, counted where N holds."""
    lines = []
    period = symbols["frame_period_s"]
    for comp in arch.components:
        for bits, where in resolution_groups(comp, symbols):
            power = budgets[(comp.name, "power", bits)]
            scale = supply_scale(arch, comp, power, symbols)
            active = 0.0
            for action in comp.actions:
                budget = budgets[(comp.name, action.table_action, bits)]
                count = action.count(symbols) * where
                unit = budget.energy_J if comp.supply_v is None else budget.energy_J * scale * scale
                lines.append(Line(comp.name, action.label, budget, count, unit))
                if budget.latency_s:
                    active = active + count * budget.latency_s
            if comp.instances is None or not (power.static_W or power.leakage_W):
                continue
            instances = comp.instances(symbols)
            with np.errstate(divide="ignore", invalid="ignore"):
                active = np.divide(active, instances) if np.ndim(active) or active else 0.0
            on = _on_time_s(comp, symbols, active)
            check_on_time(arch, comp, on, period, symbols)
            if power.static_W and comp.power.policy != "gated":
                static_s = np.maximum(np.subtract(on, active), 0.0)
                watts = power.static_W * scale
                lines.append(Line(comp.name, "static", power, instances * where, watts * static_s, "static",
                                  watts, static_s))
            if power.leakage_W and comp.power.policy != "always_on":
                leak_s = np.maximum(np.subtract(period, on), 0.0)
                watts = power.leakage_W * scale
                lines.append(Line(comp.name, "leakage", power, instances * where, watts * leak_s, "leakage",
                                  watts, leak_s))
    return lines


def check_on_time(arch: Architecture, comp, on_s, period_s, symbols: dict) -> None:
    """A component cannot be on longer than the frame period (checked where the constraints hold)."""
    with np.errstate(invalid="ignore"):
        bad = (np.asarray(on_s) > np.asarray(period_s) * (1 + 1e-9)) & np.asarray(symbols["valid"], dtype=bool)
    if np.any(bad):
        pick = (lambda v: float(np.ravel(np.broadcast_to(v, np.shape(bad)))[np.flatnonzero(np.ravel(bad))[0]])) \
            if np.ndim(bad) else float
        rule = {"always_on": "always on", "gated": "its action windows (count * latency_s per instance)",
                "stage": f"power.{'on_time_s ' + comp.power.on_time_s.text if comp.power.on_time_s else 'stage'}"}
        raise ArchitectureError(
            f"{arch.path.name}: components.{comp.name} is on {pick(on_s):g} s per frame ({rule[comp.power.policy]}), "
            f"longer than the frame period {pick(period_s):g} s; lower the frame rate or fix the on-time")




def _first_bad(mask, overrides: dict) -> str:
    """The configuration of the first point where ``mask`` is true (for error messages)."""
    if not np.ndim(mask):
        return ", ".join(f"{k}={float(v):g}" for k, v in overrides.items()) or "defaults"
    index = int(np.flatnonzero(np.ravel(mask))[0])
    return ", ".join(f"{k}={np.ravel(np.broadcast_to(v, np.shape(mask)))[index]:g}" for k, v in overrides.items())


def check_lines(arch: Architecture, lines: list, overrides: dict, valid=True) -> None:
    """Counts must be finite and non-negative (checked where ``valid``, i.e. the constraints hold)."""
    for line in lines:
        bad = (~np.isfinite(line.count) | (np.asarray(line.count) < 0)) & np.asarray(valid, dtype=bool)
        if np.any(bad):
            value = np.ravel(line.count)[np.flatnonzero(np.ravel(bad))[0]] if np.ndim(line.count) else line.count
            raise ArchitectureError(
                f"{arch.path.name}: components.{line.component}: action {line.action!r} has a negative or "
                f"non-finite count at {_first_bad(bad, overrides)} (count formula gives {float(value):g}); "
                "a count per frame must be finite and >= 0: fix the formula or the parameters it reads")


def check_timing_and_cr(arch: Architecture, s: dict, overrides: dict, strict: bool) -> None:
    """Frame rate within the timing limit; the file's compression_ratio formula agrees with ref/bits; the
    constraints hold (``strict``: else an error naming them; checked first, so a parameter the constraints
    refuse, e.g. N_ch: 0, is reported as such); frame time and bits per frame finite and > 0."""
    mask = np.asarray(s["valid"], dtype=bool)
    if strict and not np.all(mask):
        failed = [c.message for c in arch.constraints if not np.all(c.require(s))]
        raise ArchitectureError(f"{arch.name} ({arch.path.name}): {'; '.join(failed)} "
                                f"({', '.join(f'{k}={v:g}' for k, v in overrides.items()) or 'defaults'}); "
                                "choose parameters that meet the constraint (in the file or as overrides)")
    for key, what in (("frame_time_s", "the timing stages"), ("bits_per_frame", "output.bits_per_frame")):
        with np.errstate(invalid="ignore"):
            bad = ~(np.isfinite(s[key]) & (np.asarray(s[key]) > 0)) & mask
        if np.any(bad):
            value = np.ravel(np.broadcast_to(s[key], np.shape(bad)))[np.flatnonzero(np.ravel(bad))[0]] \
                if np.ndim(bad) else s[key]
            raise ArchitectureError(f"{arch.path.name}: {key} from {what} is {float(value):g} at "
                                    f"{_first_bad(bad, overrides)}; it must be finite and > 0: check the "
                                    "formulas and the parameters they read")
    check_operating(arch, s, overrides, mask)
    if arch.compression_ratio is not None:
        stated = arch.compression_ratio(s)
        off = ~np.isclose(stated, s["compression_ratio"], rtol=_CR_RTOL, atol=0.0) & mask
        if np.any(off):
            raise ArchitectureError(
                f"{arch.path.name}: output.compression_ratio ({arch.compression_ratio.text}) disagrees with "
                f"reference_bits_per_frame / bits_per_frame at {_first_bad(off, overrides)}")


def check_operating(arch: Architecture, s: dict, overrides: dict, mask) -> None:
    """0 < frame_rate_hz <= max_frame_rate_hz (the message gives the maximum and the stage that sets it),
    0 < exposure_s <= frame_period_s, row_time_s (if stated) > 0; checked where the constraints hold."""
    rate, top = np.asarray(s["frame_rate_hz"], dtype=float), np.asarray(s["max_frame_rate_hz"], dtype=float)

    def first(bad, value):
        return float(np.ravel(np.broadcast_to(value, np.shape(bad)))[np.flatnonzero(np.ravel(bad))[0]]) \
            if np.ndim(bad) else float(value)

    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(rate) & (rate > 0)) & mask
        if np.any(bad):
            raise ArchitectureError(
                f"{arch.path.name}: frame_rate_hz is {first(bad, rate):g} at {_first_bad(bad, overrides)}; the "
                f"operating frame rate must be within (0, {first(bad, top):.6g}] Hz (the maximum, 1/frame_time_s)")
        too_fast = (rate > top * (1 + 1e-12)) & mask
        if np.any(too_fast):
            index = None if not np.ndim(too_fast) else int(np.flatnonzero(np.ravel(too_fast))[0])
            raise ArchitectureError(
                f"{arch.path.name}: frame_rate_hz {first(too_fast, rate):g} Hz exceeds the maximum "
                f"{first(too_fast, top):.6g} Hz at {_first_bad(too_fast, overrides)}, set by stage "
                f"{bounding_stage(arch, s, index)} (frame time {first(too_fast, s['frame_time_s']):.6g} s); "
                f"choose a frame rate within (0, {first(too_fast, top):.6g}] Hz")
        exposure, period = np.asarray(s["exposure_s"], dtype=float), np.asarray(s["frame_period_s"], dtype=float)
        bad = ~(np.isfinite(exposure) & (exposure > 0) & (exposure <= period * (1 + 1e-12))) & mask
        if np.any(bad):
            raise ArchitectureError(
                f"{arch.path.name}: exposure_s is {first(bad, exposure):g} s at {_first_bad(bad, overrides)}; it "
                f"must be within (0, {first(bad, period):g}] s (the frame period at "
                f"{first(bad, rate):g} Hz); lower the exposure or the frame rate")
        if "row_time_s" in s:
            row = np.asarray(s["row_time_s"], dtype=float)
            bad = ~(np.isfinite(row) & (row > 0)) & mask
            if np.any(bad):
                raise ArchitectureError(f"{arch.path.name}: row_time_s is {first(bad, row):g} s at "
                                        f"{_first_bad(bad, overrides)}; it must be finite and > 0")










def evaluate(arch: Architecture | str | Path, technology: str = "literature", overrides: dict | None = None,
             resolver: BudgetResolver | None = None, calibration_root: Path | None = None,
             point: OperatingPoint | None = None) -> Evaluation:
    """Account one architecture at one configuration (defaults from the file, ``overrides`` replace them),
    with calibrated budgets at ``point`` (default: the technology's nominal point)."""
    if not isinstance(arch, Architecture):
        arch = load_architecture(arch)
    overrides = dict(overrides or {})
    for key, value in overrides.items():
        if np.ndim(value):
            raise CircuitsimError(f"evaluate() takes one value per parameter ({key}); use sweep() for grids")
    resolver = resolver or BudgetResolver(technology, calibration_root, point=point)
    timing, timing_sources = resolver.timing_parameters(arch, overrides)
    overrides = {**timing, **overrides}
    s = evaluate_symbols(arch, overrides)
    check_timing_and_cr(arch, s, overrides, strict=True)
    budgets = resolve_budgets(arch, resolver, s)
    lines = build_lines(arch, budgets, s)
    check_lines(arch, lines, overrides)
    params = dict(arch.parameters, **{k: float(v) for k, v in overrides.items() if k not in OPERATING_KEYS})
    return Evaluation(arch, params, lines, s, resolver.technology, resolver.describe(),
                      resolver.point if resolver.uses_artifacts else None,
                      tuple(resolver.table.sources or (resolver.table.path,)), timing_sources)

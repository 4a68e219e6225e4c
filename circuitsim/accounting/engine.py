"""The accounting engine: architecture + budgets -> energy per frame / per second by component, latency and
frame rate (with the stage that bounds it), bits per frame / per second and compression ratio.

Equations (SI units throughout):

* line energy per frame      E_line = count * E_action                                   [J]
  (E_action of a converter at its resolution N = the component's resolution_bits, e.g. the SAR ADC's
  conversion: calibrated sar_adc_<N>b, else the literature formula of N; a grid over N gets one line per N)
* leakage line per frame     E_leak = instances * leakage_W * T_period                   [J]
* frame time                 T_frame = max over groups g of sum over stages s in g of t_s  [s]
  (stages in a group run one after another; groups run concurrently, e.g. array readout and link)
* frame rate                 f = timing.frame_rate_hz if given (must be <= 1 / T_frame), else 1 / T_frame  [Hz]
* energy per second          P = f * sum of E_line                                       [W = J/s]
* bandwidth                  B = f * bits_per_frame                                      [bit/s]
* compression ratio          CR = reference_bits_per_frame / bits_per_frame              [-]

The same code evaluates one configuration (floats) or a whole design-space grid (NumPy arrays).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from circuitsim.accounting.schema import (
    Architecture,
    ArchitectureError,
    parse_architecture,
)
from circuitsim.accounting.tables import Budget, BudgetResolver
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


@dataclass(frozen=True)
class Line:
    """One report line with its resolved budget."""

    component: str
    action: str
    budget: Budget
    count: object          # float or array: actions per frame (or J of leakage when is_leakage)
    is_leakage: bool = False


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
    """``{(block, table_action, bits): Budget}`` for every action the architecture uses at each resolution
    it takes in ``symbols`` (``bits`` None without ``resolution_bits``); errors name valid choices."""
    budgets = {}
    for comp in arch.components:
        check_resolution(arch, comp, symbols)
        for bits, _ in resolution_groups(comp, symbols):
            for action in comp.actions:
                key = (comp.block, action.table_action, bits)
                if key not in budgets:
                    budgets[key] = resolver.budget(comp.block, action.table_action, bits=bits,
                                                   where=f"{arch.path.name}: components.{comp.name}")
    return budgets


def check_parameters(arch: Architecture, overrides: dict) -> None:
    unknown = set(overrides) - set(arch.parameters)
    if unknown:
        raise ArchitectureError(f"{arch.name}: unknown parameter(s) {', '.join(sorted(unknown))}; "
                                f"valid parameters: {', '.join(sorted(arch.parameters))}")


def evaluate_symbols(arch: Architecture, overrides: dict | None = None) -> dict:
    """All symbols of the architecture (parameters, derived, output, timing), scalar or broadcast arrays.

    Adds ``valid`` (all constraints hold), ``stage_times`` ({stage: t_s}), ``group_times``,
    ``max_frame_rate_hz`` and ``compression_ratio``.
    """
    overrides = overrides or {}
    check_parameters(arch, overrides)
    s = dict(arch.parameters)
    s.update({k: (np.asarray(v, dtype=float) if np.ndim(v) else float(v)) for k, v in overrides.items()})
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
        s["frame_rate_hz"] = arch.frame_rate_hz(s) if arch.frame_rate_hz is not None else s["max_frame_rate_hz"]
        s["frame_period_s"] = np.divide(1.0, s["frame_rate_hz"])
    return s


def build_lines(arch: Architecture, budgets: dict, symbols: dict) -> list[Line]:
    """Counts per frame of every (component, action), plus leakage lines where a budget has leakage_W.

    On a grid over a converter's resolution each distinct N gets its own lines, counted where N holds."""
    lines = []
    for comp in arch.components:
        for bits, where in resolution_groups(comp, symbols):
            for action in comp.actions:
                budget = budgets[(comp.block, action.table_action, bits)]
                lines.append(Line(comp.name, action.label, budget, action.count(symbols) * where))
                if budget.leakage_or_zero_W and comp.instances is not None:
                    leak_J = comp.instances(symbols) * budget.leakage_or_zero_W * symbols["frame_period_s"] * where
                    lines.append(Line(comp.name, f"{action.label}.leakage", budget, leak_J, is_leakage=True))
    return lines


def line_energy_J(line: Line):
    """E_line = count * E_action [J] (a leakage line already holds joules)."""
    return line.count if line.is_leakage else line.count * line.budget.energy_J


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
    too_fast = (np.asarray(s["frame_rate_hz"]) > np.asarray(s["max_frame_rate_hz"]) * (1 + 1e-12)) & mask
    if np.any(too_fast):
        raise ArchitectureError(f"{arch.path.name}: timing.frame_rate_hz exceeds the maximum 1/frame_time_s at "
                                f"{_first_bad(too_fast, overrides)}")
    if arch.compression_ratio is not None:
        stated = arch.compression_ratio(s)
        off = ~np.isclose(stated, s["compression_ratio"], rtol=_CR_RTOL, atol=0.0) & mask
        if np.any(off):
            raise ArchitectureError(
                f"{arch.path.name}: output.compression_ratio ({arch.compression_ratio.text}) disagrees with "
                f"reference_bits_per_frame / bits_per_frame at {_first_bad(off, overrides)}")


def limiting_stage(arch: Architecture, s: dict) -> str:
    """'group/stage' bounding the frame time (the largest stage of the slowest group), scalar configs."""
    if arch.frame_rate_hz is not None and float(s["frame_rate_hz"]) < float(s["max_frame_rate_hz"]) * (1 - 1e-12):
        return "operating frame rate (timing.frame_rate_hz)"
    group = max(s["group_times"], key=lambda g: float(s["group_times"][g]))
    stages = [st for st in arch.stages if st.group == group]
    stage = max(stages, key=lambda st: float(s["stage_times"][st.name]))
    return f"{group}/{stage.name}"


@dataclass
class Evaluation:
    """One architecture at one configuration: per-line table and totals (SI units)."""

    arch: Architecture
    parameters: dict
    lines: list
    symbols: dict
    technology: str
    budget_description: str
    point: OperatingPoint | None = None

    @property
    def energy_per_frame_J(self) -> float:
        return float(sum(line_energy_J(l) for l in self.lines))

    @property
    def frame_rate_hz(self) -> float:
        return float(self.symbols["frame_rate_hz"])

    @property
    def energy_per_second_J(self) -> float:
        """P = f * E_frame [J/s = W]."""
        return self.energy_per_frame_J * self.frame_rate_hz

    @property
    def bits_per_frame(self) -> float:
        return float(self.symbols["bits_per_frame"])

    @property
    def compression_ratio(self) -> float:
        return float(self.symbols["compression_ratio"])

    def component_energy_J(self) -> dict:
        """{component: energy per frame [J]} in architecture order."""
        out = {name: 0.0 for name in self.arch.component_names()}
        for line in self.lines:
            out[line.component] += float(line_energy_J(line))
        return out

    def table(self):
        """pandas DataFrame: component, action, block, count, energy_per_action_J, energy_J, share, origin,
        source_kind, fallback_reason (empty when none), source."""
        import pandas as pd

        total = self.energy_per_frame_J
        rows = []
        for line in self.lines:
            energy = float(line_energy_J(line))
            rows.append({
                "component": line.component, "action": line.action, "block": line.budget.component,
                "count": float("nan") if line.is_leakage else float(line.count),
                "energy_per_action_J": float("nan") if line.is_leakage else line.budget.energy_J,
                "energy_J": energy, "share": energy / total if total else 0.0,
                "origin": line.budget.origin, "source_kind": line.budget.kind,
                "fallback_reason": line.budget.fallback_reason or "", "source": line.budget.source,
            })
        return pd.DataFrame(rows)

    def summary(self) -> dict:
        """The headline figures (the ``--json`` record), SI units in the keys."""
        s = self.symbols
        return {
            "energy_per_frame_J": self.energy_per_frame_J,
            "energy_per_second_J": self.energy_per_second_J,
            "power_W": self.energy_per_second_J,
            "frame_rate_hz": self.frame_rate_hz,
            "max_frame_rate_hz": float(s["max_frame_rate_hz"]),
            "frame_time_s": float(s["frame_time_s"]),
            "limiting_stage": limiting_stage(self.arch, s),
            "stage_times_s": {k: float(v) for k, v in s["stage_times"].items()},
            "bits_per_frame": self.bits_per_frame,
            "bits_per_second": self.bits_per_frame * self.frame_rate_hz,
            "reference_bits_per_frame": float(s["reference_bits_per_frame"]),
            "compression_ratio": self.compression_ratio,
            "components": self.component_energy_J(),
            "sources": {line.component + "/" + line.action: line.budget.origin for line in self.lines},
            "lines": [{"component": line.component, "action": line.action, "block": line.budget.component,
                       "energy_J": float(line_energy_J(line)), "origin": line.budget.origin,
                       "source_kind": line.budget.kind, "fallback_reason": line.budget.fallback_reason,
                       "source": line.budget.source} for line in self.lines],
            "technology": self.technology,
            "operating_point": None if self.point is None else self.point.as_dict(),
            "parameters": {k: float(v) for k, v in self.parameters.items()},
        }


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
    s = evaluate_symbols(arch, overrides)
    check_timing_and_cr(arch, s, overrides, strict=True)
    budgets = resolve_budgets(arch, resolver, s)
    lines = build_lines(arch, budgets, s)
    check_lines(arch, lines, overrides)
    params = dict(arch.parameters, **{k: float(v) for k, v in overrides.items()})
    return Evaluation(arch, params, lines, s, resolver.technology, resolver.describe(),
                      None if resolver.technology == "literature" else resolver.point)

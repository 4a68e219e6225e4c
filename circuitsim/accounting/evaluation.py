"""What an evaluation of an architecture holds: its report lines (dynamic, static and leakage terms, each
with the budget it was priced from), the totals, the stage that bounds the frame rate, and the table and
JSON record the reports print. :mod:`circuitsim.accounting.engine` builds it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from circuitsim.accounting.schema import Architecture
from circuitsim.accounting.tables import Budget, PowerBudget
from circuitsim.store import OperatingPoint

TERMS = ("dynamic", "static", "leakage")


@dataclass(frozen=True)
class Line:
    """One report line with its resolved budget: energy per frame = count * unit_J.

    dynamic: ``count`` actions per frame, ``unit_J`` J per action (supply-scaled); static / leakage:
    ``count`` instances, ``unit_J`` J per instance per frame = ``power_W`` (per instance, supply-scaled) *
    ``time_s`` (per instance per frame)."""

    component: str
    action: str
    budget: Budget | PowerBudget
    count: object          # float or array
    unit_J: object = None  # None: the budget's energy_J
    term: str = "dynamic"
    power_W: object = None
    time_s: object = None

    @property
    def is_leakage(self) -> bool:
        """True for the time-proportional lines (static or leakage)."""
        return self.term != "dynamic"

    @property
    def energy_per_unit_J(self):
        return self.budget.energy_J if self.unit_J is None else self.unit_J


def line_energy_J(line: Line):
    """E_line = count * unit energy [J] (J per action, or J per instance per frame for static / leakage)."""
    return line.count * line.energy_per_unit_J


def bounding_stage(arch: Architecture, s: dict, index: int | None = None) -> str:
    """'group/stage' bounding the frame time, i.e. the maximum frame rate (the largest stage of the slowest
    group), at one configuration or at point ``index`` of a grid."""
    def at(value):
        return float(value) if index is None or not np.ndim(value) else float(np.ravel(value)[index])

    group = max(s["group_times"], key=lambda g: at(s["group_times"][g]))
    stages = [st for st in arch.stages if st.group == group]
    stage = max(stages, key=lambda st: at(s["stage_times"][st.name]))
    return f"{group}/{stage.name}"


def limiting_stage(arch: Architecture, s: dict) -> str:
    """What sets the frame rate: the operating point when it runs below the maximum, else the bounding stage."""
    if float(s["frame_rate_hz"]) < float(s["max_frame_rate_hz"]) * (1 - 1e-12):
        return "operating frame rate (operating.frame_rate_hz or --set)"
    return bounding_stage(arch, s)


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
    #: Energy tables the budgets came from (default first, then a merged user table).
    energy_tables: tuple = ()
    #: {timing parameter: where its value came from} (the architecture's ``timing.from_blocks``).
    timing_sources: dict = field(default_factory=dict)

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

    def term_energy_J(self) -> dict:
        """{term: energy per frame [J]} over the three terms (dynamic, static, leakage)."""
        out = dict.fromkeys(TERMS, 0.0)
        for line in self.lines:
            out[line.term] += float(line_energy_J(line))
        return out

    def component_terms_J(self) -> dict:
        """{component: {dynamic, static, leakage: energy per frame [J]}} in architecture order."""
        out = {name: dict.fromkeys(TERMS, 0.0) for name in self.arch.component_names()}
        for line in self.lines:
            out[line.component][line.term] += float(line_energy_J(line))
        return out

    def table(self):
        """pandas DataFrame: component, action, term, block, count, energy_per_action_J (J per action, or per
        instance per frame for static / leakage), energy_J (per frame), power_W and time_s (static /
        leakage, per instance), share, origin, source_kind, fallback_reason (empty when none), source."""
        import pandas as pd

        total = self.energy_per_frame_J
        rows = []
        for line in self.lines:
            energy = float(line_energy_J(line))
            rows.append({
                "component": line.component, "action": line.action, "term": line.term,
                "block": line.budget.component, "count": float(line.count),
                "energy_per_action_J": float(line.energy_per_unit_J), "energy_J": energy,
                "power_W": float("nan") if line.power_W is None else float(line.power_W),
                "time_s": float("nan") if line.time_s is None else float(line.time_s),
                "share": energy / total if total else 0.0,
                "origin": line.budget.origin, "source_kind": line.budget.kind,
                "fallback_reason": line.budget.fallback_reason or "", "source": line.budget.source,
            })
        return pd.DataFrame(rows)

    def summary(self) -> dict:
        """The headline figures (the ``--json`` record), SI units in the keys."""
        s = self.symbols
        terms = self.term_energy_J()
        return {
            "energy_per_frame_J": self.energy_per_frame_J,
            "dynamic_energy_per_frame_J": terms["dynamic"],
            "static_energy_per_frame_J": terms["static"],
            "leakage_energy_per_frame_J": terms["leakage"],
            "energy_per_second_J": self.energy_per_second_J,
            "power_W": self.energy_per_second_J,
            "frame_rate_hz": self.frame_rate_hz,
            "max_frame_rate_hz": float(s["max_frame_rate_hz"]),
            "max_frame_rate_limited_by": bounding_stage(self.arch, s),
            "frame_period_s": float(s["frame_period_s"]),
            "exposure_s": float(s["exposure_s"]),
            **({"row_time_s": float(s["row_time_s"])} if "row_time_s" in s else {}),
            "frame_time_s": float(s["frame_time_s"]),
            "limiting_stage": limiting_stage(self.arch, s),
            "stage_times_s": {k: float(v) for k, v in s["stage_times"].items()},
            "bits_per_frame": self.bits_per_frame,
            "bits_per_second": self.bits_per_frame * self.frame_rate_hz,
            "reference_bits_per_frame": float(s["reference_bits_per_frame"]),
            "compression_ratio": self.compression_ratio,
            "components": self.component_energy_J(),
            "component_terms": self.component_terms_J(),
            "sources": {line.component + "/" + line.action: line.budget.origin for line in self.lines},
            "lines": [_line_record(line) for line in self.lines],
            "technology": self.technology,
            "operating_point": None if self.point is None else self.point.as_dict(),
            "parameters": {k: float(v) for k, v in self.parameters.items()},
            "timing_sources": dict(self.timing_sources),
        }


def _line_record(line: Line) -> dict:
    """One ``lines`` entry of the JSON: energy_J per action (or per instance per frame for static /
    leakage, with power_W and time_s per instance), energy_per_frame_J = count * energy_J."""
    record = {"component": line.component, "action": line.action, "term": line.term,
              "block": line.budget.component, "count": float(line.count),
              "energy_J": float(line.energy_per_unit_J), "energy_per_frame_J": float(line_energy_J(line))}
    if line.term != "dynamic":
        record.update(power_W=float(line.power_W), time_s=float(line.time_s))
    record.update(origin=line.budget.origin, source_kind=line.budget.kind,
                  fallback_reason=line.budget.fallback_reason, source=line.budget.source)
    return record

"""System accounting (SPEC 1.2, 5): energy tables and architectures as YAML data -> energy per frame and per
second by component, latency / frame rate, bandwidth and compression ratio, for one configuration or a
vectorised design-space sweep. Imports only NumPy, pandas (lazily) and PyYAML: no matplotlib here."""

from circuitsim.accounting.engine import (
    Evaluation,
    architectures_dir,
    evaluate,
    list_architectures,
    load_architecture,
)
from circuitsim.accounting.resolver import BudgetResolver
from circuitsim.accounting.schema import Architecture, ArchitectureError
from circuitsim.accounting.tables import Budget, EnergyTableError, load_energy_table

__all__ = [
    "Architecture", "ArchitectureError", "Budget", "BudgetResolver", "EnergyTableError", "Evaluation",
    "architectures_dir", "evaluate", "list_architectures", "load_architecture", "load_energy_table",
]

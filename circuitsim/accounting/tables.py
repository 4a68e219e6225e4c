"""Energy tables as data, and the budget of one (component, action): from a calibration artifact when one
exists for the technology, else from the literature table. Every budget says where it came from.

A table (``circuitsim/data/energy_literature.yaml``) maps component -> actions, each with ``energy_J``
(per action), ``latency_s`` (per action), ``leakage_W`` (per instance) and a ``source``. A calibration
artifact ``calibration/<technology>/<corner>_<temp>C/<component>/energy.json`` holds
``{"component", "actions": [{"name", "energy_J", "latency_s", "note"}]}``; its action of the same name wins.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import yaml

from circuitsim.errors import ArtifactError, CircuitsimError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
LITERATURE_TABLE = DATA_DIR / "energy_literature.yaml"
TABLE_SCHEMA = "circuitsim.energy_table/1"
SOURCE_KINDS = ("published", "derived", "estimate")
LITERATURE = "literature"
_ACTION_KEYS = {"name", "energy_J", "latency_s", "leakage_W", "source"}


class EnergyTableError(CircuitsimError):
    """An energy table that does not follow the schema, or a component/action that is not in it."""


@dataclass(frozen=True)
class Budget:
    """Energy and latency of one action of one component, with its provenance.

    ``origin`` is ``"literature"`` or ``"calibrated"``; ``kind`` is the literature entry's
    ``published``/``derived``/``estimate`` or ``calibrated``; ``source`` is the citation, derivation or
    artifact path with its content hash.
    """

    component: str
    action: str
    energy_J: float
    latency_s: float | None
    leakage_W: float | None
    origin: str
    kind: str
    source: str

    @property
    def leakage_or_zero_W(self) -> float:
        return self.leakage_W or 0.0


@dataclass(frozen=True)
class EnergyTable:
    """A parsed energy table: ``budgets[component][action] -> Budget``."""

    technology: str
    path: Path
    budgets: dict

    def components(self) -> list[str]:
        return sorted(self.budgets)

    def budget(self, component: str, action: str, where: str = "") -> Budget:
        """The table's budget, or an error naming the valid components/actions."""
        prefix = f"{where}: " if where else ""
        if component not in self.budgets:
            raise EnergyTableError(f"{prefix}unknown component {component!r} (energy table {self.path.name}); "
                                   f"valid components: {', '.join(self.components())}")
        actions = self.budgets[component]
        if action not in actions:
            raise EnergyTableError(f"{prefix}component {component!r} has no action {action!r} in {self.path.name}; "
                                   f"valid actions: {', '.join(sorted(actions))}")
        return actions[action]


def _optional_float(value, where: str, key: str, minimum: float = 0.0):
    if value is None:
        return None
    if isinstance(value, str):  # PyYAML (YAML 1.1) reads 1.0e6 without an exponent sign as a string
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EnergyTableError(f"{where}: {key} must be a number in SI units or null, got {value!r}")
    if value < minimum:
        raise EnergyTableError(f"{where}: {key} must be >= {minimum:g}, got {value!r}")
    return float(value)


def _source_text(source, where: str) -> tuple[str, str]:
    """(kind, one-line text) of a literature entry's ``source`` mapping."""
    if not isinstance(source, dict) or "kind" not in source:
        raise EnergyTableError(f"{where}: source must be a mapping with 'kind' ({', '.join(SOURCE_KINDS)}) "
                               "and a 'citation' and/or 'derivation'")
    kind = source["kind"]
    if kind not in SOURCE_KINDS:
        raise EnergyTableError(f"{where}: source kind {kind!r} is not one of {', '.join(SOURCE_KINDS)}")
    if kind in ("published", "derived") and not source.get("citation"):
        raise EnergyTableError(f"{where}: a {kind} figure needs a 'citation' (author, title, venue, year)")
    if kind in ("derived", "estimate") and not source.get("derivation"):
        raise EnergyTableError(f"{where}: a {kind} figure needs a 'derivation' saying how it was computed")
    parts = [source.get("citation"), source.get("derivation"), source.get("note")]
    return kind, "; ".join(p for p in parts if p)


def parse_table(data: dict, path: Path) -> EnergyTable:
    """Validate a loaded energy-table YAML mapping and build the :class:`EnergyTable`."""
    name = path.name
    if not isinstance(data, dict) or data.get("schema") != TABLE_SCHEMA:
        raise EnergyTableError(f"{name}: not an energy table (expected 'schema: {TABLE_SCHEMA}')")
    components = data.get("components")
    if not isinstance(components, dict) or not components:
        raise EnergyTableError(f"{name}: 'components' must map component names to their actions")
    budgets = {}
    for component, body in components.items():
        actions = (body or {}).get("actions")
        if not isinstance(actions, list) or not actions:
            raise EnergyTableError(f"{name}: component {component!r} needs a non-empty 'actions' list")
        budgets[component] = {}
        for entry in actions:
            where = f"{name}: {component}.{entry.get('name', '?') if isinstance(entry, dict) else '?'}"
            if not isinstance(entry, dict) or "name" not in entry or "energy_J" not in entry:
                raise EnergyTableError(f"{where}: each action needs 'name' and 'energy_J' (J per action)")
            unknown = set(entry) - _ACTION_KEYS
            if unknown:
                raise EnergyTableError(f"{where}: unknown key(s) {sorted(unknown)}; valid keys: "
                                       f"{', '.join(sorted(_ACTION_KEYS))} (units in the key names)")
            kind, text = _source_text(entry.get("source"), where)
            energy = _optional_float(entry["energy_J"], where, "energy_J")
            if energy is None:
                raise EnergyTableError(f"{where}: energy_J must be a number (J per action)")
            budgets[component][entry["name"]] = Budget(
                component, entry["name"], energy, _optional_float(entry.get("latency_s"), where, "latency_s"),
                _optional_float(entry.get("leakage_W"), where, "leakage_W"), LITERATURE, kind, text)
    return EnergyTable(str(data.get("technology", LITERATURE)), path, budgets)


@lru_cache(maxsize=8)
def load_energy_table(path: str | Path = LITERATURE_TABLE) -> EnergyTable:
    """Load and validate an energy table YAML file (the shipped literature table by default)."""
    path = Path(path)
    if not path.is_file():
        raise EnergyTableError(f"energy table {path} does not exist")
    with open(path) as fh:
        return parse_table(yaml.safe_load(fh), path)


def default_calibration_root() -> Path:
    from circuitsim.config import project_root

    return project_root() / "calibration"


class BudgetResolver:
    """Pick each (component, action) budget: calibrated for ``technology`` when its artifact has that
    action, else the literature table. ``technology="literature"`` never looks at artifacts.

    The artifact looked at is ``<calibration_root>/<technology>/<corner>_<temp_c>C/<component>/``; it is
    opened with :func:`circuitsim.sweep.artifacts.load_artifact`, which checks its content hash.
    """

    def __init__(self, technology: str = LITERATURE, calibration_root: Path | None = None,
                 corner: str = "tt", temp_c: float = 27.0, table: EnergyTable | None = None):
        self.technology = technology
        self.calibration_root = Path(calibration_root) if calibration_root else default_calibration_root()
        self.corner = corner
        self.temp_c = float(temp_c)
        self.table = table or load_energy_table()
        self._calibrated: dict[str, dict | None] = {}
        if technology != LITERATURE:
            self._check_technology()

    def _check_technology(self) -> None:
        from circuitsim.technology import shipped_technologies

        names = shipped_technologies()
        if self.technology not in names and not (self.calibration_root / self.technology).is_dir():
            raise CircuitsimError(f"unknown technology {self.technology!r}; valid choices: "
                                  f"{', '.join([LITERATURE, *names])}")

    def describe(self) -> str:
        if self.technology == LITERATURE:
            return f"literature table ({self.table.path.name})"
        return (f"{self.technology} calibration artifacts at {self.corner} {self.temp_c:g} C under "
                f"{self.calibration_root}, literature table ({self.table.path.name}) elsewhere")

    def _artifact_actions(self, component: str) -> dict | None:
        """``{action: (record, artifact_path, sha256)}`` of the component's artifact, or None if absent."""
        if component in self._calibrated:
            return self._calibrated[component]
        from circuitsim.calibration.runner import ENERGY_FILE, artifact_dir
        from circuitsim.sweep.artifacts import load_artifact

        directory = artifact_dir(self.calibration_root, self.technology, self.corner, self.temp_c, component)
        found = None
        if (directory / ENERGY_FILE).is_file():
            artifact = load_artifact(directory)
            table = artifact.table(ENERGY_FILE)
            if table.get("component", component) != component:
                raise ArtifactError(f"{directory / ENERGY_FILE} is for component {table.get('component')!r}, "
                                    f"not {component!r}")
            sha = artifact.provenance.get("content_sha256", "")
            found = {rec["name"]: (rec, directory, sha) for rec in table.get("actions", [])}
        self._calibrated[component] = found
        return found

    def budget(self, component: str, action: str, where: str = "") -> Budget:
        """Calibrated budget if the artifact exists and has ``action``; the literature entry otherwise."""
        literature = self.table.budget(component, action, where)
        if self.technology == LITERATURE:
            return literature
        actions = self._artifact_actions(component)
        if not actions:
            return literature
        if action not in actions:
            return replace(literature, source=f"{literature.source} [the {self.technology} artifact of "
                           f"{component!r} has no {action!r}, only: {', '.join(sorted(actions))}]")
        record, directory, sha = actions[action]
        try:
            root = directory.relative_to(self.calibration_root.parent)
        except ValueError:
            root = directory
        note = f"; {record['note']}" if record.get("note") else ""
        return Budget(component, action, float(record["energy_J"]),
                      None if record.get("latency_s") is None else float(record["latency_s"]),
                      literature.leakage_W, "calibrated", "calibrated",
                      f"artifact {root} sha256:{sha[:16]}{note}")

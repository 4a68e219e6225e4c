"""LUT export to training code (SPEC section 1.3): one portable ``.npz`` per export holding, for each block,
its tables on grids of any dimension (mean and, where the block has one, σ on the same grid) and its scalars,
with the metadata as embedded JSON. What each block exports is listed in :mod:`circuitsim.export.tables`.

File layout (format ``circuitsim-lut``, version :data:`FORMAT_VERSION`)::

    <block>/<table>/axis<i>   the table's i-th grid (SI unit and kind in the metadata), increasing
    <block>/<table>/mean      mean output on the grid (hard mode: SPICE nominal at the exported corner)
    <block>/<table>/sigma     σ on the grid where the table has one (its kind in the metadata: per-instance
                              mismatch from Monte Carlo at the MC corner, or temporal)
    __metadata__              JSON: format, version, circuitsim version, per block: technology, PDK version,
                              corner, temperature, seed, Monte Carlo samples, artifact content hash, the
                              tables (axes: name, unit, kind, range; unit; description) and the scalars;
                              the arrays' SHA-256 and the metadata's own

Interpolation is multilinear on ``linear`` axes and holds the end values outside the grid (``numpy.interp``'s
rule in 1-D); ``index`` axes (a weight word, a code edge) take integer positions on the grid and are not
interpolated. ``strict=True`` refuses inputs outside the calibrated range instead of holding the ends.
``read_lut_file(path, block)`` returns the block's primary table (the 1-D transfer of the buffers, S/H,
CDS and the pixel's source follower; the SCM's MAC over v_in × word; ...).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from circuitsim import __version__
from circuitsim.errors import ArtifactError, InputRangeError
from circuitsim.store import (
    NOMINAL,
    ArtifactStore,
    OperatingPoint,
    atomic_write_bytes,
    npz_bytes,
    run_date,
)

FORMAT = "circuitsim-lut"
#: 2: the metadata carries ``metadata_sha256``, its own hash (version 1 files had none and are refused).
#: 3: every block holds named tables on grids of any dimension and scalars (version 2 held one 1-D transfer
#: per block; such files are refused with the command that writes them again).
FORMAT_VERSION = 3
METADATA_KEY = "__metadata__"


def _metadata_sha256(metadata: dict) -> str:
    """SHA-256 of the metadata's canonical JSON without its own ``metadata_sha256``."""
    body = {k: v for k, v in metadata.items() if k != "metadata_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _arrays_sha256(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(arrays[name], dtype=np.float64).tobytes())
    return digest.hexdigest()


def _uniform(values: np.ndarray) -> bool:
    d = np.diff(values)
    return bool(np.allclose(d, d[0], rtol=1e-9, atol=0.0))


def _table_meta(table) -> dict:
    return {
        "axes": [{"name": a.name, "unit": a.unit, "kind": a.kind, "min": float(a.values[0]),
                  "max": float(a.values[-1]), "points": int(a.values.size), "uniform": _uniform(a.values)}
                 for a in table.axes],
        "unit": table.unit,
        "description": table.description,
        "sigma": table.sigma_kind if table.sigma is not None else None,
    }


def export_luts(blocks: list[str], out_path: Path, *, point: OperatingPoint = NOMINAL,
                store: ArtifactStore | None = None, progress: bool = False) -> dict:
    """Write the calibrated tables of ``blocks`` (registered names; the ``sar`` group expands) at ``point``
    to ``out_path`` (atomically). Returns the metadata. A block that cannot be exported is refused by name
    (:class:`~circuitsim.errors.ArtifactError` / :class:`~circuitsim.errors.UnknownBlockError`).
    ``progress``: a progress bar (:func:`circuitsim.progress.block_bar`) while several blocks are read."""
    from circuitsim.blocks import expand_names, get_spec
    from circuitsim.export import tables as tables_mod
    from circuitsim.progress import block_bar

    store = store or ArtifactStore()
    blocks = expand_names(blocks)
    if not blocks:
        raise ArtifactError("no blocks to export: name one or more blocks, or use --all")
    arrays, blocks_meta = {}, {}
    for block in block_bar(blocks, "exporting", progress and len(blocks) > 1):
        spec = get_spec(block)
        built = tables_mod.build(block, point, store)
        prov = store.open(block, point).provenance
        for table in built.tables:
            for i, axis in enumerate(table.axes):
                arrays[f"{block}/{table.name}/axis{i}"] = axis.values
            arrays[f"{block}/{table.name}/mean"] = table.mean
            if table.sigma is not None:
                arrays[f"{block}/{table.name}/sigma"] = table.sigma
        primary = next(t for t in built.tables if t.name == built.primary)
        first = primary.axes[0]
        blocks_meta[block] = {
            "summary": spec.summary,
            "primary_table": built.primary,
            "tables": {t.name: _table_meta(t) for t in built.tables},
            "scalars": built.scalars,
            "notes": built.notes,
            # the primary table's first axis, as version 2 described its one transfer
            "input": {"name": first.name, "unit": first.unit},
            "output": {"unit": primary.unit},
            "grid": {"min": float(first.values[0]), "max": float(first.values[-1]), "points": int(first.values.size)},
            "interpolation": "multilinear on linear axes, exact on index axes; end values held outside the grid",
            "technology": prov["technology"],
            "pdk": prov["pdk"],
            "pdk_version": prov["pdk_version"],
            "corner": prov["corner"],
            "temperature_C": prov["temperature_C"],
            "seed": prov["seed"],
            "mc_samples": prov.get("mc_fit_samples", prov["mc_samples"]),
            "sigma_source": prov.get("sigma_source", ""),
            "output_bits": spec.output_bits,
            "full_scale_V": list(spec.full_scale_v),
            "artifact_content_sha256": prov["content_sha256"],
        }
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION, "circuitsim_version": __version__,
                "date": run_date(), "point": point.as_dict(), "blocks": blocks_meta,
                "arrays_sha256": _arrays_sha256(arrays)}
    metadata["metadata_sha256"] = _metadata_sha256(metadata)
    payload = dict(arrays)
    payload[METADATA_KEY] = np.array(json.dumps(metadata, sort_keys=True))
    atomic_write_bytes(Path(out_path), npz_bytes(payload))
    return metadata


def export_all(out_path: Path, *, point: OperatingPoint = NOMINAL, store: ArtifactStore | None = None) -> dict:
    """Every registered block at ``point`` (``circuitsim export --all``)."""
    from circuitsim.blocks import block_names

    return export_luts(block_names(), out_path, point=point, store=store)


def _corner_index(x: np.ndarray, grid: np.ndarray, kind: str):
    """(lower index, fraction) of each value on one axis: end values held (linear), exact (index)."""
    n = grid.size
    if kind == "index":
        i = np.searchsorted(grid, x)
        return np.clip(i, 0, n - 1), np.zeros(x.shape)
    xc = np.clip(x, grid[0], grid[-1])
    i = np.clip(np.searchsorted(grid, xc, side="right") - 1, 0, n - 2)
    return i, (xc - grid[i]) / (grid[i + 1] - grid[i])


def _multilinear(values: np.ndarray, axes, coords) -> np.ndarray:
    """Multilinear interpolation of ``values`` on the grids ``axes`` (kind per axis) at ``coords``."""
    parts = [_corner_index(c, a, kind) for c, (a, kind) in zip(coords, axes)]
    out = np.zeros(np.broadcast(*coords).shape)
    d = len(parts)
    for corner in range(2 ** d):
        weight, index = 1.0, []
        for k, (i, f) in enumerate(parts):
            up = (corner >> k) & 1
            if up and axes[k][1] == "index":
                weight = None
                break
            weight = weight * (f if up else 1.0 - f)
            index.append(np.minimum(i + up, axes[k][0].size - 1))
        if weight is None:
            continue
        out = out + weight * values[tuple(index)]
    return out


@dataclass(frozen=True)
class LutTable:
    """One exported table of a block: its grids ``axes``, ``mean_values`` and ``sigma_values`` (None when
    the table has no σ) on them, SI units; ``metadata`` is the block's metadata (corner, σ source, ...) and
    ``table`` the table's own (axes with names, units and kinds; unit; description).

    A 1-D table reads as before: ``x`` is its grid and ``mean(x)`` is ``numpy.interp``."""

    block: str
    x: np.ndarray
    mean_values: np.ndarray
    sigma_values: np.ndarray | None
    metadata: dict
    name: str = "transfer"
    axes: tuple = ()
    table: dict | None = None

    def __post_init__(self):
        if not self.axes:
            object.__setattr__(self, "axes", (np.asarray(self.x),))
        if self.table is None:
            object.__setattr__(self, "table", {"axes": [{"name": self.metadata.get("input", {}).get("name", "x"),
                                                         "unit": self.metadata.get("input", {}).get("unit", ""),
                                                         "kind": "linear"}]})

    @property
    def ndim(self) -> int:
        return len(self.axes)

    @property
    def axis_names(self) -> list[str]:
        return [a["name"] for a in self.table["axes"]]

    def _coords(self, coords, strict: bool) -> list[np.ndarray]:
        if len(coords) != self.ndim:
            raise InputRangeError(f"{self.block}/{self.name}: needs {self.ndim} coordinates "
                                  f"({', '.join(self.axis_names)}), got {len(coords)}")
        out = []
        for value, grid, info in zip(coords, self.axes, self.table["axes"]):
            value = np.asarray(value, dtype=float)
            unit = info.get("unit", "")
            if info.get("kind") == "index":
                if value.size and not np.all(np.isin(value, grid)):
                    bad = value[~np.isin(value, grid)].ravel()[0]
                    raise InputRangeError(f"{self.block}/{self.name}: {info['name']} = {bad:g} is not on its "
                                          f"grid (integers {grid[0]:g}..{grid[-1]:g})")
            elif strict and value.size and (np.nanmin(value) < grid[0] or np.nanmax(value) > grid[-1]):
                raise InputRangeError(
                    f"{self.block}: input outside the calibrated range [{grid[0]:g}, {grid[-1]:g}] {unit}"
                )
            out.append(value)
        return out

    def _eval(self, values, coords, strict):
        coords = self._coords(coords, strict)
        if self.ndim == 1 and self.table["axes"][0].get("kind", "linear") == "linear":
            return np.interp(coords[0], self.axes[0], values)
        kinds = [info.get("kind", "linear") for info in self.table["axes"]]
        return _multilinear(values, list(zip(self.axes, kinds)), coords)

    def mean(self, *coords, strict: bool = False) -> np.ndarray:
        """Mean output at ``coords`` (one array per axis, broadcast together)."""
        return self._eval(self.mean_values, coords, strict)

    def sigma(self, *coords, strict: bool = False) -> np.ndarray:
        """σ at ``coords``."""
        if self.sigma_values is None:
            raise ArtifactError(f"{self.block}/{self.name} has no sigma (it is a deterministic table)")
        return self._eval(self.sigma_values, coords, strict)

    def sample(self, *coords, rng: np.random.Generator | None = None, strict: bool = False) -> np.ndarray:
        """mean + sigma·z with z ~ N(0, 1) drawn from ``rng`` (1-D tables also take ``sample(x, rng)``)."""
        if rng is None and coords and isinstance(coords[-1], np.random.Generator):
            coords, rng = coords[:-1], coords[-1]
        if rng is None:
            raise ValueError("sample needs a numpy.random.Generator (rng=np.random.default_rng(seed))")
        m, s = self.mean(*coords, strict=strict), self.sigma(*coords, strict=strict)
        return m + s * rng.standard_normal(np.shape(m))


@dataclass(frozen=True)
class BlockLuts:
    """Every table and scalar one block exported (SI units)."""

    block: str
    tables: dict
    scalars: dict
    metadata: dict

    def scalar(self, name: str) -> float:
        try:
            return float(self.scalars[name]["value"])
        except KeyError:
            raise ArtifactError(f"{self.block} exported no scalar {name!r}; it has "
                                f"{', '.join(self.scalars) or 'none'}") from None

    def table(self, name: str) -> LutTable:
        try:
            return self.tables[name]
        except KeyError:
            raise ArtifactError(f"{self.block} exported no table {name!r}; it has {', '.join(self.tables)}") from None


def read_metadata(path: Path) -> tuple[dict, dict]:
    """(metadata, arrays) of an export file, with format, version and integrity checks."""
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"LUT file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except Exception as exc:  # a truncated or foreign file: zipfile, ValueError, OSError ...
        raise ArtifactError(f"{path} is not a readable circuitsim LUT file ({type(exc).__name__}: {exc})") from None
    if METADATA_KEY not in arrays:
        raise ArtifactError(f"{path} is not a circuitsim LUT file (no {METADATA_KEY})")
    try:
        metadata = json.loads(str(arrays.pop(METADATA_KEY)))
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path}: corrupted metadata ({exc})") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        fmt = metadata.get("format") if isinstance(metadata, dict) else None
        raise ArtifactError(f"{path} is not a circuitsim LUT file (format {fmt!r})")
    version = metadata.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ArtifactError(
            f"{path} has LUT format version {version}, newer than this circuitsim ({__version__}) reads "
            f"(up to {FORMAT_VERSION}); upgrade circuitsim"
        )
    if version < FORMAT_VERSION:
        why = ("whose metadata is not hash-checked" if version < 2 else
               "which holds one 1-D transfer per block (version 3 holds N-D tables and scalars)")
        raise ArtifactError(f"{path} has LUT format version {version}, {why}; export it again with this "
                            f"circuitsim (circuitsim export BLOCK... --out FILE.npz)")
    if metadata.get("metadata_sha256") != _metadata_sha256(metadata):
        raise ArtifactError(f"{path}: the metadata does not match its recorded hash (edited or corrupted); "
                            "export it again")
    if _arrays_sha256(arrays) != metadata.get("arrays_sha256"):
        raise ArtifactError(f"{path}: the arrays do not match the hash in its metadata (corrupted file)")
    return metadata, arrays


def _choose_block(path, metadata, block):
    blocks = list(metadata["blocks"])
    if block is None:
        if len(blocks) != 1:
            raise ArtifactError(f"{path} holds {', '.join(blocks)}; name one with block=")
        block = blocks[0]
    if block not in metadata["blocks"]:
        raise ArtifactError(f"{path} holds no block {block!r}; it holds {', '.join(blocks)}")
    return block


def _table(block: str, name: str, info: dict, block_meta: dict, arrays: dict) -> LutTable:
    axes = tuple(arrays[f"{block}/{name}/axis{i}"] for i in range(len(info["axes"])))
    sigma = arrays.get(f"{block}/{name}/sigma")
    return LutTable(block, axes[0], arrays[f"{block}/{name}/mean"], sigma, block_meta, name, axes, info)


def read_block(path: Path, block: str | None = None) -> BlockLuts:
    """Every table and scalar of one block from an export file (``block`` may be omitted when the file
    holds one)."""
    metadata, arrays = read_metadata(path)
    block = _choose_block(path, metadata, block)
    meta = metadata["blocks"][block]
    tables = {name: _table(block, name, info, meta, arrays) for name, info in meta["tables"].items()}
    return BlockLuts(block, tables, meta["scalars"], meta)


def read_lut_file(path: Path, block: str | None = None, table: str | None = None) -> LutTable:
    """One table of one block from an export file: ``table`` (default the block's primary table)."""
    luts = read_block(path, block)
    return luts.table(table or luts.metadata["primary_table"])


def read_all(path: Path) -> dict[str, BlockLuts]:
    """Every block of an export file (one integrity check)."""
    metadata, arrays = read_metadata(path)
    out = {}
    for block, meta in metadata["blocks"].items():
        tables = {name: _table(block, name, info, meta, arrays) for name, info in meta["tables"].items()}
        out[block] = BlockLuts(block, tables, meta["scalars"], meta)
    return out

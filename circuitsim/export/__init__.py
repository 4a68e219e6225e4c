"""LUT export to training code (SPEC section 1.3): one portable ``.npz`` per export, holding for each block
its input grid, mean transfer and Monte Carlo σ on that grid, with the metadata as embedded JSON.

File layout (format ``circuitsim-lut``, version :data:`FORMAT_VERSION`)::

    <block>/x       input grid (SI unit in metadata, e.g. V), increasing
    <block>/mean    mean output at each grid point (SPICE nominal at the exported corner)
    <block>/sigma   instance-to-instance σ at each grid point (Monte Carlo at the MC corner)
    __metadata__    JSON: format, version, circuitsim version, per block: technology, PDK version, corner,
                    temperature, units, seed, Monte Carlo samples, artifact content hash; arrays' SHA-256

Interpolation is linear on the grid and holds the end values outside it (``numpy.interp``'s rule);
``strict=True`` refuses inputs outside the calibrated range instead.
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
    MODEL_FILE,
    NOMINAL,
    ArtifactStore,
    OperatingPoint,
    atomic_write_bytes,
    npz_bytes,
    run_date,
)

FORMAT = "circuitsim-lut"
#: 2: the metadata carries ``metadata_sha256``, its own hash (version 1 files had none and are refused).
FORMAT_VERSION = 2
METADATA_KEY = "__metadata__"


def transfer_table(model_arrays: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, mean, sigma) of a block's calibrated 1-D transfer.

    Convention of the block models: ``lut_x_V`` and ``lut_sigma_V`` plus either ``lut_out_V`` (the output)
    or ``lut_error_V`` (output − input).
    """
    if "lut_x_V" not in model_arrays or "lut_sigma_V" not in model_arrays:
        raise ArtifactError("this block has no 1-D transfer LUT (lut_x_V, lut_sigma_V) to export")
    x = np.asarray(model_arrays["lut_x_V"], float)
    key = "lut_out_V" if "lut_out_V" in model_arrays else "lut_error_V" if "lut_error_V" in model_arrays else None
    if key is None:
        raise ArtifactError("this block's model has neither lut_out_V nor lut_error_V")
    table = np.asarray(model_arrays[key], float)
    sigma = np.asarray(model_arrays["lut_sigma_V"], float)
    if table.shape != x.shape or sigma.shape != x.shape:
        raise ArtifactError(
            f"this block's LUT is not a 1-D transfer ({key} {table.shape}, sigma {sigma.shape} on a grid of "
            f"{x.size} points, e.g. input x weight word); the export format holds 1-D transfers only"
        )
    return x, (table if key == "lut_out_V" else x + table), sigma


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


def export_luts(blocks: list[str], out_path: Path, *, point: OperatingPoint = NOMINAL,
                store: ArtifactStore | None = None) -> dict:
    """Write the calibrated LUTs of ``blocks`` at ``point`` to ``out_path`` (atomically).

    The σ comes from the Monte Carlo corner (recorded per block as ``sigma_source``). Returns the metadata.
    """
    from circuitsim.blocks import get_spec

    store = store or ArtifactStore()
    arrays, blocks_meta = {}, {}
    for block in blocks:
        spec = get_spec(block)
        artifact = store.open(block, point)
        x, mean, sigma = transfer_table(artifact.arrays(MODEL_FILE))
        arrays.update({f"{block}/x": x, f"{block}/mean": mean, f"{block}/sigma": sigma})
        prov = artifact.provenance
        blocks_meta[block] = {
            "summary": spec.summary,
            "input": {"name": spec.input_label, "unit": "V"},
            "output": {"unit": "V"},
            "grid": {"min": float(x[0]), "max": float(x[-1]), "points": int(x.size)},
            "interpolation": "linear; end values held outside the grid",
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
                "date": run_date(), "blocks": blocks_meta, "arrays_sha256": _arrays_sha256(arrays)}
    metadata["metadata_sha256"] = _metadata_sha256(metadata)
    payload = dict(arrays)
    payload[METADATA_KEY] = np.array(json.dumps(metadata, sort_keys=True))
    atomic_write_bytes(Path(out_path), npz_bytes(payload))
    return metadata


@dataclass(frozen=True)
class LutTable:
    """One block's exported transfer: grid ``x``, ``mean_values`` and ``sigma_values`` on it (SI units)."""

    block: str
    x: np.ndarray
    mean_values: np.ndarray
    sigma_values: np.ndarray
    metadata: dict

    def _check(self, x, strict: bool) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if strict and x.size and (np.nanmin(x) < self.x[0] or np.nanmax(x) > self.x[-1]):
            raise InputRangeError(
                f"{self.block}: input outside the calibrated range [{self.x[0]:g}, {self.x[-1]:g}] "
                f"{self.metadata['input']['unit']}"
            )
        return x

    def mean(self, x, strict: bool = False) -> np.ndarray:
        """Mean output at ``x`` (linear interpolation; end values held outside the grid)."""
        return np.interp(self._check(x, strict), self.x, self.mean_values)

    def sigma(self, x, strict: bool = False) -> np.ndarray:
        """Instance-to-instance σ at ``x``."""
        return np.interp(self._check(x, strict), self.x, self.sigma_values)

    def sample(self, x, rng: np.random.Generator, strict: bool = False) -> np.ndarray:
        """mean(x) + sigma(x)·z with z ~ N(0, 1) drawn from ``rng``."""
        x = self._check(x, strict)
        return self.mean(x) + self.sigma(x) * rng.standard_normal(np.shape(x))


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
    if metadata.get("format") != FORMAT:
        raise ArtifactError(f"{path} is not a circuitsim LUT file (format {metadata.get('format')!r})")
    version = metadata.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ArtifactError(
            f"{path} has LUT format version {version}, newer than this circuitsim ({__version__}) reads "
            f"(up to {FORMAT_VERSION}); upgrade circuitsim"
        )
    if version < FORMAT_VERSION:
        raise ArtifactError(f"{path} has LUT format version {version}, whose metadata is not hash-checked; "
                            "export it again with this circuitsim (circuitsim export ...)")
    if metadata.get("metadata_sha256") != _metadata_sha256(metadata):
        raise ArtifactError(f"{path}: the metadata does not match its recorded hash (edited or corrupted); "
                            "export it again")
    if _arrays_sha256(arrays) != metadata.get("arrays_sha256"):
        raise ArtifactError(f"{path}: the arrays do not match the hash in its metadata (corrupted file)")
    return metadata, arrays


def read_lut_file(path: Path, block: str | None = None) -> LutTable:
    """Read one block's LUT from an export file (``block`` may be omitted when the file holds one)."""
    metadata, arrays = read_metadata(path)
    blocks = list(metadata["blocks"])
    if block is None:
        if len(blocks) != 1:
            raise ArtifactError(f"{path} holds {', '.join(blocks)}; name one with block=")
        block = blocks[0]
    if block not in metadata["blocks"]:
        raise ArtifactError(f"{path} holds no block {block!r}; it holds {', '.join(blocks)}")
    return LutTable(block, arrays[f"{block}/x"], arrays[f"{block}/mean"], arrays[f"{block}/sigma"],
                    metadata["blocks"][block])

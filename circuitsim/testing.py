"""The generic block checks as functions a user block's own tests call (``tests/blocks/test_registry.py``
runs the same checks over the package's blocks against the committed calibration).

- :func:`check_contract`: the spec's netlist loads, grids are distinct, sorted, disjoint, and every held-out
  point lies between fit points (interpolation is what is validated).
- :func:`check_artifacts`: model vs SPICE on held-out points for every artifact of a block under a root,
  at the accuracy bar of SPEC section 6 (error <= 0.5 LSB, energy within 5 %) and, for the Monte Carlo
  σ, either the bar (pooled ratio 0.9-1.1, ``quick=False``) or, for a quick calibration with few samples,
  the chance band of that sample count (:func:`quick_sigma_band`).
- :func:`quick_check`: a quick calibration (one corner, the technology's nominal temperature, few Monte Carlo
  samples) into a scratch directory, then :func:`check_artifacts` on it: a user block is tested without a
  committed full calibration.

Failures raise ``AssertionError`` with every failing figure named (these are test helpers).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from circuitsim.calibration import metrics
from circuitsim.calibration.contract import BlockSpec

#: Half-width of the quick σ band in standard errors of the log σ ratio (about 0.3 % two-sided by chance).
QUICK_SIGMA_Z = 3.0


def check_contract(spec: BlockSpec) -> None:
    """The checks of ``test_contract`` in ``tests/blocks/test_registry.py`` for one spec."""
    from circuitsim.spice.netlist import load_netlist

    load_netlist(spec.netlist)
    for fit_grid, hold_grid in ((spec.fit_grid, spec.holdout_grid), (spec.mc_fit_inputs, spec.mc_holdout_inputs)):
        fit, hold = np.asarray(fit_grid, float), np.asarray(hold_grid, float)
        if fit.ndim == 1:
            assert np.all(np.diff(fit) > 0), f"{spec.name}: fit points must increase"
            fit, hold = fit[:, None], hold[:, None]
        fit_rows, hold_rows = set(map(tuple, fit.tolist())), set(map(tuple, hold.tolist()))
        assert len(fit_rows) == len(fit), f"{spec.name}: fit points must be distinct"
        assert not fit_rows & hold_rows, f"{spec.name}: held-out points must not be fit points"
        inside = (hold[:, 0] > fit[:, 0].min()) & (hold[:, 0] < fit[:, 0].max())
        assert inside.all(), f"{spec.name}: held-out points must lie between fit points"
    assert spec.lsb_v > 0, f"{spec.name}: full_scale_v and output_bits give no LSB"


def quick_sigma_band(n_fit: int, n_holdout: int, z: float = QUICK_SIGMA_Z) -> tuple[float, float]:
    """Where the pooled σ ratio (model / SPICE) of a correct model lands by chance with ``n_fit`` fit-stream
    and ``n_holdout`` held-out Monte Carlo samples: exp(±z·s), s² = 1/(2(n_fit−1)) + 2/(2(n_holdout−1))
    (the LUT's σ estimate, the model's n_holdout draws and SPICE's n_holdout draws, each with the
    large-sample variance 1/(2(n−1)) of log σ̂). For 20/20 samples: 0.43 .. 2.3; at 200/200 the band
    (0.77 .. 1.30) is wider than the bar's 0.9 .. 1.1, which is a statement about a calibrated block."""
    s = math.sqrt(1 / (2 * (n_fit - 1)) + 1 / (n_holdout - 1))
    return math.exp(-z * s), math.exp(z * s)


def check_artifacts(spec: BlockSpec, root: Path, technology: str = "sky130", *, quick: bool = False) -> dict:
    """Validate every artifact of ``spec`` under ``root`` (``<root>/<technology>/<point>/<block>/``) and
    assert the bar; returns the validation records {point: record}."""
    from circuitsim.calibration.validate import validate_artifact
    from circuitsim.store import ArtifactStore, load_artifact

    store = ArtifactStore(root)
    found = store.directories(spec.name, technology)
    assert found, f"no artifacts of {spec.name} under {Path(root) / technology}"
    records, failures = {}, []
    for point, path in found.items():
        rec = records[point] = validate_artifact(spec, path)
        if rec["max_error_lsb"] > metrics.ERROR_BAR_LSB:
            failures.append(f"{point}: error {rec['max_error_lsb']:.3f} LSB > {metrics.ERROR_BAR_LSB} at "
                            f"{rec['worst_input']}")
        if rec["energy_error"] > metrics.ENERGY_TOLERANCE:
            failures.append(f"{point}: energy error {rec['energy_error']:.4f} of the operating-range energy "
                            f"{rec['energy_reference_J']:.4g} J, above {metrics.ENERGY_TOLERANCE}")
        if rec["sigma_ratio"] is None:
            continue
        if quick:
            prov = load_artifact(path).provenance
            lo, hi = quick_sigma_band(int(prov["mc_fit_samples"]), int(rec["mc_samples"]))
        else:
            lo, hi = metrics.SIGMA_RATIO_BAND
        if not lo <= rec["sigma_ratio"] <= hi:
            failures.append(f"{point}: pooled sigma ratio {rec['sigma_ratio']:.3f} outside [{lo:.2f}, {hi:.2f}]")
    assert not failures, f"{spec.name}: " + "; ".join(failures)
    return records


def quick_check(spec: BlockSpec, out_dir: Path, *, technology: str | Path = "sky130", corner: str | None = None,
                mc_samples: int = 20, seed: int = 1) -> dict:
    """Calibrate ``spec`` at one corner (default: the technology's nominal) and its nominal temperature with
    ``mc_samples`` Monte Carlo samples into ``out_dir`` (SPICE; task cache in ``out_dir/cache``), then
    :func:`check_contract` and :func:`check_artifacts` with ``quick=True``; returns the records."""
    from circuitsim.calibration.runner import calibrate, make_plan
    from circuitsim.technology import load_technology

    check_contract(spec)
    tech = load_technology(technology)
    plan = make_plan(tech, [corner or tech.nominal_corner], [tech.nominal_temperature_c], mc_samples, seed)
    out_dir = Path(out_dir)
    calibrate([spec], tech, plan, out_dir=out_dir, cache_dir=out_dir / "cache", progress=False)
    return check_artifacts(spec, out_dir, tech.name, quick=True)

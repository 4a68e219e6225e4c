"""``circuitsim validate``: behavioral model vs SPICE on held-out points, from committed artifacts only
(no ngspice). One record per block and operating point; see SPEC section 6 for the bar."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from circuitsim.calibration import adc_metrics, metrics
from circuitsim.calibration.contract import BlockSpec
from circuitsim.errors import ArtifactError
from circuitsim.store import MODEL_FILE, SPICE_FILE, ArtifactStore, OperatingPoint, stale_reason

#: Seed stream of the model's own draws in validation (distinct from every SPICE seed stream).
MODEL_STREAM = 0x5EED


def validate_artifact(spec: BlockSpec, directory: Path) -> dict:
    """Model vs SPICE at one operating point, on the held-out grid and held-out Monte Carlo seeds.

    An artifact made from another netlist or technology file than this checkout's is refused (a stale
    artifact would validate the old circuit)."""
    directory = Path(directory)
    point = OperatingPoint.from_name(directory.parent.name, directory.parent.parent.name)
    artifact = ArtifactStore(directory.parent.parent.parent).open(spec.name, point)
    reason = stale_reason(artifact)
    if reason:
        raise ArtifactError(f"{spec.name} at {point.name}: artifact {reason}")
    model_arrays = artifact.arrays(MODEL_FILE)
    spice = artifact.arrays(SPICE_FILE)
    x = spice["holdout_x"]
    seed = int(artifact.provenance.get("seed", 0))
    n_mc = spice["mc_holdout_out_V"].shape[0] if "mc_holdout_out_V" in spice else 200
    rng = np.random.default_rng([seed, MODEL_STREAM])
    # A block with its own (smaller) Monte Carlo grids: the transfer and energy are judged on the nominal
    # held-out grid, σ at the held-out Monte Carlo points, where the model is evaluated a second time.
    mc_x = spice["mc_holdout_x"] if "mc_holdout_x" in spice else None
    prediction = spec.model(model_arrays, x, rng, n_mc if mc_x is None else 0)
    mc_prediction = prediction if mc_x is None else spec.model(model_arrays, mc_x, rng, n_mc)
    sigma_x = x if mc_x is None else mc_x
    spice_out = spice["nominal_holdout_out_V"]
    err = metrics.error_lsb(prediction.mean_v, spice_out, spec.lsb_v)
    worst = int(np.argmax(err))
    record = {
        "max_error_lsb": float(err[worst]),
        "max_error_mV": float(err[worst] * spec.lsb_v * 1e3),
        "worst_input": _point(x[worst]),
        "lsb_mV": spec.lsb_v * 1e3,
        "output_bits": spec.output_bits,
        "full_scale_V": list(spec.full_scale_v),
        "holdout_points": int(len(x)),
        # the point ratio furthest from 1 (information: it blows up where the energy nears zero) and the judged
        # error as a fraction of the largest held-out energy (metrics.energy_error)
        "energy_ratio": metrics.worst_ratio(prediction.energy_J, spice["nominal_holdout_energy_J"]),
        **dict(zip(("energy_error", "energy_reference_J"),
                   metrics.energy_error(prediction.energy_J, spice["nominal_holdout_energy_J"]))),
        "energy_per_op_J": float(np.mean(spice["nominal_holdout_energy_J"])),
        "sigma_ratio": None,
        "sigma_f_test_failures": None,
        "artifact": str(directory),
        "content_sha256": artifact.provenance["content_sha256"],
        "curves": {
            "x": x.tolist(),
            "model_mean_V": np.asarray(prediction.mean_v).tolist(),
            "spice_V": spice_out.tolist(),
        },
    }
    if "mc_holdout_out_V" in spice:
        if mc_prediction.samples_v is None:
            raise ArtifactError(f"{spec.name}: the model returned no samples to compare with Monte Carlo")
        spice_sigma = spice["mc_holdout_out_V"].std(axis=0, ddof=1)
        model_sigma = mc_prediction.samples_v.std(axis=0, ddof=1)
        pvalues = metrics.f_test_pvalues(model_sigma, mc_prediction.samples_v.shape[0], spice_sigma, n_mc)
        record["sigma_ratio"] = metrics.pooled_sigma_ratio(model_sigma, spice_sigma)
        record["sigma_f_test_failures"] = int(np.sum(pvalues < metrics.F_TEST_ALPHA))
        record["sigma_f_test_failing_inputs"] = sigma_x[pvalues < metrics.F_TEST_ALPHA].tolist()
        record["mc_samples"] = int(n_mc)
        record["mc_holdout_points"] = int(len(sigma_x))
        record["curves"]["model_sigma_V"] = model_sigma.tolist()
        record["curves"]["spice_sigma_V"] = spice_sigma.tolist()
        if mc_x is not None:
            record["curves"]["sigma_x"] = mc_x.tolist()
    record["pass"] = metrics.passes(record["max_error_lsb"], record["sigma_ratio"], record["energy_error"])
    if spec.transitions is not None:
        record["transitions"] = transition_record(spec, model_arrays, spice, f"{spec.name} at {point.name}")
        record["pass"] = record["pass"] and record["transitions"]["max_error_lsb"] <= metrics.ERROR_BAR_LSB
    return record


def transition_record(spec: BlockSpec, model_arrays: dict, spice: dict, where: str) -> dict:
    """A converter's code transition levels, model vs SPICE (the quantity a code's neighbour sees: where the
    code changes, not what it is at a bin centre).

    SPICE's T_k (``transitions_level_V``) is the midpoint of a bracket [below, above] whose two ends give
    codes k − 1 and k; the model's T_k comes from ``spec.transition_model`` (bisection of the calibrated
    converter). Error per edge = |T_model − T_SPICE| / LSB, judged against the ½-LSB bar; ``bracket_lsb``
    is the SPICE brackets' largest half width (the measurement's own uncertainty). DNL/INL of both converters from
    the same edges (:func:`adc_metrics.edge_linearity`)."""
    if "transitions_level_V" not in spice:
        raise ArtifactError(f"{where}: the artifact has no SPICE transition levels; add them with: "
                            f"circuitsim calibrate {spec.name} --transitions-only")
    rows = np.column_stack([spice["transitions_edge"], spice["transitions_n_bits"]]).astype(float)
    spice_v = np.asarray(spice["transitions_level_V"], float)
    model_v = np.asarray(spec.transition_model(model_arrays, rows), float)
    err = np.abs(model_v - spice_v) / spec.lsb_v
    worst = int(np.argmax(err))
    edges = rows[:, 0].astype(int)
    half_width = (np.asarray(spice["transitions_above_V"]) - np.asarray(spice["transitions_below_V"])) / 2 / spec.lsb_v
    return {
        "edges": edges.tolist(),
        "spice_level_V": spice_v.tolist(),
        "model_level_V": model_v.tolist(),
        "error_lsb": (np.sign(model_v - spice_v) * err).tolist(),
        "max_error_lsb": float(err[worst]),
        "worst_edge": int(edges[worst]),
        "bracket_half_width_lsb": half_width.tolist(),
        "bracket_lsb": float(np.max(half_width)),
        "spice_linearity": adc_metrics.edge_linearity(edges, spice_v, spec.lsb_v),
        "model_linearity": adc_metrics.edge_linearity(edges, model_v, spec.lsb_v),
    }


def _missing_plan_points(found: dict, technology: str) -> list[str]:
    """Points of a shipped technology's calibration plan that have no artifact."""
    from circuitsim.technology import load_technology, shipped_technologies

    if technology not in shipped_technologies():
        return []
    plan = [OperatingPoint(c, t, technology).name for c, t in load_technology(technology).calibration_points]
    return [name for name in plan if name not in found]


def _point(row):
    """One input point for the record: a float on a 1-D grid, a list (e.g. [v_in, word]) on an (n, d) grid."""
    row = np.asarray(row, float)
    return float(row) if row.ndim == 0 else row.tolist()


def validate_block(spec: BlockSpec, store: ArtifactStore, technology: str, quick: bool = False) -> dict[str, dict]:
    """Every committed operating point of one block: {point: record}. A point of the technology's
    calibration plan without an artifact is refused (a block validated at 6 of 7 points is not validated),
    unless ``quick``: a quick calibration (e.g. one corner) is judged at the points it has, and each record
    names the plan points it lacks (``missing_plan_points``)."""
    found = store.points(spec.name, technology)
    if not found:
        raise ArtifactError(
            f"no calibration artifacts for {spec.name} under {store.root / technology}; "
            f"run: circuitsim calibrate {spec.name}"
        )
    missing = _missing_plan_points(found, technology)
    if missing and not quick:
        raise ArtifactError(
            f"{spec.name} has no artifact at {', '.join(missing)} of the {technology} calibration plan "
            f"(found: {', '.join(found)}); re-run: circuitsim calibrate {spec.name}, or judge the points there "
            "are with validate --quick"
        )
    records = {name: validate_artifact(spec, store.path(spec.name, point)) for name, point in found.items()}
    if quick:
        for record in records.values():
            record["missing_plan_points"] = missing
    return records


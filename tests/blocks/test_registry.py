"""One table-driven suite over every registered block: contract, committed artifacts, accuracy bar."""

import numpy as np
import pytest

from circuitsim.blocks import block_names, get_spec
from circuitsim.calibration import metrics
from circuitsim.calibration.validate import validate_block
from circuitsim.config import project_root
from circuitsim.errors import UnknownBlockError
from circuitsim.spice.netlist import load_netlist
from circuitsim.store import ArtifactStore, load_artifact

BLOCKS = block_names()
ROOT = project_root() / "calibration"


def test_unknown_block_lists_known():
    with pytest.raises(UnknownBlockError, match="unknown block 'nope'; known blocks: sample_hold"):
        get_spec("nope")


@pytest.mark.parametrize("name", BLOCKS)
def test_contract(name):
    spec = get_spec(name)
    assert spec.name == name
    load_netlist(spec.netlist)
    # the nominal grids, and the Monte Carlo grids (the same ones unless the block declares smaller ones)
    for fit_grid, hold_grid in ((spec.fit_grid, spec.holdout_grid), (spec.mc_fit_inputs, spec.mc_holdout_inputs)):
        fit, hold = np.asarray(fit_grid, float), np.asarray(hold_grid, float)
        if fit.ndim == 1:
            assert np.all(np.diff(fit) > 0)
            fit, hold = fit[:, None], hold[:, None]
        rows = lambda a: set(map(tuple, a.tolist()))  # noqa: E731
        assert len(rows(fit)) == len(fit), "fit points are distinct"
        assert not rows(fit) & rows(hold), "held-out points must not be fit points"
        # the first coordinate is the interpolated one (further ones, e.g. a weight word, are discrete)
        inside = (hold[:, 0] > fit[:, 0].min()) & (hold[:, 0] < fit[:, 0].max())
        assert inside.all(), "held-out points lie between fit points (interpolation is what is validated)"
    assert spec.lsb_v > 0


@pytest.mark.parametrize("name", BLOCKS)
def test_artifacts_cover_the_plan_with_provenance(name, sky130):
    found = ArtifactStore(ROOT).directories(name)
    expected = {f"{c}_{t:g}C" for c, t in sky130.calibration_points}
    assert set(found) == expected
    for point, path in found.items():
        prov = load_artifact(path).provenance
        for key in ("pdk", "pdk_version", "corner", "temperature_C", "ngspice_version", "netlist_sha256",
                    "seed", "mc_samples", "circuitsim_version", "date", "content_sha256"):
            assert key in prov, (point, key)
        assert prov["netlist_sha256"] == load_netlist(get_spec(name).netlist).sha256, \
            f"{point}: the netlist changed since calibration; re-run circuitsim calibrate {name}"
    # a block without its own Monte Carlo (one resolution of the SAR, simulated at 8 bit) records none
    expected_mc = 200 if get_spec(name).monte_carlo else 0
    assert load_artifact(found["tt_27C"]).provenance["mc_samples"] == expected_mc


@pytest.mark.parametrize("name", BLOCKS)
def test_accuracy_bar_on_held_out_points(name):
    """SPEC section 6 at every corner, from the committed artifacts."""
    results = validate_block(get_spec(name), ArtifactStore(ROOT), "sky130")
    for point, rec in results.items():
        assert rec["max_error_lsb"] <= metrics.ERROR_BAR_LSB, (point, rec["max_error_lsb"], rec["worst_input"])
        assert abs(rec["energy_ratio"] - 1) <= metrics.ENERGY_TOLERANCE, (point, rec["energy_ratio"])
        if rec["sigma_ratio"] is not None:
            assert metrics.SIGMA_RATIO_BAND[0] <= rec["sigma_ratio"] <= metrics.SIGMA_RATIO_BAND[1], point
    assert (results["tt_27C"]["sigma_ratio"] is not None) == get_spec(name).monte_carlo


def test_metrics_detect_bad_models():
    assert metrics.error_lsb([1.0], [1.0 + 0.01], 0.01)[0] == pytest.approx(1.0)
    assert metrics.pooled_sigma_ratio([2.0, 2.0], [1.0, 1.0]) == pytest.approx(2.0)
    assert metrics.f_test_pvalues(np.array([2.0]), 200, np.array([1.0]), 200)[0] < 1e-6
    assert metrics.f_test_pvalues(np.array([1.0]), 200, np.array([1.0]), 200)[0] == pytest.approx(1.0)
    assert metrics.worst_ratio([1.0, 1.2, 0.9], [1, 1, 1]) == pytest.approx(1.2)
    assert not metrics.passes(0.6, None, 1.0)
    assert not metrics.passes(0.1, 1.2, 1.0)
    assert not metrics.passes(0.1, 1.0, 1.06)
    assert metrics.passes(0.1, None, 1.02)

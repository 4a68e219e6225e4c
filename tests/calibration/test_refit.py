"""Re-fit every block from its committed SPICE data and get the committed model back.

For every registered block and every committed operating point, the calibration data are rebuilt from the
committed ``spice.npz`` (the Monte Carlo streams from the Monte Carlo point's artifact, as ``calibrate``
hands them to the fit) and the block's ``fit`` is run again. Its arrays must equal the committed
``model.npz``, its energy and latency the committed ``energy.json``, its notes the provenance's.

Bugs this catches (none of which any other test sees, since nothing else re-runs a fit):

- a broken fit: σ from the wrong spread (doubled, ddof, the held-out stream), the error LUT with its sign
  flipped (x − SPICE instead of SPICE − x), an energy fit over the wrong points, a changed polynomial order;
- stale artifacts: a fit changed since the calibration, whose committed model no longer follows from the
  committed SPICE data.

Tolerance: :mod:`circuitsim.calibration.refit` (rtol 1e-12 on arrays, figures and the notes' floats, volts
also within 1 fV: float round-off of a LAPACK least-squares solve on another CPU). On the calibrating machine
the re-fit is bit-identical for all 17 blocks at all 7 points, including the SAR's bisection for the offset σ,
which runs on fixed draws. Runtime: about 12 s for the 112 cases (measured), 6.5 s of it sar_adc_8b
(that bisection, ~0.9 s per point); well under the 60 s at which blocks would be marked slow.
"""

import json

import numpy as np
import pytest

from circuitsim.blocks import block_names, get_spec
from circuitsim.calibration.refit import REFIT_RTOL, VOLT_ATOL, same_number, same_record
from circuitsim.calibration.runner import calibration_data_from_artifact
from circuitsim.config import project_root
from circuitsim.store import ENERGY_FILE, MODEL_FILE, ArtifactStore, json_bytes

STORE = ArtifactStore(project_root() / "calibration")
CASES = [(block, point) for block in block_names(plugins=False) for point in STORE.points(block).values()]


@pytest.mark.parametrize("block, point", CASES, ids=[f"{b}-{p.name}" for b, p in CASES])
def test_refit_from_committed_spice_data_reproduces_the_committed_model(block, point):
    spec = get_spec(block)
    artifact = STORE.open(block, point)
    fit = spec.fit(calibration_data_from_artifact(spec, point, STORE))

    committed = artifact.arrays(MODEL_FILE)
    assert set(fit.arrays) == set(committed), f"{block} {point.name}: model arrays differ by name"
    for name, want in committed.items():
        got = np.asarray(fit.arrays[name])
        assert got.shape == want.shape, (block, point.name, name, got.shape, want.shape)
        np.testing.assert_allclose(got, want, rtol=REFIT_RTOL, atol=VOLT_ATOL if name.endswith("_V") else 0.0,
                                   equal_nan=True,
                                   err_msg=f"{block} {point.name}: {name} does not follow from spice.npz")

    (action,) = artifact.table(ENERGY_FILE)["actions"]
    assert action["name"] == spec.action
    assert same_number(fit.energy_J, action["energy_J"]), (block, point.name, fit.energy_J, action["energy_J"])
    assert same_number(fit.latency_s, action["latency_s"]), (block, point.name, fit.latency_s, action["latency_s"])
    assert action["note"] == fit.notes.get("energy", "")
    # the notes hold fitted figures too (the SAR's attenuation and offset, the buffers' gain)
    committed_notes = json.loads(json_bytes(artifact.provenance["notes"]))
    assert same_record(json.loads(json_bytes(fit.notes)), committed_notes), (block, point.name)


def test_rebuilt_data_take_sigma_from_the_monte_carlo_point():
    """At a point without Monte Carlo of its own, the fit sees the Monte Carlo point's streams, as in
    ``calibrate`` (catches a rebuild that would silently fit σ = 0 at the corners)."""
    from circuitsim.store import OperatingPoint

    spec = get_spec("sample_hold")
    corner = calibration_data_from_artifact(spec, OperatingPoint("ss", 27), STORE)
    nominal = calibration_data_from_artifact(spec, OperatingPoint("tt", 27), STORE)
    assert corner.mc_point == nominal.mc_point == "tt_27C"
    assert np.array_equal(corner.mc_fit["out_V"], nominal.mc_fit["out_V"])
    assert corner.mc_fit["out_V"].shape == (4 * 200, len(spec.fit_grid))
    assert not np.array_equal(corner.nominal_fit["out_V"], nominal.nominal_fit["out_V"])
    no_mc = calibration_data_from_artifact(get_spec("sar_adc_4b"), OperatingPoint("tt", 27), STORE)
    assert no_mc.mc_fit is None and no_mc.mc_point == ""

"""The artifact store: layout, discovery, refusal messages, and reading without the SPICE layer."""

import json
import subprocess
import sys

import numpy as np
import pytest

from circuitsim.errors import ArtifactError, TechnologyError
from circuitsim.store import MODEL_FILE, SPICE_FILE, ArtifactStore, OperatingPoint, json_bytes, npz_bytes

#: What a reader must not pull in: the SPICE layer, task execution, the calibration runner, their tools.
SPICE_SIDE = ("PySpice", "circuitsim.spice", "circuitsim.tasks", "circuitsim.calibration.runner", "tqdm", "dask")


def _imported_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    return [m for m in out.split() if m.startswith(SPICE_SIDE)]


def test_reading_artifacts_and_pricing_them_imports_no_spice_layer():
    """Store reads, sky130 budgets of a whole architecture: nothing of the SPICE side is imported."""
    code = ("from circuitsim.store import ArtifactStore\n"
            "s = ArtifactStore(); s.model_arrays('psf'); s.spice_arrays('scm'); s.energy('fvf')\n"
            "from circuitsim.accounting import evaluate; evaluate('leca-4x4', 'sky130')")
    assert _imported_after(code) == []


def test_loading_a_block_calibration_needs_no_runner_or_executor():
    """A block's LUT loader goes through the store: no runner, executors, tqdm, Dask or PySpice."""
    code = "from circuitsim.blocks import psf, scm\npsf.load_lut(); scm.load_lut()"
    loaded = _imported_after(code)
    assert not [m for m in loaded if not m.startswith("circuitsim.spice")], loaded


def test_layout_and_round_trip(tmp_path):
    store = ArtifactStore(tmp_path)
    point = OperatingPoint("ss", -40, "sky130")
    arrays = {"lut_x_V": np.linspace(0, 1, 3)}
    path = store.write("psf", point, {MODEL_FILE: npz_bytes(arrays), SPICE_FILE: npz_bytes({}), "energy.json": json_bytes(
        {"component": "psf", "actions": [{"name": "read", "energy_J": 1e-13}]})}, {"block": "psf", **point.as_dict()})
    assert path == tmp_path / "sky130" / "ss_-40C" / "psf"
    np.testing.assert_array_equal(store.model_arrays("psf", point)["lut_x_V"], arrays["lut_x_V"])
    assert store.energy("psf", point)["actions"][0]["energy_J"] == 1e-13
    assert store.points("psf") == {"ss_-40C": point}
    assert store.energy("psf", OperatingPoint("tt", 27)) is None


def test_discovery_orders_the_committed_points_nominal_first():
    assert list(ArtifactStore().points("psf")) == ["tt_27C", "ss_27C", "ff_27C", "sf_27C", "fs_27C",
                                                   "tt_-40C", "tt_85C"]


def test_refusals_name_the_valid_choices(tmp_path):
    with pytest.raises(ArtifactError, match="psf is not calibrated at ss_85C; calibrated points: tt_27C, ss_27C"):
        ArtifactStore().open("psf", OperatingPoint("ss", 85))
    with pytest.raises(TechnologyError, match="valid corners: tt"):
        ArtifactStore().open("psf", OperatingPoint("xx", 27))
    with pytest.raises(ArtifactError, match=r"none \(run: circuitsim calibrate psf\)"):
        ArtifactStore(tmp_path).open("psf")


def test_energy_table_of_another_component_is_refused(tmp_path):
    store = ArtifactStore(tmp_path)
    files = {"energy.json": json_bytes({"component": "fvf", "actions": []}), MODEL_FILE: npz_bytes({}),
             SPICE_FILE: npz_bytes({})}
    store.write("psf", OperatingPoint(), files, {"block": "psf", **OperatingPoint().as_dict()})
    with pytest.raises(ArtifactError, match="is for component 'fvf', not 'psf'"):
        store.energy("psf")


def test_operating_point_names():
    point = OperatingPoint.from_name("tt_-40C")
    assert (point.corner, point.temp_c, point.name, str(point)) == ("tt", -40.0, "tt_-40C", "sky130 tt -40 °C")
    assert json.loads(json.dumps(point.as_dict())) == {"technology": "sky130", "corner": "tt", "temperature_C": -40.0}
    with pytest.raises(ArtifactError, match="not an operating-point name"):
        OperatingPoint.from_name("nominal")

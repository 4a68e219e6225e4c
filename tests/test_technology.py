from pathlib import Path

import pytest
import yaml

from circuitsim.errors import TechnologyError
from circuitsim.technology import load_technology, shipped_technologies


def test_sky130_loads_with_corners_devices_and_plan(sky130):
    assert "sky130" in shipped_technologies()
    assert list(sky130.corners) == ["tt", "ss", "ff", "sf", "fs"]
    assert sky130.corner("ss").mismatch_section == "ss_mm"
    assert set(sky130.devices) == {"nmos", "pmos", "nmos_lvt", "pmos_lvt", "mim"}
    assert ("tt", -40.0) in sky130.calibration_points and ("tt", 85.0) in sky130.calibration_points
    assert sky130.monte_carlo_point == ("tt", 27.0)
    assert sky130.vdd_v == 1.8


def test_unknown_technology_lists_shipped():
    with pytest.raises(TechnologyError, match="unknown technology 'gf180'.*sky130"):
        load_technology("gf180")


def test_unknown_corner_lists_valid(sky130):
    with pytest.raises(TechnologyError, match="unknown corner 'xx'.*tt, ss, ff, sf, fs"):
        sky130.corner("xx")


@pytest.mark.parametrize("temp", [-55, 150])
def test_temperature_out_of_range_refused(sky130, temp):
    with pytest.raises(TechnologyError, match=r"outside the sky130 model range \[-40, 125\]"):
        sky130.check_temperature(temp)


def test_supply_out_of_range_refused(sky130):
    with pytest.raises(TechnologyError, match=r"supply 3.3 V is outside the sky130 range \[1.6, 1.95\] V"):
        sky130.check_supply(3.3)


def _other_pdk(tmp_path: Path, **changes) -> Path:
    data = yaml.safe_load((Path(load_technology().source_path)).read_text())
    data.update(changes)
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_another_pdk_is_another_file(tmp_path):
    lib = tmp_path / "models.lib"
    lib.write_text("* empty\n")
    path = _other_pdk(tmp_path, name="mypdk", model_library={"path": "models.lib"})
    tech = load_technology(path)
    assert tech.name == "mypdk"
    assert tech.model_library_path() == lib.resolve()
    assert tech.sha256 != load_technology().sha256


def test_missing_pdk_package_names_install_command(tmp_path):
    path = _other_pdk(tmp_path, model_library={"python_package": "no_such_pdk_pkg", "path": "x.lib",
                                               "install": "pip install --no-deps no_such_pdk_pkg"})
    with pytest.raises(TechnologyError, match="not installed.*pip install --no-deps no_such_pdk_pkg"):
        load_technology(path).model_library_path()


def test_malformed_file_is_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n")
    with pytest.raises(TechnologyError, match="missing keys"):
        load_technology(bad)

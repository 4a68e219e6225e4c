"""A second technology file: sky130's models under other corner names (typical / slow / fast / ...), written
into a temporary YAML. Nothing outside the file may assume sky130's names: the CLI defaults to the file's
nominal corner, a deck renders, and a small block calibrates and validates with --technology PATH."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from circuitsim.technology import load_technology

ROOT = Path(__file__).resolve().parent.parent
RENAMED = {"tt": "typical", "ss": "slow", "ff": "fast", "sf": "fastn_slowp", "fs": "slown_fastp"}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "circuitsim.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)


@pytest.fixture
def other_pdk(tmp_path) -> Path:
    data = yaml.safe_load(load_technology("sky130").source_path.read_text())
    data["name"] = "renamed130"
    data["corners"] = {RENAMED[k]: v for k, v in data["corners"].items()}
    data["calibration_plan"] = {"points": [[RENAMED[c], t] for c, t in data["calibration_plan"]["points"]],
                                "monte_carlo": ["typical", 27]}
    path = tmp_path / "renamed130.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_nominal_corner_is_the_files(other_pdk, tmp_path, sky130):
    assert sky130.nominal_corner == "tt"
    tech = load_technology(other_pdk)
    assert tech.nominal_corner == "typical"  # no key: the Monte Carlo corner
    data = yaml.safe_load(other_pdk.read_text())
    data["nominal_corner"] = "slow"
    explicit = tmp_path / "explicit.yaml"
    explicit.write_text(yaml.safe_dump(data))
    assert load_technology(explicit).nominal_corner == "slow"
    data["nominal_corner"] = "tt"
    explicit.write_text(yaml.safe_dump(data))
    with pytest.raises(Exception, match="unknown corner 'tt' for technology renamed130"):
        load_technology(explicit)


def test_cli_default_corner_comes_from_the_technology(other_pdk):
    from circuitsim.cli import _operating_point

    point = _operating_point(str(other_pdk), None, None)
    assert (point.corner, point.temp_c, point.technology) == ("typical", 27.0, "renamed130")
    assert _operating_point("sky130", None, None).corner == "tt"


@pytest.mark.spice
def test_render_calibrate_validate_with_another_corner_naming(other_pdk, tmp_path):
    deck = _cli("spice", "render", "sample_hold", "--corner", "slow", "--technology", str(other_pdk))
    assert deck.returncode == 0, deck.stderr
    assert ".lib" in deck.stdout and " ss" in deck.stdout  # sky130's ss section under the name 'slow'
    cal = tmp_path / "cal"
    run = _cli("calibrate", "sample_hold", "--corners", "typical", "--mc", "0", "--out", str(cal),
               "--cache", str(tmp_path / "cache"), "--quiet", "--technology", str(other_pdk))
    assert run.returncode == 0, run.stderr
    assert (cal / "renamed130" / "typical_27C" / "sample_hold" / "model.npz").is_file()
    check = _cli("validate", "sample_hold", "--calibration", str(cal), "--technology", str(other_pdk), "--json",
                 "--no-plots")
    assert check.returncode == 0, check.stdout + check.stderr
    record = json.loads(check.stdout)["blocks"]["sample_hold"]["typical_27C"]
    assert record["max_error_lsb"] <= 0.5 and record["pass"]


def _without_low_vt(tmp_path, **mapping) -> Path:
    """sky130's file without its low-Vt devices, optionally mapping them onto other devices (``same_as``)."""
    data = yaml.safe_load(load_technology("sky130").source_path.read_text())
    data["name"] = "nolvt130"
    for name in ("nmos_lvt", "pmos_lvt"):
        del data["devices"][name]
    data["devices"].update({name: {"same_as": target} for name, target in mapping.items()})
    path = tmp_path / "nolvt130.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_pdk_without_low_vt_devices_is_refused_naming_the_device_and_line(tmp_path):
    from circuitsim.errors import TechnologyError
    from circuitsim.spice.netlist import load_netlist, render_deck

    tech = load_technology(_without_low_vt(tmp_path))
    netlist = load_netlist("pixel_4t")
    line = next(i for i, text in enumerate(netlist.text.splitlines(), 1) if text.startswith("xtx "))
    with pytest.raises(TechnologyError, match=rf"pixel_4t.cir line {line} instantiates the generic device "
                                              r"'nmos_lvt', which technology nolvt130 does not define.*same_as: nmos"):
        render_deck(netlist, tech, "tt")
    result = _cli("spice", "render", "pixel_4t", "--technology", str(_without_low_vt(tmp_path)))
    assert result.returncode == 2 and "nmos_lvt" in result.stderr and "Traceback" not in result.stderr


def test_a_low_vt_device_mapped_onto_the_regular_one_renders_with_its_cell(tmp_path):
    from circuitsim.spice.netlist import load_netlist, render_deck

    tech = load_technology(_without_low_vt(tmp_path, nmos_lvt="nmos", pmos_lvt="pmos"))
    assert tech.devices["nmos_lvt"].body == tech.devices["nmos"].body
    deck = render_deck(load_netlist("pixel_4t"), tech, "tt")
    wrapper = deck[deck.index(".subckt nmos_lvt"):].split(".ends")[0]
    assert "sky130_fd_pr__nfet_01v8 " in wrapper and "lvt" not in wrapper.split("\n", 1)[1]
    with pytest.raises(Exception, match="same_as 'nope' names no device"):
        load_technology(_without_low_vt(tmp_path, nmos_lvt="nope"))

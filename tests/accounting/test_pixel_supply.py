"""Issue 17 item 4: the pixel on the 3.3 V supply domain (``pixel_4t_3v3``, thick-oxide devices). An
architecture that names it gets its own calibrated figures: its static power (the 5 uA column load from 3.3 V,
an independent figure: the deck's current source times the domain's supply), its row time from its own
settling table, and its readout energy, read from its artifacts by name (not from the 1.8 V pixel)."""

import textwrap

import numpy as np
import pytest

from circuitsim.accounting import evaluate
from circuitsim.accounting.engine import load_architecture
from circuitsim.accounting.evaluation import line_energy_J
from circuitsim.store import ArtifactStore
from circuitsim.technology import load_technology

ARCH = """
schema: circuitsim.architecture/1
name: supply_arch
description: a pixel array read row by row, pixel block {block}
parameters: {{rows: 448, cols: 8, bits_adc: 8, t_row_readout_s: 1.0e-6}}
derived: {{pixels: rows * cols}}
output: {{bits_per_frame: pixels * bits_adc, reference_bits_per_frame: pixels * 8}}
timing:
  from_blocks:
    t_row_readout_s: {{block: {block}, quantity: row_readout_s, rows: rows, bits: bits_adc}}
  stages:
    - {{name: readout, group: array, time_s: rows * t_row_readout_s}}
operating:
  row_time_s: frame_period_s / rows
components:
  pixel:
    block: {block}
    instances: pixels
    power: {{policy: stage, on_time_s: row_time_s}}
    actions: {{readout: pixels}}
"""

#: The deck's column load: "iref vddb bn 5u" mirrored 1:1 (netlists/pixel_4t_3v3.cir); the SF carries it.
LOAD_A = 5e-6


def _arch(tmp_path, block):
    path = tmp_path / f"{block}.yaml"
    path.write_text(textwrap.dedent(ARCH.format(block=block)))
    return load_architecture(path)


def _lines(ev, term):
    return {(l.component, l.action): l for l in ev.lines if l.term == term}


def test_the_3v3_pixel_is_measured_at_its_own_supply():
    artifact = ArtifactStore().open("pixel_4t_3v3")
    energy = artifact.table("energy.json")
    assert artifact.provenance["supply_domain"] == "3v3"
    assert artifact.provenance["technology_sha256"] == load_technology("sky130").for_domain("3v3").sha256
    assert energy["vdd_v"] == 3.3 and energy["supply_range_v"] == [3.0, 3.6]
    # the selected pixel draws the column load (5 uA, a mirror: within 10 %) from 3.3 V
    assert energy["static_W"] == pytest.approx(LOAD_A * 3.3, rel=0.10)
    core = ArtifactStore().open("pixel_4t").table("energy.json")
    assert energy["static_W"] / core["static_W"] == pytest.approx(3.3 / 1.8, rel=0.10)


@pytest.mark.parametrize("fps", [30.0, 1.0])
def test_an_architecture_naming_the_3v3_pixel_gets_its_power_and_row_time(tmp_path, fps):
    ev = evaluate(_arch(tmp_path, "pixel_4t_3v3"), "sky130", {"frame_rate_hz": fps})
    table = ArtifactStore().open("pixel_4t_3v3").table("energy.json")
    static = _lines(ev, "static")[("pixel", "static")]
    rows, pixels = 448, 448 * 8
    # biased for its row slot of the frame period, less its readout (whose SPICE energy holds the bias for
    # the readout's latency): P_static x (1 / fps / rows - t_readout) per pixel
    slot_s = 1.0 / fps / rows - table["actions"][0]["latency_s"]
    assert line_energy_J(static) == pytest.approx(table["static_W"] * pixels * slot_s, rel=1e-9)
    dynamic = _lines(ev, "dynamic")[("pixel", "readout")]
    assert line_energy_J(dynamic) == pytest.approx(table["actions"][0]["energy_J"] * pixels, rel=1e-12)
    assert "pixel_4t_3v3" in ev.timing_sources["t_row_readout_s"]


def test_the_row_time_is_the_3v3_pixels_own_settling(tmp_path):
    hv = evaluate(_arch(tmp_path, "pixel_4t_3v3"), "sky130").parameters["t_row_readout_s"]
    core = evaluate(_arch(tmp_path, "pixel_4t"), "sky130").parameters["t_row_readout_s"]
    a = ArtifactStore().model_arrays("pixel_4t_3v3")
    c_col = float(load_technology("sky130").column_capacitance_F(448))
    bits = list(a["settle_bits"]).index(8.0)
    by_hand = np.interp(c_col, a["settle_ccol_F"], a["settle_reset_s"][:, bits] + a["settle_signal_s"][:, bits])
    assert hv == pytest.approx(by_hand, rel=1e-9)
    assert hv != pytest.approx(core, rel=1e-3)


def _supplied(tmp_path, block, volts):
    """ARCH with the pixel's supply a parameter ``vdd_pixel_v`` (as the shipped architectures state it)."""
    text = textwrap.dedent(ARCH.format(block=block)).replace(
        "t_row_readout_s: 1.0e-6}", f"t_row_readout_s: 1.0e-6, vdd_pixel_v: {volts}}}").replace(
        f"    block: {block}\n", f"    block: {block}\n    supply_v: vdd_pixel_v\n")
    path = tmp_path / f"{block}_{volts}.yaml"
    path.write_text(text)
    return load_architecture(path)


def test_a_3v3_supply_on_the_core_pixel_is_refused_naming_the_3v3_circuit(tmp_path):
    # the 1.8 V pixel's figures hold within its supply's +-10 %; 3.3 V is another circuit (thick oxide)
    with pytest.raises(Exception, match=r"outside the range of pixel_4t \[1\.6, 1\.95\] V.*pixel_4t_3v3"):
        evaluate(_supplied(tmp_path, "pixel_4t", 3.3), "sky130", {"frame_rate_hz": 30.0})


def test_the_3v3_pixel_at_its_own_supply_is_unscaled_and_refuses_the_core_supply(tmp_path):
    stated = evaluate(_arch(tmp_path, "pixel_4t_3v3"), "sky130", {"frame_rate_hz": 30.0})
    at_3v3 = evaluate(_supplied(tmp_path, "pixel_4t_3v3", 3.3), "sky130", {"frame_rate_hz": 30.0})
    assert at_3v3.energy_per_frame_J == pytest.approx(stated.energy_per_frame_J, rel=1e-12)
    # 3.6 V: dynamic x (3.6/3.3)^2, static and leakage x 3.6/3.3 (currents held)
    high = evaluate(_supplied(tmp_path, "pixel_4t_3v3", 3.6), "sky130", {"frame_rate_hz": 30.0})
    for term, power in (("dynamic", 2), ("static", 1), ("leakage", 1)):
        a, b = (sum(line_energy_J(l) for l in ev.lines if l.term == term) for ev in (at_3v3, high))
        assert b == pytest.approx(a * (3.6 / 3.3) ** power, rel=1e-9)
    with pytest.raises(Exception, match=r"outside the range of pixel_4t_3v3 \[3, 3\.6\] V"):
        evaluate(_supplied(tmp_path, "pixel_4t_3v3", 1.8), "sky130", {"frame_rate_hz": 30.0})


def test_every_shipped_pixel_array_states_its_pixel_supply():
    from circuitsim.accounting.engine import list_architectures

    for name in list_architectures():
        arch = load_architecture(name)
        pixels = [c for c in arch.components if c.block.startswith("pixel_4t")]
        for comp in pixels:
            assert comp.supply_v is not None and comp.supply_v.text == "vdd_pixel_v", name
            assert arch.parameters["vdd_pixel_v"] == (3.3 if comp.block == "pixel_4t_3v3" else 1.8), name

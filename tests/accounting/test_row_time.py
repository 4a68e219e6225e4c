"""Issue 17 item 3: the row readout time from the artifacts. With a calibrated technology an architecture's
``timing.from_blocks`` parameters come from the blocks: the pixel's settling on the column line of its array
height (the pixel_4t artifact's SPICE settling table, the technology's column line), a block action's
latency; the stated values are the published profile (``--technology literature``); ``--set`` wins."""

import json
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

from circuitsim.accounting import evaluate
from circuitsim.accounting.engine import load_architecture
from circuitsim.accounting.schema import ArchitectureError
from circuitsim.accounting.sweep import sweep
from circuitsim.cli import main
from circuitsim.store import ArtifactStore
from circuitsim.technology import load_technology

ARCH = """
schema: circuitsim.architecture/1
name: rows_arch
description: a pixel array read row by row through a column ADC of bits_adc bits
parameters: {rows: 448, cols: 8, bits_adc: 8, t_row_readout_s: 1.0e-6}
derived: {pixels: rows * cols}
output: {bits_per_frame: pixels * bits_adc, reference_bits_per_frame: pixels * 8}
timing:
  from_blocks:
    t_row_readout_s: {block: pixel_4t, quantity: row_readout_s, rows: rows, bits: bits_adc}
  stages:
    - {name: readout, group: array, time_s: rows * t_row_readout_s}
components:
  pixel:
    block: pixel_4t
    instances: pixels
    actions: {readout: pixels}
"""


@pytest.fixture()
def arch(tmp_path):
    path = tmp_path / "rows_arch.yaml"
    path.write_text(textwrap.dedent(ARCH))
    return load_architecture(path)


def _settling_by_hand(rows: float, bits_index: int) -> float:
    """Reset + signal settling (s) of the committed pixel artifact at the exact ADC resolution of the table's
    column ``bits_index``, linear in C between the table's column capacitances (numpy.interp, not the
    engine's interpolator), on C = (rows − 1)·C_drain + rows·pitch·(w·C_area + 2·C_edge) from the sky130 file."""
    a = ArtifactStore().model_arrays("pixel_4t")
    c = load_technology("sky130").column_line()
    c_col = (rows - 1) * c["drain_F_per_pixel"] + rows * c["pixel_pitch_um"] * (
        c["wire_width_um"] * c["wire_area_F_per_um2"] + 2 * c["wire_edge_F_per_um"])
    table = a["settle_reset_s"][:, bits_index] + a["settle_signal_s"][:, bits_index]
    return float(np.interp(c_col, a["settle_ccol_F"], table))


def test_literature_keeps_the_published_profile_and_says_so(arch):
    ev = evaluate(arch, "literature")
    assert ev.parameters["t_row_readout_s"] == 1e-6
    assert "published profile" in ev.timing_sources["t_row_readout_s"]
    assert ev.symbols["stage_times"]["readout"] == pytest.approx(448 * 1e-6, rel=1e-12)


@pytest.mark.parametrize("rows", [448, 2000])
def test_sky130_row_time_is_the_pixel_settling_on_its_column(arch, rows):
    a = ArtifactStore().model_arrays("pixel_4t")
    j = int(np.nonzero(a["settle_bits"] == 8)[0][0])
    ev = evaluate(arch, "sky130", {"rows": rows})
    expected = _settling_by_hand(rows, j)
    assert ev.parameters["t_row_readout_s"] == pytest.approx(expected, rel=1e-9, abs=0)
    assert ev.symbols["stage_times"]["readout"] == pytest.approx(rows * expected, rel=1e-9, abs=0)
    assert "pixel_4t settling" in ev.timing_sources["t_row_readout_s"]


def test_a_taller_array_and_a_finer_adc_read_slower(arch):
    t = {(rows, bits): evaluate(arch, "sky130", {"rows": rows, "bits_adc": bits}).parameters["t_row_readout_s"]
         for rows in (448, 1000, 3000) for bits in (8, 10)}
    assert t[(448, 8)] < t[(1000, 8)] < t[(3000, 8)]
    assert t[(448, 8)] < t[(448, 10)] and t[(3000, 8)] < t[(3000, 10)]


def test_the_sweep_computes_the_row_time_per_point(arch):
    frame = sweep(arch, {"rows": np.array([448.0, 1000.0, 3000.0])}, "sky130")
    single = [evaluate(arch, "sky130", {"rows": r}) for r in (448, 1000, 3000)]
    assert frame["frame_rate_hz"].to_numpy() == pytest.approx([e.frame_rate_hz for e in single], rel=1e-12)
    assert frame["t_row_readout_s"].to_numpy() == pytest.approx([e.parameters["t_row_readout_s"] for e in single],
                                                                rel=1e-12)


def test_set_wins_over_the_artifact(arch):
    ev = evaluate(arch, "sky130", {"t_row_readout_s": 2e-6})
    assert ev.parameters["t_row_readout_s"] == 2e-6
    assert ev.timing_sources["t_row_readout_s"] == "set by the caller (--set)"


def test_a_column_beyond_the_measured_settling_is_refused(tmp_path):
    path = tmp_path / "rows_arch.yaml"
    path.write_text(textwrap.dedent(ARCH))
    result = CliRunner().invoke(main, ["report", str(path), "--technology", "sky130", "--set", "rows=20000"])
    assert result.exit_code == 2
    assert "above the pixel's measured settling range" in result.output and "Traceback" not in result.output


def test_the_json_names_where_each_timing_came_from(tmp_path):
    path = tmp_path / "rows_arch.yaml"
    path.write_text(textwrap.dedent(ARCH))
    result = CliRunner().invoke(main, ["report", str(path), "--technology", "sky130", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)["architectures"]
    record = record[0] if isinstance(record, list) else record["rows_arch"]
    assert "pixel_4t settling" in record["timing_sources"]["t_row_readout_s"]


def test_a_timing_source_must_name_a_parameter_and_a_known_quantity(tmp_path):
    bad = ARCH.replace("t_row_readout_s: {block: pixel_4t", "t_nope_s: {block: pixel_4t")
    path = tmp_path / "bad.yaml"
    path.write_text(textwrap.dedent(bad))
    with pytest.raises(ArchitectureError, match="names no parameter"):
        load_architecture(path)
    bad = ARCH.replace("quantity: row_readout_s", "quantity: settle_s")
    path.write_text(textwrap.dedent(bad))
    with pytest.raises(ArchitectureError, match="unknown block timing"):
        load_architecture(path)

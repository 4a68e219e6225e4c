"""Issue 20 item 6: the engine's refusals, power lines and provenance, checked against figures computed by
hand from the small architectures written here (the survivors of ``make mutation MODULES=engine``).

Energies are compared with ``rel`` only (``abs=0``): pytest.approx's default ``abs=1e-12`` is larger than
most per-frame energies of a small architecture (nJ and below), so without it a wrong term passes."""

import os
import textwrap
import warnings

import numpy as np
import pytest

from circuitsim.accounting import BudgetResolver, evaluate, list_architectures, load_architecture
from circuitsim.accounting.schema import ArchitectureError
from circuitsim.accounting.sweep import sweep
from circuitsim.accounting.tables import LITERATURE_TABLE, load_energy_table, merged_table
from circuitsim.errors import CircuitsimError
from circuitsim.store import OperatingPoint

TABLE = load_energy_table()
#: the literature SAR ADC conversion at 8 bit: N + 1 = 9 cycles of 2.5 ns
T_CONV_8B_S = 9 * 2.5e-9


def approx_J(value, rel=1e-12):
    return pytest.approx(value, rel=rel, abs=0)


def _write(tmp_path, text, name="arch.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


#: 4 x 8 pixels, one 4 us readout stage (maximum 250 kHz). adc: 2 converters, gated, 2 pJ per conversion
#: (the table's 22.5 ns window), 3 uW static (never charged: gated), 1 uW leakage; bias: always on, 50 uW,
#: 0.7 uW leakage (never charged: always on); col: 8 instances on during the readout stage, no static power
#: in the table, 0.2 uW leakage; pixel: on during readout, the table's 9 uW static, 1 nW leakage stated here.
POWER = """
schema: circuitsim.architecture/1
name: power
description: power-policy lines by hand
parameters: {rows: 4, cols: 8, t_row_s: 1.0e-6, n_adc: 2}
derived: {pixels: rows * cols}
output: {bits_per_frame: pixels * 8, reference_bits_per_frame: pixels * 8}
timing:
  stages:
    - {name: readout, group: array, time_s: rows * t_row_s}
components:
  adc:
    block: sar_adc
    instances: n_adc
    power: {policy: gated}
    resolution_bits: 8
    actions: {conversion: pixels}
    energy_J: 2.0e-12
    static_W: 3.0e-6
    leakage_W: 1.0e-6
    source: {kind: estimate, derivation: "adc test figures"}
  bias:
    block: psf
    instances: 1
    power: {policy: always_on}
    static_W: 5.0e-5
    leakage_W: 7.0e-7
    source: {kind: estimate, derivation: "bias test figures"}
  col:
    block: sar_adc
    instances: cols
    power: {policy: stage, stage: readout}
    leakage_W: 2.0e-7
    source: {kind: measured, citation: "C. Author, 'Columns', Test Venue 2022"}
  pixel:
    block: pixel_4t
    instances: pixels
    power: {policy: stage, stage: readout}
    actions: {readout: pixels}
    leakage_W: 1.0e-9
    source: {kind: measured, citation: "P. Author, 'Pixels', Test Venue 2021"}
"""


def _lines(ev):
    return {(l["component"], l["term"]): l for l in ev.summary()["lines"]}


def test_power_policy_lines_by_hand(tmp_path):
    """Each policy charges exactly the terms it should, at hand-computed times: a gated converter leaks
    outside its own conversion windows (catches the windows being dropped, i.e. leakage over the whole
    period, and a static line charged to a gated component), an always-on bias has no leakage line, a
    component without static power gets no empty static line, and overriding only leakage_W keeps the
    table's static_W (catches the override replacing the missing figure by None)."""
    T = 1e-3
    ev = evaluate(_write(tmp_path, POWER), overrides={"frame_rate_hz": 1e3})
    lines = _lines(ev)
    assert [(l["component"], l["action"], l["term"]) for l in ev.summary()["lines"]] == [
        ("adc", "conversion", "dynamic"), ("adc", "leakage", "leakage"), ("bias", "static", "static"),
        ("col", "leakage", "leakage"), ("pixel", "readout", "dynamic"), ("pixel", "static", "static"),
        ("pixel", "leakage", "leakage")]
    # adc: 32 conversions x 22.5 ns over 2 converters = 360 ns on per converter
    adc_on = 32 * T_CONV_8B_S / 2
    assert lines[("adc", "leakage")]["time_s"] == approx_J(T - adc_on)
    assert lines[("adc", "leakage")]["energy_per_frame_J"] == approx_J(2 * 1e-6 * (T - adc_on))
    assert lines[("adc", "dynamic")]["energy_per_frame_J"] == approx_J(32 * 2e-12)
    assert lines[("bias", "static")]["energy_per_frame_J"] == approx_J(5e-5 * T)
    assert lines[("col", "leakage")]["energy_per_frame_J"] == approx_J(8 * 2e-7 * (T - 4e-6))
    assert lines[("pixel", "static")]["energy_per_frame_J"] == approx_J(32 * 9e-6 * 4e-6)
    assert lines[("pixel", "leakage")]["energy_per_frame_J"] == approx_J(32 * 1e-9 * (T - 4e-6))
    by_hand = (32 * 2e-12 + 2 * 1e-6 * (T - adc_on) + 5e-5 * T + 8 * 2e-7 * (T - 4e-6)
               + 32 * TABLE.budget("pixel_4t", "readout").energy_J + 32 * 9e-6 * 4e-6 + 32 * 1e-9 * (T - 4e-6))
    assert ev.energy_per_frame_J == approx_J(by_hand, rel=1e-12)
    assert ev.energy_per_second_J == approx_J(by_hand * 1e3, rel=1e-12)


def test_stated_figures_carry_the_architecture_as_origin(tmp_path):
    """Figures stated in the architecture are reported as such (origin 'architecture', the stated kind and
    citation, the block they stand for) on dynamic and power lines alike; catches a report that credits
    the literature table, or loses the block or the citation of an override."""
    table = evaluate(_write(tmp_path, POWER), overrides={"frame_rate_hz": 1e3}).table()
    rows = {(r.component, r.term): r for r in table.itertuples()}
    conv = rows[("adc", "dynamic")]
    assert (conv.block, conv.origin, conv.source_kind, conv.source) == \
        ("sar_adc", "architecture", "estimate", "adc test figures")
    assert conv.energy_per_action_J == 2e-12
    for key, kind, words in ((("pixel", "static"), "measured", "'Pixels'"), (("pixel", "leakage"), "measured",
                                                                            "'Pixels'"),
                             (("col", "leakage"), "measured", "'Columns'")):
        row = rows[key]
        assert row.origin == "architecture" and row.source_kind == kind and words in row.source, row
    assert rows[("pixel", "static")].block == "pixel_4t"
    assert rows[("pixel", "dynamic")].origin == "literature"


def test_override_of_one_action_keeps_the_table_for_the_others(tmp_path):
    """An SRAM with read_bit stated in the architecture and write_bit from the table: both actions are
    priced (catches the action loop stopping at the first stated figure)."""
    text = POWER.split("components:")[0] + """components:
  sram:
    block: sram
    actions: {read_bit: 100, write_bit: 50}
    energy_J: {read_bit: 1.0e-15}
    source: {kind: estimate, derivation: "read only"}
"""
    ev = evaluate(_write(tmp_path, text))
    e_write = TABLE.budget("sram", "write_bit").energy_J
    assert ev.component_energy_J()["sram"] == approx_J(100 * 1e-15 + 50 * e_write)
    assert [r.origin for r in ev.table().itertuples()] == ["architecture", "literature"]


def test_static_only_override_keeps_the_table_leakage(tmp_path):
    """A user table gives pixel_4t a 4 nW leakage; the architecture states only static_W: the leakage
    stays the table's (catches the override replacing the unstated leakage by None)."""
    user = tmp_path / "mine.yaml"
    user.write_text(textwrap.dedent("""\
        schema: circuitsim.energy_table/1
        components:
          pixel_4t:
            static_W: 2.0e-5
            leakage_W: 4.0e-9
            power_source: {kind: measured, citation: "C. Author, 'Our pixel', Venue 2025"}
        """))
    text = POWER.split("components:")[0] + """components:
  pixel:
    block: pixel_4t
    instances: pixels
    power: {policy: stage, stage: readout}
    static_W: 1.0e-5
    source: {kind: estimate, derivation: "static only"}
"""
    resolver = BudgetResolver(table=merged_table(user))
    ev = evaluate(_write(tmp_path, text), overrides={"frame_rate_hz": 1e3}, resolver=resolver)
    lines = _lines(ev)
    assert lines[("pixel", "static")]["energy_per_frame_J"] == approx_J(32 * 1e-5 * 4e-6)
    assert lines[("pixel", "leakage")]["energy_per_frame_J"] == approx_J(32 * 4e-9 * (1e-3 - 4e-6))
    assert ev.energy_tables == (LITERATURE_TABLE, user)
    assert "mine.yaml" in ev.budget_description


def test_zero_instances_cost_nothing(tmp_path):
    """No bias generator in this variant (instances: 0): its static energy is 0, not nan (catches the
    per-instance action time divided by a zero instance count when there are no actions)."""
    text = POWER.replace("    instances: 1\n", "    instances: 0\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ev = evaluate(_write(tmp_path, text), overrides={"frame_rate_hz": 1e3})
    assert ev.component_energy_J()["bias"] == 0.0
    assert np.isfinite(ev.energy_per_frame_J)


def test_gated_converters_with_zero_instances_refused_without_a_numpy_warning(tmp_path):
    """n_adc: 0 while 32 conversions remain: the converters would be on forever; refused with the engine's
    message, not a NumPy division RuntimeWarning (catches the error-state guard being dropped)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ArchitectureError, match=r"components.adc is on inf s per frame"):
            evaluate(_write(tmp_path, POWER), overrides={"n_adc": 0})


# -- on-time longer than the frame period ---------------------------------------------------------------

ON_TIME = POWER.split("components:")[0] + """components:
  bias:
    block: psf
    instances: 1
    power: {policy: stage, on_time_s: on_s}
"""


def test_stage_on_time_longer_than_the_period_refused(tmp_path):
    """A bias stated on for 1.5 ms in a 1 ms frame: refused, naming the component, both times and the
    on_time_s formula (catches the check being skipped, a 2x tolerance, a lost message)."""
    path = _write(tmp_path, ON_TIME.replace("n_adc: 2}", "n_adc: 2, on_s: 1.5e-3}"))
    with pytest.raises(ArchitectureError) as info:
        evaluate(path, overrides={"frame_rate_hz": 1e3})
    assert str(info.value) == ("arch.yaml: components.bias is on 0.0015 s per frame (power.on_time_s on_s), "
                               "longer than the frame period 0.001 s; lower the frame rate or fix the on-time")


def test_on_time_equal_to_the_period_accepted_and_charged_fully(tmp_path):
    """On for the whole frame (on_time_s = frame_period_s, or one rounding step above) is allowed: static
    power over T, no leakage (catches a >= in place of > at the rounding tolerance)."""
    for formula in ("frame_period_s", "frame_period_s * (1 + 1e-9)"):
        path = _write(tmp_path, ON_TIME.replace("on_time_s: on_s", f"on_time_s: '{formula}'"))
        ev = evaluate(path, overrides={"frame_rate_hz": 1e3})
        assert ev.component_terms_J()["bias"]["static"] == approx_J(1.8e-5 * 1e-3, rel=1e-8)


def test_gated_action_windows_longer_than_the_period_refused(tmp_path):
    """One converter doing 32 conversions of 22.5 ns (720 ns) in a 500 ns frame: refused, the rule named."""
    text = POWER.split("  bias:")[0].replace("n_adc: 2", "n_adc: 1").replace("rows * t_row_s", "0.5e-6")
    with pytest.raises(ArchitectureError) as info:
        evaluate(_write(tmp_path, text))
    assert str(info.value) == ("arch.yaml: components.adc is on 7.2e-07 s per frame (its action windows (count "
                               "* latency_s per instance)), longer than the frame period 5e-07 s; lower the "
                               "frame rate or fix the on-time")


def test_on_time_on_a_grid_names_the_first_bad_point(tmp_path):
    """Sweeping the on-time at 1 kHz: 0.5 ms is fine, 1.5 ms is not; points the constraints refuse are not
    checked (catches the wrong point's figures in the message, or refusing invalid points)."""
    path = _write(tmp_path, ON_TIME.replace("n_adc: 2}", "n_adc: 2, on_s: 1.0e-3}"))
    with pytest.raises(ArchitectureError, match=r"is on 0.0015 s per frame \(power.on_time_s on_s\), longer "
                                                r"than the frame period 0.001 s"):
        sweep(path, {"on_s": [0.5e-3, 1.5e-3], "frame_rate_hz": [1e3]})
    guarded = path.read_text().replace("derived:", "constraints: [{require: 'on_s <= 1e-3', message: "
                                                   "'short only'}]\nderived:")
    frame = sweep(_write(tmp_path, guarded, "guarded.yaml"), {"on_s": [0.5e-3, 1.5e-3], "frame_rate_hz": [1e3]})
    assert frame["valid"].tolist() == [True, False]
    assert frame["energy_per_frame_J"].iloc[0] == approx_J(1.8e-5 * 0.5e-3)


# -- operating point refusals ---------------------------------------------------------------------------

SMALL = POWER.split("components:")[0] + """operating:
  row_time_s: frame_period_s / rows
components:
  pixel:
    block: pixel_4t
    actions: {readout: pixels}
"""


def test_frame_rate_tolerance_is_rounding_only(tmp_path):
    """1/frame_time computed with rounding (max x (1 + 1e-12)) is accepted; 1 ppb above the maximum or
    an exposure 1.5 x the period is refused (catches >= at the tolerance and a 2x tolerance)."""
    path = _write(tmp_path, SMALL)
    top = evaluate(path).summary()["max_frame_rate_hz"]
    assert top == pytest.approx(250e3, rel=1e-12)
    assert evaluate(path, overrides={"frame_rate_hz": top * (1 + 1e-12)}).frame_rate_hz > top
    with pytest.raises(ArchitectureError, match="exceeds the maximum 250000 Hz"):
        evaluate(path, overrides={"frame_rate_hz": 250e3 * (1 + 1e-9)})
    assert evaluate(path, overrides={"frame_rate_hz": 1e3, "exposure_s": 1e-3 * (1 + 1e-12)})
    with pytest.raises(ArchitectureError, match=r"exposure_s is 0.0015 s at frame_rate_hz=1000, exposure_s=0.0015; "
                                                r"it must be within \(0, 0.001\] s \(the frame period at 1000 Hz\)"):
        evaluate(path, overrides={"frame_rate_hz": 1e3, "exposure_s": 1.5e-3})
    with pytest.raises(ArchitectureError, match=r"exposure_s is 0 s"):
        evaluate(path, overrides={"frame_rate_hz": 1e3, "exposure_s": 0.0})


@pytest.mark.parametrize("row_s", [0.0, -1e-6])
def test_row_time_must_be_positive(tmp_path, row_s):
    """A row time of zero or below (set by --set row_time_s) is refused with the value and the rule
    (catches the row-time check being skipped or accepting 0)."""
    with pytest.raises(ArchitectureError) as info:
        evaluate(_write(tmp_path, SMALL), overrides={"row_time_s": row_s})
    assert str(info.value) == (f"arch.yaml: row_time_s is {row_s:g} s at row_time_s={row_s:g}; it must be finite "
                               "and > 0")


def test_operating_refusals_on_a_grid_name_the_first_bad_point(tmp_path):
    """On a sweep, each refusal quotes the first bad point's own figures (catches the message taking the
    wrong point or the scalar path on a grid)."""
    path = _write(tmp_path, SMALL)
    # t_row_s 1 us -> max 250 kHz, 2 us -> 125 kHz; both points at 0 Hz: the first is quoted
    with pytest.raises(ArchitectureError) as info:
        sweep(path, {"t_row_s": [1e-6, 2e-6], "frame_rate_hz": [0.0]})
    assert str(info.value) == ("arch.yaml: frame_rate_hz is 0 at t_row_s=1e-06, frame_rate_hz=0; the operating "
                               "frame rate must be within (0, 250000] Hz (the maximum, 1/frame_time_s)")
    with pytest.raises(ArchitectureError) as info:
        sweep(path, {"t_row_s": [1e-6, 2e-6], "frame_rate_hz": [2e5]})
    assert str(info.value) == ("arch.yaml: frame_rate_hz 200000 Hz exceeds the maximum 125000 Hz at "
                               "t_row_s=2e-06, frame_rate_hz=200000, set by stage array/readout (frame time 8e-06 "
                               "s); choose a frame rate within (0, 125000] Hz")
    with pytest.raises(ArchitectureError) as info:
        sweep(path, {"frame_rate_hz": [1e3, 2e3], "exposure_s": [0.75e-3]})
    assert str(info.value) == ("arch.yaml: exposure_s is 0.00075 s at frame_rate_hz=2000, exposure_s=0.00075; it "
                               "must be within (0, 0.0005] s (the frame period at 2000 Hz); lower the exposure or "
                               "the frame rate")
    with pytest.raises(ArchitectureError) as info:
        sweep(path, {"row_time_s": [1e-6, -2e-6]})
    assert str(info.value) == "arch.yaml: row_time_s is -2e-06 s at row_time_s=-2e-06; it must be finite and > 0"


def test_too_fast_on_a_grid_names_the_stage_of_that_point(tmp_path, write_arch):
    """The tiny architecture with a fast (1 Gb/s) and a slow (1 Mb/s) link at 10 kHz: only the slow point
    is too fast, and the stage that bounds it is the link, not the array (catches the bounding stage taken
    at the wrong point of the grid)."""
    with pytest.raises(ArchitectureError) as info:
        sweep(write_arch(), {"link_bps": [1e9, 1e6], "frame_rate_hz": [1e4]})
    assert str(info.value) == ("tiny.yaml: frame_rate_hz 10000 Hz exceeds the maximum 3906.25 Hz at link_bps=1e+06, "
                               "frame_rate_hz=10000, set by stage link/link (frame time 0.000256 s); choose a frame "
                               "rate within (0, 3906.25] Hz")


# -- supply scaling --------------------------------------------------------------------------------------

SUPPLY = POWER.split("components:")[0].replace("n_adc: 2}", "n_adc: 2, vdd_pix_v: 1.8}") + """components:
  pixel:
    block: pixel_4t
    instances: pixels
    power: {policy: stage, stage: readout}
    supply_v: vdd_pix_v
    actions: {readout: pixels}
"""


@pytest.mark.parametrize("volts", [1.6, 1.95])
def test_supply_at_the_ends_of_the_range_accepted(tmp_path, volts):
    """The refusal quotes [1.6, 1.95] V as the range, so both ends are allowed, scaled from 1.8 V: dynamic
    C V^2, static I V (catches an open interval)."""
    ev = evaluate(_write(tmp_path, SUPPLY), overrides={"vdd_pix_v": volts, "frame_rate_hz": 1e3})
    terms = ev.component_terms_J()["pixel"]
    assert terms["dynamic"] == approx_J(32 * TABLE.budget("pixel_4t", "readout").energy_J * (volts / 1.8) ** 2)
    assert terms["static"] == approx_J(32 * 9e-6 * (volts / 1.8) * 4e-6)


def test_supply_out_of_range_on_a_grid_quotes_the_bad_supply(tmp_path):
    """Sweeping the supply over 1.8 V and 2.5 V: the message quotes 2.5 V, the range and the scaling rule
    (catches the scalar path on a grid or the wrong point)."""
    with pytest.raises(ArchitectureError) as info:
        sweep(_write(tmp_path, SUPPLY), {"vdd_pix_v": [1.8, 2.5]})
    assert str(info.value) == ("arch.yaml: components.pixel.supply_v (vdd_pix_v) is 2.5 V, outside the range of "
                               "pixel_4t [1.6, 1.95] V (its figures are at 1.8 V; dynamic energy scales as V^2, "
                               "static and leakage power as V); choose a supply within the range, or run the "
                               "component on another supply domain's circuit: pixel_4t_3v3 (set "
                               "components.pixel.block, and the block of any timing.from_blocks entry that names "
                               "pixel_4t, to it; its supply range is its artifact's)")


# -- counts, timing, compression ratio, parameters -------------------------------------------------------

def test_negative_count_on_a_grid_names_the_point(tmp_path, write_arch, tiny_yaml):
    """pixels - offset with offset 0 and 100: the count -68 at offset=100 is quoted with the rule (catches
    the wrong point, or the scalar path, in the message)."""
    text = tiny_yaml.replace("  link_bps: 1.0e6\n", "  link_bps: 1.0e6\n  offset: 0\n").replace(
        "actions: {readout: pixels}", "actions: {readout: pixels - offset}")
    with pytest.raises(ArchitectureError) as info:
        sweep(write_arch(text), {"offset": [0.0, 100.0]})
    assert str(info.value) == ("tiny.yaml: components.pixel: action 'readout' has a negative or non-finite count at "
                               "offset=100 (count formula gives -68); a count per frame must be finite and >= 0: "
                               "fix the formula or the parameters it reads")


def test_zero_frame_time_named_on_one_point_and_on_a_grid(tmp_path):
    """A zero row time makes the frame time 0: refused naming the timing stages and the point."""
    path = _write(tmp_path, SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ArchitectureError) as info:
            evaluate(path, overrides={"t_row_s": 0.0})
    assert str(info.value) == ("arch.yaml: frame_time_s from the timing stages is 0 at t_row_s=0; it must be finite "
                               "and > 0: check the formulas and the parameters they read")
    with pytest.raises(ArchitectureError, match=r"frame_time_s from the timing stages is 0 at t_row_s=0;"):
        sweep(path, {"t_row_s": [1e-6, 0.0]})


def test_zero_bits_refused_without_a_numpy_warning(write_arch, tiny_yaml):
    """bits: 0 (so the compression ratio divides by zero) and rows: 0 (0 / 0): one engine error, no NumPy
    RuntimeWarning on the way (catches the error-state guard of the symbol evaluation being dropped)."""
    for old, new in (("bits: 8\n", "bits: 0\n"), ("rows: 4\n", "rows: 0\n")):
        path = write_arch(tiny_yaml.replace(old, new))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(ArchitectureError, match=r"(bits_per_frame|frame_time_s) from"):
                evaluate(path)


CONSTRAINED = POWER.split("components:")[0].replace("derived:", """constraints:
  - {require: "rows >= 8", message: "rows must be at least 8"}
  - {require: "cols >= 16", message: "cols must be at least 16"}
derived:""") + """components:
  pixel:
    block: pixel_4t
    actions: {readout: pixels}
"""


def test_constraint_refusal_names_every_failed_constraint_and_the_overrides(tmp_path):
    """Both constraints fail: both messages, the parameters as given (or 'defaults') and what to do."""
    path = _write(tmp_path, CONSTRAINED)
    with pytest.raises(ArchitectureError) as info:
        evaluate(path)
    assert str(info.value) == ("power (arch.yaml): rows must be at least 8; cols must be at least 16 (defaults); "
                               "choose parameters that meet the constraint (in the file or as overrides)")
    with pytest.raises(ArchitectureError) as info:
        evaluate(path, overrides={"rows": 2, "cols": 3})
    assert "at least 16 (rows=2, cols=3); choose" in str(info.value)


@pytest.mark.parametrize("stated, ok", [("ratio", True), ("ratio * (1 + 1e-6)", False), ("ratio * (1 - 1e-6)", False)])
def test_stated_compression_ratio_checked_to_1e_9(tmp_path, stated, ok):
    """An expanding output (CR = 1/1024, e.g. raw plus metadata): a stated ratio 1 ppm off is refused
    (catches a looser relative tolerance or an absolute one of 1e-8, which would hide it at CR << 1)."""
    text = POWER.split("components:")[0].replace(
        "n_adc: 2}", "n_adc: 2, ratio: 0.0009765625}").replace(
        "reference_bits_per_frame: pixels * 8}", f"reference_bits_per_frame: pixels / 128, compression_ratio: '{stated}'}}") + \
        "components:\n  pixel:\n    block: pixel_4t\n    actions: {readout: pixels}\n"
    path = _write(tmp_path, text)
    if ok:
        assert evaluate(path).compression_ratio == 1 / 1024
        return
    with pytest.raises(ArchitectureError, match=r"output.compression_ratio \(.*\) disagrees with "
                                                r"reference_bits_per_frame / bits_per_frame at defaults"):
        evaluate(path)
    with pytest.raises(ArchitectureError, match=r"disagrees .* at rows=8$"):
        sweep(path, {"rows": [8.0]})


def test_unknown_parameters_listed_with_the_valid_ones(tmp_path):
    """Two misspelt parameters: both named, then the valid parameters and operating keys, comma separated."""
    with pytest.raises(ArchitectureError) as info:
        evaluate(_write(tmp_path, SMALL), overrides={"rowz": 1, "colz": 2})
    assert str(info.value) == ("power: unknown parameter(s) colz, rowz; valid parameters: cols, n_adc, rows, "
                               "t_row_s; operating point: frame_rate_hz, exposure_s, row_time_s")


def test_resolution_refusal_without_a_swept_resolution_names_no_point(write_arch, tiny_yaml):
    """resolution_bits 99 on a sweep over rows: the resolution does not depend on the swept parameter, so
    the message names no point; one configuration neither (catches a point list where there is none)."""
    path = write_arch(tiny_yaml + "  adc:\n    block: sar_adc\n    resolution_bits: 99\n"
                                  "    actions: {conversion: pixels}\n")
    expected = ("tiny.yaml: components.adc.resolution_bits (99) is 99 bit: a converter resolution must be an "
                "integer 1..16 bit or 1.5 (ternary); set resolution_bits (or the parameter it reads) within that "
                "range")
    for run in (lambda: evaluate(path), lambda: sweep(path, {"rows": [4.0, 8.0]})):
        with pytest.raises(ArchitectureError) as info:
            run()
        assert str(info.value) == expected


def test_static_and_leakage_on_a_grid_over_the_resolution(tmp_path):
    """A converter with stated static and leakage power swept over 4 and 8 bit: at each point its power
    lines are the hand figures, counted once (catches the per-resolution mask dividing the instances)."""
    text = POWER.split("components:")[0].replace("n_adc: 2}", "n_adc: 2, bits: 8}") + """components:
  adc:
    block: sar_adc
    instances: n_adc
    power: {policy: stage, stage: readout}
    resolution_bits: bits
    energy_J: {conversion: 2.0e-12}
    actions: {conversion: pixels}
    static_W: 3.0e-6
    leakage_W: 1.0e-6
    source: {kind: estimate, derivation: "adc test figures"}
"""
    frame = sweep(_write(tmp_path, text), {"bits": [4.0, 8.0], "frame_rate_hz": [1e3]})
    T = 1e-3
    for bits, energy in zip((4, 8), frame["energy_adc_J"]):
        active = 32 * (bits + 1) * 2.5e-9 / 2                       # per converter, inside its stage
        expected = 32 * 2e-12 + 2 * 3e-6 * (4e-6 - active) + 2 * 1e-6 * (T - 4e-6)
        assert energy == approx_J(expected)


# -- evaluate(): what it returns, and where it looks ----------------------------------------------------

def test_evaluation_reports_the_parameters_used(tmp_path):
    """Overridden parameters appear in ev.parameters (and the JSON), the operating keys do not (catches
    the overrides being dropped from the record, or the wrong ones kept)."""
    ev = evaluate(_write(tmp_path, SMALL), overrides={"rows": 8, "frame_rate_hz": 1e3})
    assert ev.parameters == {"rows": 8.0, "cols": 8, "t_row_s": 1e-6, "n_adc": 2}
    assert ev.summary()["parameters"]["rows"] == 8.0 and "frame_rate_hz" not in ev.summary()["parameters"]
    assert ev.technology == "literature" and ev.point is None
    assert ev.budget_description == "literature table (energy_literature.yaml)"
    assert ev.energy_tables == (LITERATURE_TABLE,)


def test_evaluate_refuses_a_grid_with_the_way_out(tmp_path):
    """evaluate() is one configuration: an array value is refused, pointing to sweep()."""
    with pytest.raises(CircuitsimError, match=r"evaluate\(\) takes one value per parameter \(rows\); use sweep\(\) "
                                              r"for grids"):
        evaluate(_write(tmp_path, SMALL), overrides={"rows": [4, 8]})


def test_evaluate_reads_the_given_calibration_root(tmp_path, write_energy_artifact):
    """evaluate(..., technology='sky130', calibration_root=...) prices from that root's artifacts and
    records the operating point (catches the root being ignored, or the point dropped)."""
    write_energy_artifact("pixel_4t", "readout", 3.0e-12, 1e-7)
    ev = evaluate(_write(tmp_path, SMALL, "small.yaml"), technology="sky130", calibration_root=tmp_path)
    assert ev.component_energy_J()["pixel"] == approx_J(32 * 3.0e-12)
    assert ev.technology == "sky130" and ev.point == OperatingPoint("tt", 27.0, "sky130")
    assert str(tmp_path) in ev.budget_description
    assert ev.summary()["operating_point"] == OperatingPoint("tt", 27.0, "sky130").as_dict()


# -- loading architectures --------------------------------------------------------------------------------

def test_architectures_from_another_directory(tmp_path):
    """list_architectures / load_architecture with a directory look there, and a missing name lists that
    directory's architectures (catches the directory argument being ignored)."""
    for name in ("alpha", "beta"):
        _write(tmp_path, SMALL.replace("name: power", f"name: {name}"), f"{name}.yaml")
    assert list_architectures(tmp_path) == ["alpha", "beta"]
    assert load_architecture("beta", directory=tmp_path).name == "beta"
    with pytest.raises(ArchitectureError, match=r"unknown architecture 'gamma'; valid choices: alpha, beta \(or"):
        load_architecture("gamma", directory=tmp_path)


def test_architecture_paths(tmp_path):
    """A .yml path loads; a .yaml path that does not exist is an unknown architecture, not an OSError; a
    file that is not YAML by name is not read."""
    assert load_architecture(_write(tmp_path, SMALL, "mine.yml")).name == "power"
    with pytest.raises(ArchitectureError, match="unknown architecture"):
        load_architecture(tmp_path / "missing.yaml")
    with pytest.raises(ArchitectureError, match="unknown architecture"):
        load_architecture(_write(tmp_path, SMALL, "notes.txt"))


def test_edited_architecture_is_reloaded(tmp_path):
    """Editing the file in a running session is seen by the next load (catches the cache ignoring the
    modification time)."""
    path = _write(tmp_path, SMALL)
    assert load_architecture(path).parameters["rows"] == 4
    path.write_text(textwrap.dedent(SMALL.replace("rows: 4", "rows: 6")))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert load_architecture(path).parameters["rows"] == 6


def test_on_during_stages_of_two_concurrent_groups_refused_at_the_maximum_rate(write_arch, tiny_yaml):
    """A driver on during the array readout (6 us with the ADC stage) and the link (256 us), which run
    concurrently: 262 us on in a 256 us frame is refused, naming its power.stage rule."""
    text = tiny_yaml + ("  driver:\n    block: psf\n    instances: 1\n"
                        "    power: {policy: stage, stage: [readout, link]}\n")
    with pytest.raises(ArchitectureError) as info:
        evaluate(write_arch(text))
    assert str(info.value) == ("tiny.yaml: components.driver is on 0.00026 s per frame (power.stage), longer than "
                               "the frame period 0.000256 s; lower the frame rate or fix the on-time")


def test_calibrated_power_is_read_at_the_converter_resolution(tmp_path):
    """sky130 with a sar_adc_8b artifact that records static_W and leakage_W: an 8-bit converter's power
    lines use them (catches the power looked up without the resolution, which falls back to the table's
    zero figures)."""
    from circuitsim.store import ENERGY_FILE, MODEL_FILE, SPICE_FILE, ArtifactStore, json_bytes, npz_bytes

    point = OperatingPoint("tt", 27.0, "sky130")
    energy = {"component": "sar_adc_8b", "technology": "sky130", "corner": "tt", "temperature_C": 27.0,
              "static_W": 4.0e-6, "leakage_W": 5.0e-7,
              "actions": [{"name": "conversion", "energy_J": 6.0e-12, "latency_s": 22.5e-9, "note": "test"}]}
    files = {ENERGY_FILE: json_bytes(energy), MODEL_FILE: npz_bytes({}), SPICE_FILE: npz_bytes({})}
    ArtifactStore(tmp_path).write("sar_adc_8b", point, files, {"block": "sar_adc_8b", **point.as_dict()})
    text = POWER.split("components:")[0] + """components:
  adc:
    block: sar_adc
    instances: n_adc
    power: {policy: stage, stage: readout}
    resolution_bits: 8
    actions: {conversion: pixels}
"""
    ev = evaluate(_write(tmp_path, text), technology="sky130", calibration_root=tmp_path,
                  overrides={"frame_rate_hz": 1e3})
    lines = _lines(ev)
    active = 32 * 22.5e-9 / 2
    assert lines[("adc", "static")]["energy_per_frame_J"] == approx_J(2 * 4e-6 * (4e-6 - active))
    assert lines[("adc", "leakage")]["energy_per_frame_J"] == approx_J(2 * 5e-7 * (1e-3 - 4e-6))
    assert lines[("adc", "static")]["origin"] == "calibrated"

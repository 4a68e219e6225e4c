"""Issue 17: the operating point (frame rate, exposure, row time), static and leakage power per power policy,
users' own numbers (architecture overrides, --energy-table, --set, --technology PATH), supply scaling and
the link model. Every expected figure is computed by hand from the inputs written here."""

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from circuitsim.accounting import evaluate, list_architectures, load_energy_table
from circuitsim.accounting.schema import ArchitectureError
from circuitsim.accounting.sweep import sweep
from circuitsim.cli import main

ROOT = Path(__file__).resolve().parents[2]

#: 4 rows x 8 columns; pixel: 1 pJ per readout, 10 uW while selected (its row slot), 1 nW deselected;
#: a bias generator always on at 50 uW; an ADC per column, gated, 2 pJ and 10 ns per conversion, 1 uW off.
SMALL = """
schema: circuitsim.architecture/1
name: small
description: hand-checkable operating point
parameters: {rows: 4, cols: 8, t_row_s: 1.0e-6, vdd_pix_v: 1.8}
derived: {pixels: rows * cols}
output: {bits_per_frame: pixels * 8, reference_bits_per_frame: pixels * 8}
timing:
  stages:
    - {name: readout, group: array, time_s: rows * t_row_s}
operating:
  row_time_s: frame_period_s / rows
components:
  pixel:
    block: pixel_4t
    instances: pixels
    power: {policy: stage, on_time_s: row_time_s}
    supply_v: vdd_pix_v
    actions: {readout: pixels}
    energy_J: 1.0e-12
    static_W: 1.0e-5
    leakage_W: 1.0e-9
    source: {kind: measured, citation: "A. Author, 'A test chip', Test Venue 2024"}
  bias:
    block: psf
    instances: 1
    power: {policy: always_on}
    static_W: 5.0e-5
    source: {kind: estimate, derivation: "50 uW reference, our choice for the test"}
  adc:
    block: sar_adc
    instances: cols
    power: {policy: gated}
    resolution_bits: 8
    actions: {conversion: pixels}
    energy_J: 2.0e-12
    leakage_W: 1.0e-6
    source: {kind: measured, citation: "B. Author, 'An ADC', Test Venue 2023"}
"""


def _small(tmp_path, text=SMALL, name="small.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def _by_hand(f_hz, adc_latency_s):
    """The small architecture's three terms at frame rate f (T = 1/f), from the figures above."""
    T = 1 / f_hz
    pixels, cols, rows = 32, 8, 4
    dynamic = pixels * 1e-12 + pixels * 2e-12
    row_time = T / rows
    static = pixels * 1e-5 * row_time + 5e-5 * T          # pixel: no latency in its window; bias: always on
    adc_active = pixels * adc_latency_s / cols             # per converter
    leakage = pixels * 1e-9 * (T - row_time) + cols * 1e-6 * (T - adc_active)
    return dynamic, static, leakage


@pytest.mark.parametrize("f_hz", [1e3, 30.0])
def test_small_architecture_by_hand_at_two_frame_rates(tmp_path, f_hz):
    ev = evaluate(_small(tmp_path), overrides={"frame_rate_hz": f_hz})
    latency = ev.lines[[l.component for l in ev.lines].index("adc")].budget.latency_s
    dynamic, static, leakage = _by_hand(f_hz, latency)
    s = ev.summary()
    assert s["frame_rate_hz"] == f_hz and s["frame_period_s"] == pytest.approx(1 / f_hz)
    assert s["max_frame_rate_hz"] == pytest.approx(1 / 4e-6)
    assert s["dynamic_energy_per_frame_J"] == pytest.approx(dynamic, rel=1e-12)
    assert s["static_energy_per_frame_J"] == pytest.approx(static, rel=1e-12)
    assert s["leakage_energy_per_frame_J"] == pytest.approx(leakage, rel=1e-12)
    assert s["energy_per_frame_J"] == pytest.approx(dynamic + static + leakage, rel=1e-12)
    assert sum(s["components"].values()) == pytest.approx(s["energy_per_frame_J"])
    for line in s["lines"]:
        assert line["energy_per_frame_J"] == pytest.approx(line["count"] * line["energy_J"])


def test_static_share_grows_as_the_frame_rate_falls(tmp_path):
    path = _small(tmp_path)
    shares = []
    for f_hz in (1e5, 1e3, 30.0, 1.0):
        s = evaluate(path, overrides={"frame_rate_hz": f_hz}).summary()
        shares.append(s["static_energy_per_frame_J"] / s["energy_per_frame_J"])
        assert s["dynamic_energy_per_frame_J"] == pytest.approx(96e-12)  # the same actions at every rate
    assert shares == sorted(shares) and shares[-1] > 0.9


def test_leakage_line_is_leakage_power_times_idle_time(tmp_path):
    ev = evaluate(_small(tmp_path), overrides={"frame_rate_hz": 100.0})
    (line,) = [l for l in ev.summary()["lines"] if l["component"] == "pixel" and l["term"] == "leakage"]
    idle_s = 1 / 100 - (1 / 100) / 4        # a pixel is selected for one of the 4 row slots
    assert line["power_W"] == 1e-9 and line["time_s"] == pytest.approx(idle_s)
    assert line["energy_per_frame_J"] == pytest.approx(32 * 1e-9 * idle_s)
    assert line["source_kind"] == "measured" and "A test chip" in line["source"]
    # always on: no leakage line; gated: no static line
    terms = {(l["component"], l["term"]) for l in ev.summary()["lines"]}
    assert ("bias", "leakage") not in terms and ("adc", "static") not in terms


def test_default_operating_point_is_the_maximum_frame_rate(tmp_path):
    s = evaluate(_small(tmp_path)).summary()
    assert s["frame_rate_hz"] == pytest.approx(s["max_frame_rate_hz"]) == pytest.approx(250e3)
    assert s["exposure_s"] == pytest.approx(s["frame_period_s"])
    assert s["max_frame_rate_limited_by"] == "array/readout"


@pytest.mark.parametrize("overrides, words", [
    ({"frame_rate_hz": 3e5}, ["exceeds the maximum 250000 Hz", "array/readout", "(0, 250000] Hz"]),
    ({"frame_rate_hz": 0.0}, ["within (0, 250000] Hz"]),
    ({"frame_rate_hz": -5.0}, ["within (0, 250000] Hz"]),
    ({"frame_rate_hz": 30.0, "exposure_s": 0.1}, ["exposure_s", "(0, 0.0333333] s"]),
    ({"vdd_pix_v": 5.0}, ["supply_v", "5 V", "[1.6, 1.95] V"]),
])
def test_bad_operating_points_refused_with_the_valid_range(tmp_path, overrides, words):
    with pytest.raises(ArchitectureError) as info:
        evaluate(_small(tmp_path), overrides=overrides)
    for word in words:
        assert word in str(info.value), str(info.value)


def test_override_without_a_source_refused(tmp_path):
    text = SMALL.replace('    source: {kind: measured, citation: "B. Author, \'An ADC\', Test Venue 2023"}\n', "")
    with pytest.raises(ArchitectureError, match=r"components.adc.source: energy_J, leakage_W stated without a "
                                                r"source.*kind: measured"):
        evaluate(_small(tmp_path, text))
    text = SMALL.replace("{kind: measured, citation: \"A. Author, 'A test chip', Test Venue 2024\"}", "{kind: measured}")
    with pytest.raises(ArchitectureError, match="needs a 'citation'"):
        evaluate(_small(tmp_path, text))


def test_supply_scaling_dynamic_v_squared_static_v(tmp_path):
    path = _small(tmp_path)
    base = evaluate(path, overrides={"frame_rate_hz": 30.0}).component_terms_J()["pixel"]
    # the pixel's figures are at 1.8 V (the table's reference); its range is the sky130 core [1.6, 1.95] V
    scaled = evaluate(path, overrides={"frame_rate_hz": 30.0, "vdd_pix_v": 1.62}).component_terms_J()["pixel"]
    assert scaled["dynamic"] == pytest.approx(base["dynamic"] * 0.9 ** 2)
    assert scaled["static"] == pytest.approx(base["static"] * 0.9)
    assert scaled["leakage"] == pytest.approx(base["leakage"] * 0.9)


def test_energy_table_merged_over_the_default(tmp_path):
    user = tmp_path / "mine.yaml"
    user.write_text(textwrap.dedent("""\
        schema: circuitsim.energy_table/1
        components:
          pixel_4t:
            static_W: 2.0e-5
            power_source: {kind: measured, citation: "C. Author, 'Our pixel', Venue 2025"}
            actions:
              - {name: readout, energy_J: 5.0e-12, latency_s: null, source: {kind: measured, citation: "C. Author, 'Our pixel', Venue 2025"}}
        """))
    runner = CliRunner()
    result = runner.invoke(main, ["report", "cnv", "--energy-table", str(user), "--set", "frame_rate_hz=30", "--json"])
    assert result.exit_code == 0, result.output
    rec = json.loads(result.output)["architectures"]["cnv"]
    pixel = [l for l in rec["lines"] if l["component"] == "pixel"]
    assert {l["term"]: l["source_kind"] for l in pixel} == {"dynamic": "measured", "static": "measured"}
    assert pixel[0]["energy_J"] == 5e-12
    assert pixel[1]["power_W"] == 2e-5 and pixel[1]["time_s"] == pytest.approx(1 / 30 / 448)
    adc = [l for l in rec["lines"] if l["component"] == "adc"][0]
    assert adc["source_kind"] == "estimate"   # the default table's entries stay


INTERFACE_KEYS = ("energy_per_frame_J", "frame_rate_hz", "max_frame_rate_hz", "dynamic_energy_per_frame_J",
                  "static_energy_per_frame_J", "leakage_energy_per_frame_J", "bits_per_frame", "compression_ratio",
                  "components", "lines")
LINE_KEYS = ("component", "action", "count", "energy_J", "energy_per_frame_J", "source_kind", "source")


def test_set_frame_rate_30_on_every_shipped_architecture_json_interface():
    names = list_architectures()
    result = CliRunner().invoke(main, ["report", *names, "--set", "frame_rate_hz=30", "--json"])
    assert result.exit_code == 0, result.output
    archs = json.loads(result.output)["architectures"]
    assert sorted(archs) == sorted(names)
    for name, rec in archs.items():
        assert all(k in rec for k in INTERFACE_KEYS), name
        assert rec["frame_rate_hz"] == 30 and rec["max_frame_rate_hz"] >= 30
        assert all(all(k in line for k in LINE_KEYS) for line in rec["lines"])
        total = rec["dynamic_energy_per_frame_J"] + rec["static_energy_per_frame_J"] + rec["leakage_energy_per_frame_J"]
        assert rec["energy_per_frame_J"] == pytest.approx(total)


def test_cnv_at_30_and_1_fps_differ_by_the_static_energy_line_by_line():
    at = {f: evaluate("cnv", overrides={"frame_rate_hz": f}).summary() for f in (30.0, 1.0)}
    assert at[30.0]["dynamic_energy_per_frame_J"] == pytest.approx(at[1.0]["dynamic_energy_per_frame_J"])
    diff = at[1.0]["energy_per_frame_J"] - at[30.0]["energy_per_frame_J"]
    static = at[1.0]["static_energy_per_frame_J"] - at[30.0]["static_energy_per_frame_J"]
    leak = at[1.0]["leakage_energy_per_frame_J"] - at[30.0]["leakage_energy_per_frame_J"]
    assert diff == pytest.approx(static + leak)
    # the pixel's static line: 448 x 448 pixels x 9 uW (5 uA column load x 1.8 V) x one row slot T / 448
    (line,) = [l for l in at[30.0]["lines"] if l["component"] == "pixel" and l["term"] == "static"]
    assert line["energy_per_frame_J"] == pytest.approx(448 * 448 * 9e-6 * (1 / 30) / 448)
    assert line["energy_per_frame_J"] / (448 * 448) == pytest.approx(669.6e-12, rel=1e-3)  # the 665 pJ


def test_link_energy_per_bit_follows_lanes_and_lane_rate():
    """E_bit(r) = E_transmit_bit + static_W * (L + 1) / (L * r): static_W per HS lane for the link time plus the
    per-bit part (both the least-squares line through the cited transmitters, tests/accounting/test_link.py)."""
    table = load_energy_table()
    p0, e = table.power["mipi_csi2"].static_W, table.budget("mipi_csi2", "transmit_bit").energy_J
    bits = 224 * 224 * 3 * 8
    for lanes, rate in ((4, 2.5e9), (4, 0.625e9), (1, 2.5e9)):
        s = evaluate("cnv", overrides={"link_lanes": lanes, "link_rate_bps_per_lane": rate}).summary()
        assert s["components"]["link"] == pytest.approx(bits * (e + p0 * (lanes + 1) / (lanes * rate)), rel=1e-12)
    slow = evaluate("cnv", overrides={"link_lanes": 1, "link_rate_bps_per_lane": 0.5e9}).summary()
    assert slow["limiting_stage"] == "link/link" and slow["frame_time_s"] == pytest.approx(bits / 0.5e9)


def test_report_and_sweep_take_a_technology_path(tmp_path):
    tech = str(ROOT / "circuitsim" / "technology" / "sky130.yaml")
    runner = CliRunner()
    by_path = runner.invoke(main, ["report", "cnv", "--technology", tech, "--json"])
    by_name = runner.invoke(main, ["report", "cnv", "--technology", "sky130", "--json"])
    assert by_path.exit_code == 0, by_path.output
    assert json.loads(by_path.output)["architectures"]["cnv"]["energy_per_frame_J"] == \
        json.loads(by_name.output)["architectures"]["cnv"]["energy_per_frame_J"]
    result = runner.invoke(main, ["sweep", "cnv", "--param", "link_lanes=1,2,4", "--technology", tech,
                                  "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output


def test_sweep_includes_the_static_terms(tmp_path):
    frame = sweep(_small(tmp_path), {"frame_rate_hz": [1e3, 30.0]})
    for f_hz, energy in zip((1e3, 30.0), frame["energy_per_frame_J"]):
        latency = 2.5e-9 * 9  # the literature SAR ADC at 8 bit: N + 1 cycles of 2.5 ns
        assert energy == pytest.approx(sum(_by_hand(f_hz, latency)), rel=1e-12)


@pytest.mark.parametrize("argv, words", [
    (["report", "cnv", "--set", "frame_rate_hz=1e6"], ["exceeds the maximum", "array/pixel_readout"]),
    (["report", "cnv", "--set", "frame_rate_hz=0"], ["(0, "]),
    (["report", "cnv", "--set", "frame_rate_hz"], ["NAME=VALUE"]),
    (["report", "cnv", "--set", "bogus=1"], ["unknown parameter", "frame_rate_hz"]),
    (["report", "cnv", "--energy-table", "/nonexistent.yaml"], ["does not exist"]),
])
def test_cli_refuses_bad_operating_input_with_exit_2(argv, words):
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output, result.output

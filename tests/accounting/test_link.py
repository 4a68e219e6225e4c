"""Issue 17 item 5: the MIPI CSI-2 link model against the cited measured transmitters.

The measured figures are written here as independent data (as printed in the sources, see the power_source of
``mipi_csi2`` in circuitsim/data/energy_literature.yaml): the test turns them into per-lane HS power points,
fits P_lane(r) = P0 + E * r itself, and checks the table, the report's link energy per bit at the architecture's
lane rate, and that link time and energy follow the lane count and lane rate; the LP-11 / ULPS standby per
lane is the cited figure (none was found: the table's leakage_W is null, counted as zero) and the report
charges it for the idle part of the frame period.
"""

import json
import textwrap

import numpy as np
import yaml
import pytest
from click.testing import CliRunner

from circuitsim.accounting import evaluate, load_energy_table
from circuitsim.accounting.tables import LITERATURE_TABLE
from circuitsim.cli import main

# [A] Sensors 18(8) 2709 (2018), doi:10.3390/s18082709: 65 nm LP CMOS, 1.2 V; "the dual-channel transceiver
#     achieves 12-Gb/s data rate while the transmitter consumes 20.43 mW from a 1.2-V power supply".
A_TX_W, A_RATE_BPS, A_CHANNELS = 20.43e-3, 12e9, 2
# [B] TI DS90UB960-Q1 data sheet SNLS589D, typical supply currents (VDD11 = 1.1 V, VDD18 = 1.8 V):
#     CSI-2 TX 4 data lanes + 1 clock lane at 1.664 Gbps: VDD11 165 mA, VDD18 295 mA; at 832 Mbps: VDD11 150 mA,
#     VDD18 295 mA; 2 x (4 + 1) lanes (replicate mode) at 1.664 Gbps: VDD11 174 mA, VDD18 312 mA.
B_V11, B_V18, B_LANES_PER_PORT = 1.1, 1.8, 5
B_FAST_BPS, B_SLOW_BPS = 1.664e9, 0.832e9
B_ONE_PORT_FAST = (165e-3, 295e-3)
B_ONE_PORT_SLOW = (150e-3, 295e-3)
B_TWO_PORTS_FAST = (174e-3, 312e-3)
# [C] paper 23.8 'A 1V 7.8mW 15.6Gb/s C-PHY transceiver using tri-level signaling for post-LPDDR4': "15.6Gb/s C-PHY transceiver ... consumes only 7.8mW, resulting in an
#     energy-efficiency of 0.5pJ/b" (transmitter + receiver, lane count not stated: a per-bit check only).
C_W, C_RATE_BPS = 7.8e-3, 15.6e9

# LP-11 / ULPS standby per lane: no measured or data-sheet figure of a D-PHY transmitter could be read in the
# searched sources (see the description of mipi_csi2), so there is no cited figure; the table says null.
CITED_STANDBY_W_PER_LANE = None

# cnv's link, from architectures/cnv.yaml: 224 x 224 x 3 values of 8 bit, 4 data lanes + 1 clock at 2.5 Gb/s
CNV_BITS, CNV_LANES, CNV_RATE_BPS = 224 * 224 * 3 * 8, 4, 2.5e9

TERMINATION_ONLY_J_PER_BIT = 1.2e-12  # the estimate this model replaces (200 mV / 100 ohm x 1.2 V per lane)


def cited_lane_points():
    """(lane rate [b/s], per-lane HS power [W]) of the transmitters that give per-lane figures."""
    a = (A_RATE_BPS / A_CHANNELS, A_TX_W / A_CHANNELS)
    port_W = ((B_TWO_PORTS_FAST[0] - B_ONE_PORT_FAST[0]) * B_V11
              + (B_TWO_PORTS_FAST[1] - B_ONE_PORT_FAST[1]) * B_V18)
    fast = port_W / B_LANES_PER_PORT
    rate_step_W = ((B_ONE_PORT_FAST[0] - B_ONE_PORT_SLOW[0]) * B_V11
                   + (B_ONE_PORT_FAST[1] - B_ONE_PORT_SLOW[1]) * B_V18)
    slow = fast - rate_step_W / B_LANES_PER_PORT
    return [(B_SLOW_BPS, slow), (B_FAST_BPS, fast), a]


def cited_energy_per_bit():
    """Every cited figure as energy per bit [J] at its own rate (per lane for A and B; C the whole link)."""
    return [p / r for r, p in cited_lane_points()] + [C_W / C_RATE_BPS]


def fit():
    rates, powers = np.array(cited_lane_points()).T
    (p0, e), *_ = np.linalg.lstsq(np.vstack([np.ones_like(rates), rates]).T, powers, rcond=None)
    return p0, e


def test_cited_points_as_printed():
    points = cited_lane_points()
    assert [r for r, _ in points] == [0.832e9, 1.664e9, 6e9]
    assert [p for _, p in points] == pytest.approx([4.80e-3, 8.10e-3, 10.215e-3], rel=1e-9)
    assert C_W / C_RATE_BPS == pytest.approx(0.5e-12, rel=0.01)  # the paper's own 0.5 pJ/b


def test_table_is_the_least_squares_line_through_the_cited_transmitters():
    table = load_energy_table()
    p0, e = fit()
    assert p0 == pytest.approx(5.26e-3, rel=1e-3) and e == pytest.approx(0.864e-12, rel=1e-3)
    assert table.power["mipi_csi2"].static_W == pytest.approx(p0, rel=1e-3)
    assert table.power["mipi_csi2"].kind == "derived"
    budget = table.budget("mipi_csi2", "transmit_bit")
    assert budget.energy_J == pytest.approx(e, rel=1e-3) and budget.kind == "derived"
    # the line stays within the cited points' spread (no point further than 1.5 mW from it)
    for r, p in cited_lane_points():
        assert abs(p - (p0 + e * r)) < 1.5e-3


def _cnv(*extra):
    result = CliRunner().invoke(main, ["report", "cnv", "--technology", "sky130", "--set", "frame_rate_hz=30",
                                       *extra, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["architectures"]["cnv"]


def test_cnv_link_energy_per_bit_within_the_cited_scatter():
    rec = _cnv()
    lanes, rate = rec["parameters"]["link_lanes"], rec["parameters"]["link_rate_bps_per_lane"]
    assert (lanes, rate) == (4, 2.5e9)
    bits = rec["bits_per_frame"]
    e_bit = rec["components"]["link"] / bits
    cited = cited_energy_per_bit()
    assert min(cited) <= e_bit <= max(cited)
    assert e_bit > TERMINATION_ONLY_J_PER_BIT
    # and it is the model E_bit = E + P0 (L + 1) / (L r) with the fitted line
    p0, e = fit()
    assert e_bit == pytest.approx(e + p0 * (lanes + 1) / (lanes * rate), rel=1e-3)
    assert e_bit == pytest.approx(3.49e-12, rel=1e-2)
    # the link's lines: static (HS lanes for the link time) and dynamic (transmit_bit per payload bit)
    lines = {l["term"]: l for l in rec["lines"] if l["component"] == "link"}
    assert lines["static"]["energy_per_frame_J"] == pytest.approx((lanes + 1) * p0 * bits / (lanes * rate),
                                                                  rel=1e-3)
    assert lines["dynamic"]["energy_per_frame_J"] == pytest.approx(e * bits, rel=1e-3)


def test_link_time_and_energy_follow_lanes_and_lane_rate():
    base = _cnv()
    half_rate = _cnv("--set", "link_rate_bps_per_lane=1.25e9")
    two_lanes = _cnv("--set", "link_lanes=2")
    t0 = base["stage_times_s"]["link"]
    assert t0 == pytest.approx(base["bits_per_frame"] / (4 * 2.5e9))
    assert half_rate["stage_times_s"]["link"] == pytest.approx(2 * t0)
    assert two_lanes["stage_times_s"]["link"] == pytest.approx(2 * t0)
    p0, e = fit()
    bits = base["bits_per_frame"]
    # halving the rate doubles the HS time, so the static part doubles; the per-bit part stays
    static = {k: [l for l in rec["lines"] if l["component"] == "link" and l["term"] == "static"][0]
              for k, rec in (("base", base), ("half", half_rate), ("two", two_lanes))}
    assert static["half"]["energy_per_frame_J"] == pytest.approx(2 * static["base"]["energy_per_frame_J"])
    # two data lanes + clock for twice as long: (2 + 1) * 2 / (4 + 1) of the static energy
    assert static["two"]["energy_per_frame_J"] == pytest.approx(
        static["base"]["energy_per_frame_J"] * 3 * 2 / 5)
    assert half_rate["components"]["link"] == pytest.approx(bits * (e + p0 * 5 / (4 * 1.25e9)), rel=1e-3)


def test_a_slow_narrow_link_limits_the_frame_rate():
    """1 lane at 50 Mb/s needs 1204224 / 50e6 = 24 ms per frame: the link bounds the maximum frame rate."""
    s = evaluate("cnv", overrides={"link_lanes": 1, "link_rate_bps_per_lane": 50e6}).summary()
    assert s["limiting_stage"] == "link/link"
    assert s["max_frame_rate_hz"] == pytest.approx(50e6 / s["bits_per_frame"])


def test_standby_per_lane_is_the_cited_figure():
    raw = yaml.safe_load(LITERATURE_TABLE.read_text())["components"]["mipi_csi2"]
    assert raw["leakage_W"] == CITED_STANDBY_W_PER_LANE   # null: not reported, not guessed
    assert load_energy_table().power["mipi_csi2"].leakage_W == (CITED_STANDBY_W_PER_LANE or 0.0)


def _cnv_link_idle_s():
    """Frame period at 30 fps minus the link's HS time bits / (lanes * rate), from cnv's own numbers."""
    return 1 / 30 - CNV_BITS / (CNV_LANES * CNV_RATE_BPS)


def _link_leakage_J(rec):
    return sum(l["energy_per_frame_J"] for l in rec["lines"] if l["component"] == "link" and l["term"] == "leakage")


def test_cnv_link_standby_is_charged_per_lane_for_the_idle_time(tmp_path):
    rec = _cnv()
    assert rec["bits_per_frame"] == CNV_BITS and rec["frame_period_s"] == pytest.approx(1 / 30)
    assert rec["stage_times_s"]["link"] == pytest.approx(CNV_BITS / (CNV_LANES * CNV_RATE_BPS))
    idle = _cnv_link_idle_s()
    assert idle == pytest.approx(1 / 30 - 120.4224e-6)
    # the shipped table: standby x (data lanes + clock) x idle time (zero while no figure is cited)
    assert _link_leakage_J(rec) == pytest.approx((CITED_STANDBY_W_PER_LANE or 0.0) * (CNV_LANES + 1) * idle,
                                                 abs=1e-18)
    # the same arithmetic with a non-zero stand-in (a test value, not a figure of any transmitter)
    stand_in_W = 1.0e-6
    user = tmp_path / "standby.yaml"
    user.write_text(textwrap.dedent(f"""\
        schema: circuitsim.energy_table/1
        components:
          mipi_csi2:
            leakage_W: {stand_in_W}
            power_source: {{kind: estimate, derivation: "test stand-in to check the standby arithmetic"}}
        """))
    rec = _cnv("--energy-table", str(user))
    line, = [l for l in rec["lines"] if l["component"] == "link" and l["term"] == "leakage"]
    assert line["count"] == CNV_LANES + 1 and line["power_W"] == pytest.approx(stand_in_W)
    assert line["time_s"] == pytest.approx(idle)
    assert line["energy_per_frame_J"] == pytest.approx(stand_in_W * (CNV_LANES + 1) * idle)

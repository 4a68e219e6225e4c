"""Hand-computed totals, timing, compression ratios and bandwidth from first principles."""

import math

import numpy as np
import pytest

from circuitsim.accounting import evaluate, list_architectures, load_energy_table

TABLE = load_energy_table()
E_PIX = TABLE.budget("pixel_4t", "readout").energy_J
E_BIT = TABLE.budget("mipi_csi2", "transmit_bit").energy_J

SHIPPED = ["cnv", "sd-2x2", "sd-2x3", "sd-2x4", "lr-3b", "lr-1.5b", "lr-1b", "cs", "ms", "agt", "leca-8x3",
           "leca-4x4", "leca-4x3", "leca-normal", "snn", "snn-baseline", "pixelrnn", "pixelrnn-raw"]  # SPEC 7


def test_tiny_architecture_by_hand(write_arch):
    ev = evaluate(write_arch())
    pixels, bits = 4 * 8, 4 * 8 * 8
    assert ev.energy_per_frame_J == pytest.approx(pixels * 12.1e-12 + bits * E_BIT, rel=1e-12)
    assert ev.component_energy_J() == pytest.approx({"pixel": pixels * E_PIX, "link": bits * E_BIT})
    # array group: 4 rows x (1 us + 0.5 us) = 6 us; link: 256 bit / 1 Mbit/s = 256 us -> link bound
    s = ev.summary()
    assert s["frame_time_s"] == pytest.approx(256e-6)
    assert s["frame_rate_hz"] == pytest.approx(1 / 256e-6)
    assert s["limiting_stage"] == "link/link"
    assert s["bits_per_second"] == pytest.approx(bits / 256e-6)
    assert s["energy_per_second_J"] == pytest.approx(ev.energy_per_frame_J / 256e-6)
    table = ev.table()
    assert table["share"].sum() == pytest.approx(1.0)
    assert list(table["origin"]) == ["literature", "literature"]


def test_tiny_array_bound_when_link_fast(write_arch):
    ev = evaluate(write_arch(), overrides={"link_bps": 1e9})
    assert ev.summary()["frame_time_s"] == pytest.approx(4 * 1.5e-6)
    assert ev.summary()["limiting_stage"] == "array/readout"


@pytest.mark.parametrize("name, n_ch, q_bit, cr", [("leca-8x3", 8, 3, 4), ("leca-4x4", 4, 4, 6), ("leca-4x3", 4, 3, 8)])
def test_leca_compression_ratio_eq1(name, n_ch, q_bit, cr):
    ev = evaluate(name)
    assert ev.parameters["N_ch"] == n_ch and ev.parameters["Q_bit"] == q_bit
    assert ev.compression_ratio == pytest.approx(2 * 2 * 3 * 8 / (n_ch * q_bit))
    assert ev.compression_ratio == pytest.approx(cr)
    # bits from first principles: 112 x 112 blocks x N_ch outputs x Q_bit
    assert ev.bits_per_frame == pytest.approx(112 * 112 * n_ch * q_bit)


def test_repetitive_readout_doubles_pixel_energy():
    four = evaluate("leca-4x4", overrides={"N_ch": 4})
    eight = evaluate("leca-4x4", overrides={"N_ch": 8})
    dyn = lambda ev: ev.component_terms_J()["pixel"]["dynamic"]  # noqa: E731
    assert dyn(eight) == pytest.approx(2 * dyn(four))
    assert dyn(four) == pytest.approx(448 * 448 * E_PIX)
    # frame time: passes double every per-row stage
    assert eight.summary()["frame_time_s"] == pytest.approx(2 * four.summary()["frame_time_s"])


def test_leca_timing_from_spec():
    s = evaluate("leca-4x4").summary()
    # per 4 rows: 4 x (1 us readout [SRAM write 500 ns hidden] + 30 ns + 250 ns) + 200 ns, over 112 groups
    assert s["frame_time_s"] == pytest.approx(112 * (4 * (1e-6 + 30e-9 + 250e-9) + 200e-9))
    assert s["limiting_stage"] == "array/pixel_readout"


def test_bandwidth_first_principles():
    cnv, snn, rnn, raw = (evaluate(n) for n in ("cnv", "snn", "pixelrnn", "pixelrnn-raw"))
    assert cnv.bits_per_frame == 224 * 224 * 3 * 8
    assert snn.bits_per_frame == (448 // 4) * (448 // 4) * 8 * 1          # 1-bit spikes, N_ch = 8
    assert rnn.bits_per_frame == pytest.approx(64 * 64 * 1 / 16)           # 64x64 every 16 frames
    assert raw.bits_per_frame == 256 * 256 * 8
    assert raw.bits_per_frame / rnn.bits_per_frame == pytest.approx(2048)
    assert snn.compression_ratio == pytest.approx(16)
    baseline = evaluate("snn-baseline")
    assert baseline.bits_per_frame / snn.bits_per_frame == pytest.approx(16)


def test_spiking_backbone_sum():
    ev = evaluate("snn")
    e_ac = TABLE.budget("digital_fp32_45nm", "ac").energy_J
    conv2 = 112 * 112 * 128 * 9 * 8 * 0.15 * 1       # ops x spike rate x time steps
    line = ev.table().set_index("action").loc["conv2.ac"]
    assert line["count"] == pytest.approx(conv2)
    assert line["energy_J"] == pytest.approx(conv2 * e_ac)
    twice = evaluate("snn", overrides={"time_steps": 2})
    assert twice.component_energy_J()["backbone"] == pytest.approx(2 * ev.component_energy_J()["backbone"])
    first = evaluate("snn-baseline").table().set_index("action").loc["conv1.mac"]
    assert first["count"] == pytest.approx(112 * 112 * 64 * 16)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_architecture_reports(name):
    ev = evaluate(name)
    s = ev.summary()
    assert s["energy_per_frame_J"] > 0 and math.isfinite(s["energy_per_frame_J"])
    assert s["frame_rate_hz"] > 0 and s["bits_per_frame"] > 0 and s["compression_ratio"] > 0
    assert sum(s["components"].values()) == pytest.approx(s["energy_per_frame_J"])
    assert all(src in ("literature", "calibrated") for src in s["sources"].values())


def test_list_names_all_eighteen(shipped):
    assert sorted(list_architectures()) == sorted(shipped) == sorted(SHIPPED)


def test_agt_skip_rate_from_image():
    from circuitsim.accounting.image_statistics import agt_skip_mask, agt_skip_rate

    row = np.array([[0, 1, 2, 3, 10, 10, 10]])
    assert agt_skip_mask(row, 2.5).astype(int).tolist() == [[0, 1, 1, 0, 0, 1, 1]]
    assert agt_skip_rate(row, 2.5) == pytest.approx(4 / 7)
    flat = np.full((8, 8, 3), 100.0)
    rate = agt_skip_rate(flat, 5.0)
    assert rate == pytest.approx(7 / 8)
    ev = evaluate("agt", overrides={"skip_rate": rate})
    assert ev.compression_ratio == pytest.approx(8 / (8 * (1 - rate) + 1))

"""Paper profiles (issue 19 item 1): each profile reproduces, through the engine, the paper figures it was
solved from (to 1 %); a figure it was not solved from is a prediction (only checked where the paper's
figure is known to be out of reach, stated with the numbers); a profile number without a quote or a
derivation is refused (exit 2, one paragraph, no traceback); a profile never reads calibration artifacts.

The stated figures come from the LeCA paper (ISCA 2023) and the in-sensor SNN paper as transcribed in
issue 19; the engine computes every compared figure from the profile (circuitsim report ... --technology
leca-paper --json)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from circuitsim.accounting import BudgetResolver, evaluate, list_architectures, load_architecture
from circuitsim.accounting.profiles import ProfileError, load_profile, profile_names
from circuitsim.cli import main

ROOT = Path(__file__).resolve().parents[2]
PROFILE_DIR = ROOT / "circuitsim" / "data" / "profiles"
RTOL = 0.01  # issue 19: "reproduces the figures it was solved from (to 1 %)"


def _ev(arch, profile, **sets):
    return evaluate(arch, resolver=BudgetResolver(profile), overrides=sets)


def _component(ev, name):
    return ev.summary()["components"][name]


def _families(profile):
    fams = load_profile(profile).families
    return [a for a in list_architectures() if load_architecture(a).family in fams]


# -- LeCA ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ["leca-4x4", "leca-4x3"])
def test_leca_frame_rate_209_fps(arch):
    """'209 fps at 448x448 based on the timing diagram' (the one-pass configurations)."""
    ev = _ev(arch, "leca-paper")
    assert ev.summary()["max_frame_rate_hz"] == pytest.approx(209.0, rel=RTOL)


def test_leca_pixel_12p1_pJ_per_pixel():
    """'pixel exposure + readout 12.1 pJ/pixel': the pixel line per pixel read, all terms included."""
    for arch in ("cnv", "leca-4x3"):
        ev = _ev(arch, "leca-paper")
        pixels = ev.symbols["pixels"]
        assert _component(ev, "pixel") / pixels == pytest.approx(12.1e-12, rel=RTOL)


def test_leca_adc_10p1x_at_cr4():
    cnv, leca = _ev("cnv", "leca-paper"), _ev("leca-8x3", "leca-paper")
    assert leca.summary()["compression_ratio"] == pytest.approx(4.0)
    assert _component(cnv, "adc") / _component(leca, "adc") == pytest.approx(10.1, rel=RTOL)


def test_leca_total_6p3x_at_cr8():
    cnv, leca = _ev("cnv", "leca-paper"), _ev("leca-4x3", "leca-paper")
    assert leca.summary()["compression_ratio"] == pytest.approx(8.0)
    assert cnv.summary()["energy_per_frame_J"] / leca.summary()["energy_per_frame_J"] == pytest.approx(6.3, rel=RTOL)


def test_leca_communication_5x_is_out_of_reach_of_a_per_bit_link():
    """The stated 5x at CR 4 is not reproduced: a per-bit link gives the bit ratio, 1,605,632 / 301,056 =
    5.33x with CNV sending raw Bayer (binned RGB would give 4.00x); the profile states the miss."""
    cnv, leca = _ev("cnv", "leca-paper"), _ev("leca-8x3", "leca-paper")
    ratio = _component(cnv, "link") / _component(leca, "link")
    assert cnv.summary()["bits_per_frame"] == 448 * 448 * 8  # raw Bayer
    assert ratio == pytest.approx(448 * 448 * 8 / (112 * 112 * 8 * 3), rel=1e-9)
    assert abs(ratio / 5.0 - 1) > RTOL


def test_leca_profile_energy_does_not_depend_on_frame_rate():
    """The paper's model is per operation: no time-proportional term under the profile."""
    a = _ev("cnv", "leca-paper").summary()["energy_per_frame_J"]
    b = _ev("cnv", "leca-paper", frame_rate_hz=30.0).summary()["energy_per_frame_J"]
    assert b == pytest.approx(a, rel=1e-12)


@pytest.mark.parametrize("arch", ["leca-4x4", "leca-4x3", "leca-8x3", "leca-normal", "cnv"])
def test_set_rows_cols_on_leca_architectures(arch):
    runner = CliRunner()
    result = runner.invoke(main, ["report", arch, "--technology", "leca-paper", "--set", "rows=1080",
                                  "--set", "cols=1920", "--json"])
    assert result.exit_code == 0, result.output
    if arch == "leca-4x4":  # frame time by hand: 1080 rows x (10.350 + 0.030 + 0.250) us + 270 x 200 ns
        t_row = load_profile("leca-paper").parameters["t_row_readout_s"]
        import json

        summary = json.loads(result.output)["architectures"][arch]
        assert summary["max_frame_rate_hz"] == pytest.approx(1 / (1080 * (t_row + 280e-9) + 270 * 200e-9), rel=1e-9)


# -- both profiles --------------------------------------------------------------------------------------
@pytest.mark.parametrize("profile", profile_names())
def test_every_architecture_of_the_families_evaluates_without_artifacts(profile):
    for arch in _families(profile):
        ev = _ev(arch, profile)
        assert ev.point is None
        stated = set(load_profile(profile).table_data["components"])
        for line in ev.lines:
            # the profile's own components are reported as the profile's, the rest as the literature's
            assert line.budget.origin == ("profile" if line.budget.component in stated else "literature"), (arch, line)


def test_profile_refuses_another_family():
    result = CliRunner().invoke(main, ["report", "snn", "--technology", "leca-paper"])
    assert result.exit_code == 2
    assert "family" in result.output


def _bad_profile(tmp_path: Path) -> Path:
    data = yaml.safe_load((PROFILE_DIR / "leca-paper.yaml").read_text())
    del data["parameters"]["t_row_readout_s"]["source"]
    path = tmp_path / "bad-profile.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_loader_refuses_a_number_without_quote_or_derivation(tmp_path):
    with pytest.raises(ProfileError, match="quote.*derivation"):
        load_profile(_bad_profile(tmp_path))
    data = yaml.safe_load((PROFILE_DIR / "leca-paper.yaml").read_text())
    data["energy_table"]["components"]["sar_adc"]["actions"][0]["source"] = {"kind": "derived", "citation": "x"}
    path = tmp_path / "bad-action.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ProfileError, match="cdac_unit_switch"):
        load_profile(path)


def test_cli_bad_profile_exit_2_one_paragraph_no_traceback(tmp_path):
    path = _bad_profile(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "circuitsim.cli", "report", "cnv", "--technology", str(path)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error:") and proc.stderr.strip().count("\n") == 0
    assert "t_row_readout_s" in proc.stderr


# -- in-sensor SNN -------------------------------------------------------------------------------------
SENSING = {"snn": ("pixel_array", "cds", "comparator"), "snn-baseline": ("pixel", "adc")}
TRANSFER = ("output_buffer", "link")
PROCESSING = {"snn": ("backbone",), "snn-baseline": ("first_layer", "backbone")}


def _sum(ev, names):
    return sum(_component(ev, n) for n in names)


@pytest.fixture(scope="module")
def snn_pair():
    return _ev("snn", "snn-paper"), _ev("snn-baseline", "snn-paper")


def test_snn_sensor_13p3x(snn_pair):
    snn, base = snn_pair
    assert _sum(base, SENSING["snn-baseline"]) / _sum(snn, SENSING["snn"]) == pytest.approx(13.3, rel=RTOL)


def test_snn_processing_1p23x(snn_pair):
    snn, base = snn_pair
    assert _sum(base, PROCESSING["snn-baseline"]) / _sum(snn, PROCESSING["snn"]) == pytest.approx(1.23, rel=RTOL)


def test_snn_total_2p32x(snn_pair):
    snn, base = snn_pair
    assert base.summary()["energy_per_frame_J"] / snn.summary()["energy_per_frame_J"] == pytest.approx(2.32, rel=RTOL)


def test_snn_transfer_6p9x_needs_a_fractional_channel_count(snn_pair):
    """Per-bit transfer: ratio = 128 / N_ch; 6.9x would need N_ch = 18.55. The profile's N_ch = 19 gives
    6.74x (-2.4 %), the stated miss."""
    snn, base = snn_pair
    ratio = _sum(base, TRANSFER) / _sum(snn, TRANSFER)
    assert ratio == pytest.approx(128 / snn.symbols["N_ch"], rel=1e-9)
    assert abs(ratio / 6.9 - 1) > RTOL


def test_snn_profile_keeps_the_baseline_first_layer_channels(snn_pair):
    """N_ch = 19 is the in-pixel layer's (scoped to snn); the baseline's VGG first layer keeps its 64."""
    snn, base = snn_pair
    assert snn.symbols["N_ch"] == 19 and base.symbols["N_ch"] == 64


def test_profile_report_lists_every_family_architecture_and_each_stated_figure():
    from circuitsim.reports.paper_profiles import family_architectures, markdown

    text = markdown("leca-paper")
    profile = load_profile("leca-paper")
    for arch in family_architectures(profile):
        assert f"| {arch} |" in text
    for fig in profile.figures:
        assert fig["name"] in text

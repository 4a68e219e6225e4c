"""One operating point from the command line to every figure: the frame and its energy at the same point."""

import re

import pytest
from click.testing import CliRunner

from circuitsim.cli import main
from circuitsim.commands import frame_energy
from circuitsim.store import ArtifactStore, OperatingPoint


def test_leca_frame_energy_follows_the_corner():
    """The calibrated lines of the LeCA frame energy come from the ff artifacts when ff is asked for."""
    tt, ff = frame_energy(4, 4, OperatingPoint("tt")), frame_energy(4, 4, OperatingPoint("ff"))
    assert ff.energy_per_frame_J != tt.energy_per_frame_J
    psf = next(line for line in ff.summary()["lines"] if line["block"] == "psf" and line["term"] == "dynamic")
    assert psf["source_kind"] == "calibrated" and "sky130/ff_27C/psf " in psf["source"]
    expected = ArtifactStore().energy("psf", OperatingPoint("ff"))["actions"][0]["energy_J"]
    assert psf["energy_J"] == expected
    assert psf["energy_per_frame_J"] == pytest.approx(expected * ff.symbols["pixels"] * 4, rel=1e-12)


@pytest.mark.slow
def test_simulate_leca_prints_the_energy_at_its_own_corner(tmp_path):
    runner = CliRunner()
    texts = {c: runner.invoke(main, ["simulate", "leca", "--corner", c, "--mode", "hard", "--out", str(tmp_path / c)])
             for c in ("tt", "ff")}
    for corner, result in texts.items():
        assert result.exit_code == 0, result.output
        (energy_line,) = [ln for ln in result.output.splitlines() if "energy of this frame" in ln]
        assert f"sky130 {corner} 27 °C" in energy_line
    energies = {c: float(re.search(r"energy of this frame: ([\d.]+) uJ", r.output).group(1)) for c, r in texts.items()}
    assert energies["ff"] != energies["tt"]


@pytest.mark.slow
def test_simulate_snn_prices_the_channels_it_simulated(tmp_path):
    runner = CliRunner()
    energies = {}
    for channels in (2, 8):
        result = runner.invoke(main, ["simulate", "snn", "--channels", str(channels), "--mode", "hard",
                                      "--out", str(tmp_path / str(channels))])
        assert result.exit_code == 0, result.output
        assert f"N_ch={channels}" in result.output
        energies[channels] = float(re.search(r"energy of this frame: ([\d.]+) uJ", result.output).group(1))
    assert energies[8] > energies[2]


def test_literature_budgets_have_no_corner():
    result = CliRunner().invoke(main, ["report", "cnv", "--corner", "ff"])
    assert result.exit_code == 2 and "--technology sky130" in result.output

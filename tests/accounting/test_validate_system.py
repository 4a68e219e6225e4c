"""``circuitsim validate-system`` (issue 19 item 3): the arithmetic on a small synthetic chip whose energies
are stated in the file (so the expected figures are hand-computed here, not taken from the code), the JSON
keys, exit codes 0 / 1 / 2, and every shipped chip file loads and evaluates with the committed artifacts."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from circuitsim.accounting.chips import TOLERANCE, check_chip, list_chips
from circuitsim.cli import main

ROOT = Path(__file__).resolve().parents[2]

#: 4 x 8 = 32 pixels; per pixel one readout at 10 pJ and one conversion at 2 pJ (stated in the file, source
#: measured): predicted E_frame = 32 * (10 + 2) pJ = 384 pJ by hand. No instances: no static or leakage lines.
CHIP = """
schema: circuitsim.architecture/1
name: toy_chip
description: a hand-checkable chip
parameters: {rows: 4, cols: 8}
derived: {pixels: rows * cols}
output: {bits_per_frame: pixels * 8, reference_bits_per_frame: pixels * 8}
timing:
  stages:
    - {name: readout, group: array, time_s: rows * 1.0e-6}
operating: {frame_rate_hz: 1000}
components:
  pixel:
    block: pixel_4t
    actions: {readout: pixels}
    energy_J: 10.0e-12
    source: {kind: measured, citation: "test figure"}
  adc:
    block: sar_adc
    resolution_bits: 8
    actions: {conversion: pixels}
    energy_J: 2.0e-12
    source: {kind: measured, citation: "test figure"}
measured:
  {figure}
  citation: "a test chip"
  quote: "it consumes what the test says"
  camj: {camj}
"""
PREDICTED_J = 32 * (10e-12 + 2e-12)


def _chip(tmp_path: Path, figure: str, camj: str = "null", name: str = "toy_chip") -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(CHIP).replace("{figure}", figure).replace("{camj}", camj))
    return str(path)


def _run(argv):
    return CliRunner().invoke(main, ["validate-system", "--technology", "literature", *argv],
                              prog_name="circuitsim")


def test_arithmetic_per_pixel_figure(tmp_path):
    # measured 15 pJ/pixel -> 480 pJ/frame; error 384 / 480 - 1 = -0.2; CamJ 240 pJ/frame -> -0.5
    path = _chip(tmp_path, "energy_per_pixel_J: 15.0e-12", "{energy_per_frame_J: 240.0e-12, citation: x}")
    r = check_chip(path, "literature")
    assert r["predicted_energy_per_frame_J"] == pytest.approx(384e-12, rel=1e-12)
    assert r["predicted_energy_per_pixel_J"] == pytest.approx(12e-12, rel=1e-12)
    assert r["measured_energy_per_frame_J"] == pytest.approx(480e-12, rel=1e-12)
    assert r["error"] == pytest.approx(-0.2, rel=1e-9)
    assert r["camj_energy_per_frame_J"] == pytest.approx(240e-12, rel=1e-12)
    assert r["camj_error"] == pytest.approx(-0.5, rel=1e-9)
    assert r["closer_than_camj"] is True and r["within_tolerance"] is True
    assert r["components"] == pytest.approx({"pixel": 320e-12, "adc": 64e-12}, rel=1e-12)
    assert r["top_components"][0] == "pixel"


def test_arithmetic_power_figure_uses_the_operating_frame_rate(tmp_path):
    # 1 uW at the file's 1000 fps -> 1 nJ per frame; error 384 pJ / 1 nJ - 1 = -0.616
    r = check_chip(_chip(tmp_path, "power_W: 1.0e-6"), "literature")
    assert r["frame_rate_hz"] == 1000
    assert r["measured_energy_per_frame_J"] == pytest.approx(1e-9, rel=1e-12)
    assert r["error"] == pytest.approx(0.384 - 1, rel=1e-9)
    assert r["camj_error"] is None and r["closer_than_camj"] is None and not r["within_tolerance"]


def test_json_keys_and_exit_0_within_tolerance(tmp_path):
    # measured 380 pJ/frame: error 384 / 380 - 1 = +1.05 %, inside +-25 %
    result = _run(["--json", _chip(tmp_path, "energy_per_frame_J: 380.0e-12")])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    record = data["chips"]["toy_chip"]
    for key in ("measured_energy_per_frame_J", "predicted_energy_per_frame_J", "error", "camj_energy_per_frame_J",
                "components", "measured_energy_per_pixel_J", "predicted_energy_per_pixel_J", "camj_error"):
        assert key in record, key
    assert record["camj_energy_per_frame_J"] is None
    assert record["error"] == pytest.approx(384 / 380 - 1, rel=1e-9)
    assert math.isclose(sum(record["components"].values()), record["predicted_energy_per_frame_J"], rel_tol=1e-12)
    assert data["tolerance"] == TOLERANCE and data["pass"] is True


def test_exit_1_outside_tolerance_and_text_says_miss(tmp_path):
    # measured 8 pJ/pixel -> 256 pJ/frame: error 384 / 256 - 1 = +50 %
    result = _run([_chip(tmp_path, "energy_per_pixel_J: 8.0e-12")])
    assert result.exit_code == 1, result.output
    assert "+50 % MISS" in result.output


@pytest.mark.parametrize("figure, words", [
    ("note: no figure", ["measured", "exactly one of", "energy_per_pixel_J"]),
    ("energy_per_pixel_J: 1.0e-12\n  power_W: 1.0e-3", ["exactly one of"]),
    ("energy_per_pixel_J: -1.0e-12", ["energy_per_pixel_J", "> 0"]),
])
def test_bad_measured_section_refused_with_exit_2(tmp_path, figure, words):
    result = _run([_chip(tmp_path, figure)])
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.startswith("error:") and "\n\n" not in message and "Traceback" not in result.output
    for word in words:
        assert word in message, message


def test_chip_file_without_measured_section_refused_as_a_process(tmp_path):
    """The user-visible contract (tests/test_bad_input.py's pattern): exit 2, one paragraph, no traceback."""
    text = textwrap.dedent(CHIP).split("measured:")[0]
    path = tmp_path / "no_measured.yaml"
    path.write_text(text)
    env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="200",
               PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    proc = subprocess.run([sys.executable, "-m", "circuitsim.cli", "validate-system", str(path)],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60, check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    message = proc.stderr.strip()
    assert "Traceback" not in proc.stdout + proc.stderr
    assert message.startswith("error:") and "\n\n" not in message
    assert "no_measured.yaml: measured: missing" in message


def test_unknown_chip_name_lists_the_shipped_ones():
    result = CliRunner().invoke(main, ["validate-system", "nope_chip"], prog_name="circuitsim")
    assert result.exit_code == 2
    assert "unknown chip 'nope_chip'" in result.stderr and "young_jssc19" in result.stderr


@pytest.mark.parametrize("name", list_chips())
def test_every_shipped_chip_loads_and_evaluates(name):
    """Each chip file under architectures/chips/ evaluates with the committed sky130 artifacts; its measured
    figure and citation are in the file (not in code) and its components add up to the prediction."""
    r = check_chip(name, "sky130")
    assert r["measured_energy_per_frame_J"] > 0 and r["predicted_energy_per_frame_J"] > 0
    assert math.isfinite(r["error"])
    assert r["measured_citation"] and r["measured_quote"]
    assert math.isclose(sum(r["components"].values()), r["predicted_energy_per_frame_J"], rel_tol=1e-9)
    assert r["technology"] == "sky130"


def test_the_four_published_chips_are_shipped():
    assert set(list_chips()) >= {"young_jssc19", "park_jssc21", "choi_sensors20", "chen_jssc14"}
    assert (ROOT / "architectures" / "chips").is_dir()

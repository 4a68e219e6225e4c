"""CLI: validate --json contract, demo, imports stay light."""

import json
import subprocess
import sys

from circuitsim.blocks import block_names


def test_validate_json_contract(cli, tmp_path):
    result = cli("validate", "--json", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    for block in block_names():
        for point, rec in data["blocks"][block].items():
            for key in ("max_error_lsb", "sigma_ratio", "energy_ratio", "pass"):
                assert key in rec, (block, point, key)
            # the converters are judged at their SPICE code edges too (issue 14 item 2)
            assert ("transitions" in rec) == block.startswith("sar_adc_"), (block, point)
    assert (tmp_path / "sample_hold" / "validation.png").is_file()
    assert (tmp_path / "sar_adc_8b" / "transitions.png").is_file()


def test_validate_unknown_block(cli):
    result = cli("validate", "nope")
    assert result.returncode == 2 and "unknown block 'nope'" in result.stderr


def test_validate_missing_artifacts(cli, tmp_path):
    result = cli("validate", "sample_hold", "--calibration", str(tmp_path), "--no-plots")
    assert result.returncode == 2
    assert "no calibration artifacts for sample_hold" in result.stderr
    assert "circuitsim calibrate sample_hold" in result.stderr


def test_demo_runs_without_ngspice(demo_run):
    result, tmp_path = demo_run
    assert result.returncode == 0, result.stderr
    assert "Technology sky130" in result.stdout and "sample_hold" in result.stdout
    assert (tmp_path / "validation" / "sample_hold" / "validation.png").is_file()
    assert (tmp_path / "energy" / "report.md").is_file()
    assert (tmp_path / "simulate" / "leca_feature_map.png").is_file()


def test_bad_option_values(cli):
    result = cli("calibrate", "sample_hold", "--mc", "1")
    assert result.returncode == 2 and "--mc must be 0" in result.stderr
    result = cli("calibrate", "sample_hold", "--temps", "hot")
    assert result.returncode == 2 and "--temps must be comma-separated numbers" in result.stderr


def test_import_is_light():
    """import circuitsim (and the CLI module) must not import PySpice, torch or matplotlib."""
    code = ("import sys, circuitsim, circuitsim.cli, circuitsim.blocks.sample_hold; "
            "bad = [m for m in ('PySpice', 'torch', 'matplotlib') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_simulate_leca(cli, tmp_path):
    result = cli("simulate", "leca", "--config", "8|3", "--seed", "2", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "N_ch=8, Q_bit=3" in result.stdout and "energy of this frame" in result.stdout
    import numpy as np

    with np.load(tmp_path / "leca_frame.npz") as data:
        assert data["codes"].shape == (8, 112, 112) and data["codes"].max() <= 7
        assert data["energy_per_frame_J"] > 0
    assert (tmp_path / "leca_feature_map.png").is_file()


def test_simulate_bad_inputs(cli, tmp_path):
    result = cli("simulate", "leca", "--config", "4x4", "--out", str(tmp_path))
    assert result.returncode == 2 and "--config must be N_ch|Q_bit" in result.stderr
    result = cli("simulate", "leca", "--config", "6|4", "--out", str(tmp_path))
    assert result.returncode == 2 and "multiple of 4" in result.stderr
    result = cli("simulate", "leca", "--image", str(tmp_path / "none.png"), "--out", str(tmp_path))
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_simulate_snn(cli, tmp_path):
    result = cli("simulate", "snn", "--channels", "4", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "spike rate" in result.stdout and "0 outputs clipped" in result.stdout
    import numpy as np

    with np.load(tmp_path / "snn_frame.npz") as data:
        assert data["spikes"].shape == (4, 111, 111) and set(np.unique(data["spikes"])) <= {0, 1}
    assert (tmp_path / "snn_spikes.png").is_file()


def test_validate_quick_judges_a_one_corner_calibration_and_names_what_is_missing(cli, tmp_path):
    import shutil

    from circuitsim.config import project_root

    src = project_root() / "calibration" / "sky130" / "tt_27C" / "psf"
    shutil.copytree(src, tmp_path / "sky130" / "tt_27C" / "psf")
    refused = cli("validate", "psf", "--calibration", str(tmp_path), "--no-plots")
    assert refused.returncode == 2 and "validate --quick" in refused.stderr + refused.stdout
    r = cli("validate", "psf", "--calibration", str(tmp_path), "--no-plots", "--quick", "--json")
    assert r.returncode == 0, r.stderr
    record = json.loads(r.stdout)["blocks"]["psf"]["tt_27C"]
    assert sorted(record["missing_plan_points"]) == ["ff_27C", "fs_27C", "sf_27C", "ss_27C", "tt_-40C", "tt_85C"]
    assert record["pass"]

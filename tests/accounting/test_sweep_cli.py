"""Sweep shape and monotonicity, the CLI (report --json, --list, sweep), calibrated budgets, lazy imports."""

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from circuitsim.accounting import BudgetResolver, evaluate
from circuitsim.accounting.sweep import pareto_mask, parse_values, sweep
from circuitsim.cli import main


def test_parse_values():
    assert parse_values("1..16").tolist() == list(range(1, 17))
    assert parse_values("1.5,2,3,4").tolist() == [1.5, 2, 3, 4]
    assert parse_values("0.1..0.5:0.2") == pytest.approx([0.1, 0.3, 0.5])


def test_sweep_shape_and_monotonicity():
    frame = sweep("leca-4x4", {"N_ch": parse_values("1..16"), "Q_bit": parse_values("1.5,2,3,4")})
    assert len(frame) == 64
    assert frame["valid"].sum() == 7 * 4               # N_ch 1..4, 8, 12, 16
    valid = frame[frame["valid"]]
    for _, group in valid.groupby("Q_bit"):
        group = group.sort_values("N_ch")
        assert np.all(np.diff(group["energy_per_frame_J"]) > 0)
        assert np.all(np.diff(group["compression_ratio"]) < 0)
    # the sweep agrees with a single evaluation
    one = evaluate("leca-4x4", overrides={"N_ch": 8, "Q_bit": 3})
    row = frame[(frame["N_ch"] == 8) & (frame["Q_bit"] == 3)].iloc[0]
    assert row["energy_per_frame_J"] == pytest.approx(one.energy_per_frame_J)
    assert row["frame_rate_hz"] == pytest.approx(one.frame_rate_hz)
    assert not frame.loc[~frame["valid"], "pareto"].any()


def test_pareto_mask():
    energy = np.array([1.0, 2.0, 3.0, 2.0, 0.5])
    cr = np.array([4.0, 8.0, 6.0, 2.0, 1.0])
    assert pareto_mask(energy, cr, np.ones(5, bool)).tolist() == [True, True, False, False, True]


def test_report_json_cli():
    result = CliRunner().invoke(main, ["report", "--json", "cnv", "leca-4x4", "snn", "pixelrnn"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)["architectures"]
    assert list(data) == ["cnv", "leca-4x4", "snn", "pixelrnn"]
    for record in data.values():
        for key in ("energy_per_frame_J", "frame_rate_hz", "bits_per_frame", "compression_ratio", "components"):
            assert key in record
        assert sum(record["components"].values()) == pytest.approx(record["energy_per_frame_J"])
    assert data["leca-4x4"]["compression_ratio"] == pytest.approx(6)


def test_report_list_and_errors(shipped):
    runner = CliRunner()
    listed = runner.invoke(main, ["report", "--list"])
    assert listed.exit_code == 0 and listed.output.split() == sorted(shipped)
    bad = runner.invoke(main, ["report", "leca-9x9"])
    assert bad.exit_code == 2 and "valid choices" in bad.output
    bad_tech = runner.invoke(main, ["report", "cnv", "--technology", "gaas"])
    assert bad_tech.exit_code == 2 and "literature" in bad_tech.output


def test_report_writes_files(tmp_path):
    result = CliRunner().invoke(main, ["report", "cnv", "leca-4x3", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in ("comparison.csv", "cnv.csv", "leca-4x3.csv", "report.md", "provenance.json",
                 "energy_by_component.png", "energy_vs_compression.png", "bandwidth.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert "| leca-4x3 |" in (tmp_path / "report.md").read_text()


def test_sweep_cli(tmp_path):
    result = CliRunner().invoke(main, ["sweep", "leca-4x4", "--param", "N_ch=1..8", "--param", "Q_bit=2,4",
                                       "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "sweep_leca-4x4.csv").is_file() and (tmp_path / "sweep_leca-4x4_pareto.png").is_file()
    bad = CliRunner().invoke(main, ["sweep", "leca-4x4", "--param", "N_chan=1..4", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "valid parameters" in bad.output


def test_sky130_budget_from_artifact(tmp_path, write_energy_artifact):
    from circuitsim.store import ENERGY_FILE

    directory = write_energy_artifact("pixel_4t", "readout", 3.0e-12, 1e-6)
    calibrated = evaluate("cnv", resolver=BudgetResolver("sky130", calibration_root=tmp_path))
    literature = evaluate("cnv", resolver=BudgetResolver("literature", calibration_root=tmp_path))
    table = calibrated.table()
    pixel = table[table["term"] == "dynamic"].set_index("component").loc["pixel"]
    assert pixel["origin"] == "calibrated" and pixel["energy_per_action_J"] == 3.0e-12
    assert "sha256:" in pixel["source"] and "pixel_4t" in pixel["source"]
    assert calibrated.component_terms_J()["pixel"]["dynamic"] == pytest.approx(448 * 448 * 3.0e-12)
    assert literature.component_terms_J()["pixel"]["dynamic"] == pytest.approx(448 * 448 * 12.1e-12)
    # the artifact has no static_W / leakage_W: the pixel's static line is the table's, and says why
    static = table[(table["component"] == "pixel") & (table["term"] == "static")].iloc[0]
    assert static["origin"] == "literature" and "records no static_W" in static["fallback_reason"]
    others = table[table["term"] == "dynamic"].set_index("component").drop(index="pixel")
    assert set(others["origin"]) == {"literature"}
    # a tampered artifact is refused (content hash checked on load)
    (directory / ENERGY_FILE).write_text((directory / ENERGY_FILE).read_text().replace("3e-12", "1e-12"))
    from circuitsim.errors import ArtifactError

    with pytest.raises(ArtifactError):
        evaluate("cnv", resolver=BudgetResolver("sky130", calibration_root=tmp_path))


def test_import_accounting_does_not_import_matplotlib():
    code = ("import sys, circuitsim.accounting, circuitsim.accounting.sweep, circuitsim.reports.energy; "
            "bad = [m for m in ('matplotlib', 'torch', 'PySpice') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("params", [{"Q_bit": [4.0]}, {"link_lanes": [1.0, 2.0, 4.0]}, {"N_ch": [4.0]}])
def test_sweep_where_a_timing_group_stays_constant(params):
    """Issue 13 item 1: sweeping Q_bit (or link_lanes) alone leaves the array group a scalar while the link
    group is an array; np.maximum.reduce over the two raised ValueError."""
    frame = sweep("leca-4x4", {k: np.array(v) for k, v in params.items()})
    assert len(frame) == len(next(iter(params.values())))
    one = evaluate("leca-4x4")
    assert frame["frame_rate_hz"].to_numpy() == pytest.approx(one.frame_rate_hz)  # the array bounds the frame
    # the link's lane count changes its energy (L data lanes + 1 clock lane in HS mode for the link time)
    expected = [evaluate("leca-4x4", overrides=dict(zip(params, point))).energy_per_frame_J
                for point in zip(*params.values())]
    assert frame["energy_per_frame_J"].to_numpy() == pytest.approx(expected, rel=1e-12)


def test_sweep_cli_single_value(tmp_path):
    for spec in ("Q_bit=4", "link_lanes=1,2,4"):
        result = CliRunner().invoke(main, ["sweep", "leca-4x4", "--param", spec, "--out", str(tmp_path)])
        assert result.exit_code == 0, result.output
        assert "1 on the energy / compression-ratio Pareto front" in result.output


@pytest.mark.parametrize("text, message", [
    ("1..inf", "must be finite"), ("-inf..1", "must be finite"), ("1..nan", "must be finite"),
    ("1..2:inf", "must be finite"), ("1,inf", "every value must be a finite number"),
    ("1..1e12", "above the limit of 1,000,000 points"), ("0..1:1e-9", "above the limit"),
])
def test_parse_values_refuses_ranges_that_cannot_be_built(text, message):
    from circuitsim.errors import CircuitsimError

    with pytest.raises(CircuitsimError, match=message):
        parse_values(text, "N_ch")


def test_grid_limit_names_the_factors():
    from circuitsim.accounting.sweep import grid
    from circuitsim.errors import CircuitsimError

    with pytest.raises(CircuitsimError, match=r"N_ch \(2,000\) x Q_bit \(1,000\) has 2,000,000 points.*fewer values"):
        grid({"N_ch": np.arange(2000.0), "Q_bit": np.arange(1000.0)})
    many = {f"p{i}": np.arange(100.0) for i in range(12)}   # 1e24 points: int64 product would overflow
    with pytest.raises(CircuitsimError, match="above the limit"):
        grid(many)


def test_sweep_without_a_valid_point_is_refused(tmp_path):
    result = CliRunner().invoke(main, ["sweep", "leca-4x4", "--param", "N_ch=5..7", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "none of the 3 points meets the architecture's constraints" in result.output
    assert "multiple of 4" in result.output

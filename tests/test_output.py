"""Output a person reads: the one-screen demo, tables whose columns never collide, exact --rows,
and batch decks that run by hand with ngspice -b."""

import re
from pathlib import Path
import shutil
import subprocess

import pandas as pd
import pytest

from circuitsim.reports.text_table import render_table
from circuitsim.spice.netlist import Netlist, analysis_plots, batch_control
from circuitsim.spice.runner import sample_rows, vector_key


@pytest.fixture(scope="module")
def demo_text(demo_run):
    result, _ = demo_run
    assert result.returncode == 0, result.stderr
    return result.stdout


def _table_blocks(text):
    """Consecutive lines containing the column separator: one table each."""
    blocks, current = [], []
    for line in text.splitlines():
        if "│" in line or "┼" in line:
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    return blocks + ([current] if current else [])


def _boundaries(line):
    return [i for i, ch in enumerate(line) if ch in "│┼"]


def test_demo_fits_one_screen(demo_text):
    lines = demo_text.splitlines()
    assert len(lines) <= 50, len(lines)
    assert max(len(line) for line in lines) <= 120
    for word in ("Technology sky130", "Calibrated:", "Model vs SPICE", "Seed systems", "Files:", "--verbose"):
        assert word in demo_text


def test_demo_shows_the_seed_papers_and_every_measured_chip_as_validate_system_does(demo_text):
    """Issue 19 item 4: the chip rows carry validate-system's errors (the chips layer's figure reaches the
    demo by name), and each paper profile's line its stated figures."""
    import json

    from circuitsim.accounting.profiles import load_profile, profile_names

    chips = json.loads(subprocess.run(["circuitsim", "validate-system", "--json"], capture_output=True,
                                      text=True).stdout)["chips"]
    rows = {line.split("│")[0].strip(): line for line in demo_text.splitlines() if "│" in line}
    for name, record in chips.items():
        assert f"{record['error'] * 100:+.0f} %" in rows[name], rows.get(name)
    story = " ".join(demo_text.split())
    for name in profile_names():
        line = story[story.index(f"{name}:"):]
        for fig in load_profile(name).figures:
            assert f"{fig['short']}" in line.split(" | ")[0] or f"{fig['short']}" in line, (name, fig["short"])


def test_demo_tables_keep_their_column_boundaries(demo_text):
    blocks = _table_blocks(demo_text)
    assert len(blocks) >= 2
    for block in blocks:
        first = _boundaries(block[0])
        assert all(_boundaries(line) == first for line in block), "\n".join(block)


def test_no_label_repeated_in_parentheses(demo_text):
    assert not re.search(r"\b([\w-]+) \(\1\)", demo_text)


def test_render_table_never_runs_cells_together():
    text = render_table(["block", "E/op>", "at>"], [["inpixel_conv", "35539.03 fJ", "1000.000 ns"],
                                                     ["sar_adc_2b", "1 fJ", "-1.2798/2"]])
    rows = text.splitlines()
    assert all(_boundaries(r) == _boundaries(rows[0]) for r in rows)
    assert "35539.03 fJ │ 1000.000 ns" in text


def test_verbose_tables_keep_their_column_boundaries():
    from circuitsim.calibration.validate import validate_block
    from circuitsim.blocks import get_spec
    from circuitsim.reports.validation import format_table
    from circuitsim.store import ArtifactStore

    results = {b: validate_block(get_spec(b), ArtifactStore(), "sky130") for b in ("scm", "sar_adc_2b")}
    for block in _table_blocks(format_table(results)):
        assert all(_boundaries(line) == _boundaries(block[0]) for line in block)


@pytest.mark.parametrize("n, rows", [(1001, 12), (1001, 5), (7, 7), (100, 1), (13, 12)])
def test_rows_honoured_exactly(n, rows):
    table = pd.DataFrame({"time_s": range(n)})
    sampled = sample_rows(table, rows)
    assert len(sampled) == rows
    assert sampled["time_s"].iloc[-1] == n - 1
    if rows > 1:
        assert sampled["time_s"].iloc[0] == 0


def test_rows_fewer_than_asked_prints_all():
    assert len(sample_rows(pd.DataFrame({"t": range(3)}), 12)) == 3


def test_vector_names():
    assert vector_key("v(out)") == "out" and vector_key("i(VDD)") == "vdd#branch" and vector_key("time") == "time"


def test_batch_control_runs_every_analysis():
    text = "* t\nv1 a 0 1\n.tran 1p 1n\n.dc v1 0 1 0.5\n.end\n"
    assert analysis_plots(text) == ["tran1", "dc1"]
    block = batch_control(text, "deck", ["v(a)", "i(v1)"])
    assert "wrdata deck_tran1.data v(a) i(v1)" in block and "setplot dc1" in block
    assert block.startswith(".control") and block.endswith("quit\n.endc")
    assert "wrdata deck.data all" in batch_control("* t\n.op\n.end\n", "deck")


def test_batch_refuses_a_deck_without_analysis():
    from circuitsim.errors import NetlistError

    with pytest.raises(NetlistError, match="no analysis"):
        batch_control("* t\nr1 a 0 1k\n.end\n", "deck")


def test_batch_deck_inserted_before_end(tmp_path):
    import yaml

    from circuitsim.spice.netlist import render_deck
    from circuitsim.technology import load_technology

    source = "* divider\nvdd vdd 0 {vdd_v}\nr1 vdd mid 1k\nr2 mid 0 1k\n.op\n.end\n"

    (tmp_path / "models.lib").write_text("* empty\n")
    data = yaml.safe_load(load_technology().source_path.read_text())
    data["model_library"] = {"path": "models.lib"}
    data["name"] = "fake"
    (tmp_path / "fake.yaml").write_text(yaml.safe_dump(data))
    deck = render_deck(Netlist("divider", tmp_path / "d.cir", source),
                       load_technology(tmp_path / "fake.yaml"), "tt", batch="divider")
    assert deck.rstrip().endswith(".endc\n.end")


@pytest.mark.spice
def test_batch_deck_runs_with_ngspice_b(cli, tmp_path):
    if shutil.which("ngspice") is None:
        pytest.skip("no ngspice binary")
    deck = tmp_path / "sh.cir"
    result = cli("spice", "render", "sample_hold", "--batch", "--vectors", "v(hold),i(vdd)", "--out", str(deck))
    assert result.returncode == 0, result.stderr
    run = subprocess.run(["ngspice", "-b", str(deck)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no simulations run" not in run.stdout + run.stderr
    lines = (tmp_path / "sh.data").read_text().splitlines()
    assert lines[0].split() == ["time", "v(hold)", "i(vdd)"]
    values = [float(v) for v in lines[-1].split()]
    assert values[0] == pytest.approx(10e-9) and 0.0 < values[1] < 1.8


@pytest.mark.spice
def test_spice_run_vectors_and_rows(cli):
    result = cli("spice", "run", "sample_hold", "--vectors", "v(hold),i(vdd)", "--rows", "5")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].split() == ["time_s", "v_hold_V", "i_vdd_A"] and len(lines) == 6


# -- --json keeps every label the text shows ---------------------------------------------------------------
def test_simulate_json_names_the_point_and_every_energy_source(cli, tmp_path):
    import json

    from circuitsim.accounting import evaluate
    from circuitsim.store import OperatingPoint

    r = cli("simulate", "leca", "--config", "8|3", "--corner", "ff", "--json", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    record = json.loads(r.stdout)
    assert record["operating_point"] == {"technology": "sky130", "corner": "ff", "temperature_C": 27.0}
    assert record["config"] == {"N_ch": 8, "Q_bit": 3.0} and record["shapes"]["codes"] == [8, 112, 112]
    # the energy is the ff accounting of the same configuration, not the nominal one
    ff = evaluate("leca-4x4", "sky130", overrides={"N_ch": 8, "Q_bit": 3}, point=OperatingPoint("ff", 27.0))
    assert record["energy_per_frame_J"] == pytest.approx(ff.energy_per_frame_J, rel=1e-12)
    assert all({"source_kind", "fallback_reason", "source"} <= set(line) for line in record["lines"])
    assert any("sky130/ff_27C/" in line["source"] for line in record["lines"])
    assert all(Path(p).is_file() for p in record["written"])
    # the simulation rate is reported (measured, never bounded: a timing is not a test)
    assert record["simulation_time_s"] > 0
    assert record["simulated_frames_per_s"] == pytest.approx(1 / record["simulation_time_s"], rel=1e-12)


def test_sweep_json_pareto_points_are_the_csv_rows(cli, tmp_path):
    import json

    r = cli("sweep", "leca-4x4", "--param", "N_ch=4,8", "--param", "Q_bit=2..4", "--json", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    record = json.loads(r.stdout)
    assert record["points"] == 6 and record["technology"] == "literature" and record["operating_point"] is None
    frame = pd.read_csv(tmp_path / "sweep_leca-4x4.csv")
    front = frame[frame["pareto"]].sort_values("energy_per_frame_J")
    assert record["pareto"] == len(front) == len(record["pareto_points"])
    assert [p["energy_per_frame_J"] for p in record["pareto_points"]] == pytest.approx(
        front["energy_per_frame_J"].tolist(), rel=1e-12)


def test_report_scale_linear_writes_linear_axes(cli, tmp_path):
    from circuitsim.accounting import evaluate
    from circuitsim.reports.energy_plots import energy_by_component_figure

    r = cli("report", "cnv", "--scale", "linear", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr and (tmp_path / "energy_by_component.png").is_file()
    figure = energy_by_component_figure([evaluate("cnv")], "linear")
    assert figure.axes[0].get_yscale() == "linear"
    assert cli("report", "cnv", "--scale", "loglog").returncode == 2

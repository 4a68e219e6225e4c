"""Reconciliation (issue 19 item 2): the lines switched one at a time from one set of budgets to another.

Checked against independent sources: the end points against the two reports ``circuitsim report`` prints
under each set of budgets alone (the issue: "the reconciliation's end points equal the two profiles'
reports"); a step against the hand arithmetic of the one line a test profile changes (count x energy
difference, the count from the architecture: one pixel readout per pixel of a 448 x 448 array)."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from circuitsim.accounting import BudgetResolver, evaluate
from circuitsim.accounting.reconcile import reconcile
from circuitsim.cli import main

PIXELS = 448 * 448  # cnv and sd-2x2 read every pixel of the 448 x 448 array once per frame


def _energy(arch, technology):
    return evaluate(arch, resolver=BudgetResolver(technology)).summary()["energy_per_frame_J"]


def _profile(tmp_path, actions: dict) -> str:
    """A paper profile for the compression baselines that replaces ``{component: {action: energy_J}}``."""
    components = {c: {"actions": [{"name": a, "energy_J": e, "latency_s": None, "leakage_W": None,
                                   "source": {"kind": "derived", "citation": "test",
                                              "derivation": "a test value, to see the one step it makes"}}
                                  for a, e in acts.items()]} for c, acts in actions.items()}
    path = tmp_path / "one-line.yaml"
    path.write_text(yaml.safe_dump({
        "schema": "circuitsim.profile/1", "name": "one-line", "paper": "a test profile",
        "families": ["compression-baselines"],
        "energy_table": {"schema": "circuitsim.energy_table/1", "technology": "one-line", "components": components},
    }))
    return str(path)


@pytest.mark.parametrize("a, b, source, target", [
    ("cnv", "leca-4x3", "leca-paper", "sky130"),
    ("snn-baseline", "snn", "snn-paper", "literature"),
    ("cnv", "cs", "literature", "sky130"),
])
def test_end_points_are_the_two_reports(a, b, source, target):
    steps = reconcile(a, b, source, target)["steps"]
    assert steps[0].energy_a_J == pytest.approx(_energy(a, source), rel=1e-12)
    assert steps[0].energy_b_J == pytest.approx(_energy(b, source), rel=1e-12)
    assert steps[-1].energy_a_J == pytest.approx(_energy(a, target), rel=1e-12)
    assert steps[-1].energy_b_J == pytest.approx(_energy(b, target), rel=1e-12)


def test_one_changed_line_is_one_step_of_count_times_the_difference(tmp_path):
    """A profile that changes the pixel readout alone (12.1 pJ in the literature table -> 20 pJ) moves both
    architectures by 448 x 448 x 7.9 pJ in exactly one step, named for the line."""
    literature = BudgetResolver("literature").table.budget("pixel_4t", "readout").energy_J
    new = 20e-12
    result = reconcile("cnv", "sd-2x2", "literature", _profile(tmp_path, {"pixel_4t": {"readout": new}}))
    start, *middle, end = result["steps"]
    assert [s.line for s in middle] == [] and end.line == "pixel_4t readout"
    assert end.energy_a_J - start.energy_a_J == pytest.approx(PIXELS * (new - literature), rel=1e-9)
    assert end.energy_b_J - start.energy_b_J == pytest.approx(PIXELS * (new - literature), rel=1e-9)


def test_two_changed_lines_are_two_steps_in_the_order_the_engine_asks(tmp_path):
    """Pixel readout and output-buffer write changed: two steps, the pixel first (cnv's first component);
    after the first step only the pixel has moved."""
    lit = BudgetResolver("literature").table
    d_pix = 20e-12 - lit.budget("pixel_4t", "readout").energy_J
    profile = _profile(tmp_path, {"pixel_4t": {"readout": 20e-12}, "sram": {"write_bit": 1e-12}})
    result = reconcile("cnv", "sd-2x2", "literature", profile)
    start, first, second = result["steps"]
    assert (first.line, second.line) == ("pixel_4t readout", "sram write_bit")
    assert first.energy_a_J - start.energy_a_J == pytest.approx(PIXELS * d_pix, rel=1e-9)
    assert second.energy_a_J == pytest.approx(_energy("cnv", profile), rel=1e-12)


def test_cli_json_and_waterfall(tmp_path):
    result = CliRunner().invoke(main, ["reconcile", "cnv", "leca-4x3", "--from", "leca-paper", "--to", "sky130",
                                       "--json", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rec = json.loads(result.output)
    assert (rec["a"], rec["b"], rec["from"], rec["to"]) == ("cnv", "leca-4x3", "leca-paper", "sky130")
    assert rec["steps"][0]["ratio"] == pytest.approx(6.3, rel=0.01)  # the profile was solved for 6.3x
    deltas = sum(s["delta_ratio"] for s in rec["steps"])
    assert deltas == pytest.approx(rec["steps"][-1]["ratio"] - rec["steps"][0]["ratio"], rel=1e-9)
    png = tmp_path / "reconcile_cnv_leca-4x3.png"
    assert rec["written"] == [str(png)] and png.stat().st_size > 10_000


def test_cli_refuses_an_unknown_architecture_in_one_paragraph():
    result = CliRunner().invoke(main, ["reconcile", "cnv", "no-such-arch"])
    assert result.exit_code == 2
    assert "no-such-arch" in result.output and "Traceback" not in result.output


def test_cli_refuses_unknown_budgets_naming_the_profiles_too():
    result = CliRunner().invoke(main, ["reconcile", "cnv", "leca-4x3", "--from", "nope"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    for choice in ("literature", "sky130", "leca-paper", "snn-paper"):
        assert choice in result.output, result.output

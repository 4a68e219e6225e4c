"""Schema and formula errors name the file, the key and the valid choices."""

import pytest

from circuitsim.accounting import ArchitectureError, EnergyTableError, evaluate, load_architecture
from circuitsim.accounting.expressions import Formula, FormulaError
from circuitsim.accounting.tables import parse_table


def test_unknown_component_lists_valid(write_arch, tiny_yaml):
    TINY = tiny_yaml
    path = write_arch(TINY.replace("block: pixel_4t", "block: pixel_9t"))
    with pytest.raises(EnergyTableError, match=r"tiny.yaml: components.pixel: unknown component 'pixel_9t'.*valid components: .*pixel_4t"):
        evaluate(path)


def test_missing_action_lists_valid(write_arch, tiny_yaml):
    TINY = tiny_yaml
    path = write_arch(TINY.replace("{readout: pixels}", "{expose: pixels}"))
    with pytest.raises(EnergyTableError, match=r"no action 'expose'.*valid actions: readout"):
        evaluate(path)


def test_negative_count(write_arch, tiny_yaml):
    TINY = tiny_yaml
    path = write_arch(TINY.replace("{readout: pixels}", "{readout: pixels - 100}"))
    with pytest.raises(ArchitectureError, match=r"tiny.yaml: components.pixel: action 'readout' has a negative"):
        evaluate(path)


def test_unknown_symbol_in_formula(write_arch, tiny_yaml):
    TINY = tiny_yaml
    path = write_arch(TINY.replace("{readout: pixels}", "{readout: pixles}"))
    with pytest.raises(ArchitectureError, match=r"tiny.yaml: components.pixel.actions.readout: unknown symbol\(s\) pixles"):
        load_architecture(path)


def test_unknown_top_level_key(write_arch, tiny_yaml):
    TINY = tiny_yaml
    path = write_arch(TINY + "colour: blue\n")
    with pytest.raises(ArchitectureError, match=r"tiny.yaml: top level: unknown key\(s\) colour; valid keys:"):
        load_architecture(path)


def test_unknown_architecture_and_parameter():
    with pytest.raises(ArchitectureError, match=r"unknown architecture 'leca-9x9'; valid choices: .*leca-4x4"):
        load_architecture("leca-9x9")
    with pytest.raises(ArchitectureError, match=r"unknown parameter\(s\) N_chan; valid parameters: .*N_ch"):
        evaluate("leca-4x4", overrides={"N_chan": 4})


def test_leca_channel_multiple_constraint():
    with pytest.raises(ArchitectureError, match=r"N_ch above 4 must be a multiple of 4.*N_ch=6"):
        evaluate("leca-4x4", overrides={"N_ch": 6})


def test_compression_ratio_formula_is_checked(write_arch, tiny_yaml):
    TINY = tiny_yaml
    path = write_arch(TINY.replace("  reference_bits_per_frame: pixels * 8\n",
                                   "  reference_bits_per_frame: pixels * 8\n  compression_ratio: 2\n"))
    with pytest.raises(ArchitectureError, match=r"compression_ratio \(2\) disagrees"):
        evaluate(path)


@pytest.mark.parametrize("text", ["__import__('os').system('true')", "rows.real", "[rows]", "(lambda: 1)()",
                                  "open('x')", "rows[0]"])
def test_formula_whitelist(text):
    with pytest.raises(FormulaError):
        Formula.parse(text)


def test_formula_vectorised():
    import numpy as np

    f = Formula.parse("ceil(N_ch / 4) if N_ch > 4 else 1")
    assert f({"N_ch": np.arange(1, 10)}).tolist() == [1, 1, 1, 1, 2, 2, 2, 2, 3]


def test_energy_table_needs_citation(tmp_path):
    data = {"schema": "circuitsim.energy_table/1", "components": {"x": {"actions": [
        {"name": "op", "energy_J": 1e-12, "source": {"kind": "published"}}]}}}
    with pytest.raises(EnergyTableError, match=r"x.op: a published figure needs a 'citation'"):
        parse_table(data, tmp_path / "t.yaml")
    data["components"]["x"]["actions"][0]["energy_pJ"] = 1
    with pytest.raises(EnergyTableError, match=r"unknown key\(s\) \['energy_pJ'\]"):
        parse_table(data, tmp_path / "t.yaml")


def test_every_literature_entry_has_a_source():
    from circuitsim.accounting import load_energy_table

    table = load_energy_table()
    for actions in table.budgets.values():
        for budget in actions.values():
            assert budget.kind in ("published", "derived", "estimate") and budget.source

"""Deck rendering is pure text: golden-text test with a technology whose library is a local file."""

from pathlib import Path

import pytest
import yaml

from circuitsim.errors import NetlistError
from circuitsim.spice.netlist import Netlist, load_netlist, render_deck
from circuitsim.technology import load_technology

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "rendered_deck.cir"

SOURCE = """* divider test
.param r_top=1k
vdd vdd 0 {vdd_v}
r1 vdd mid {r_top}
xn mid g 0 0 nmos w=1 l=0.15
.end
"""


@pytest.fixture
def fake_tech(tmp_path):
    (tmp_path / "models.lib").write_text("* empty\n")
    data = yaml.safe_load(load_technology().source_path.read_text())
    data["model_library"] = {"path": "models.lib"}
    data["name"] = "fake"
    path = tmp_path / "fake.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_technology(path)


def _netlist():
    return Netlist("divider", Path("divider.cir"), SOURCE)


def test_render_matches_golden(fake_tech, tmp_path):
    deck = render_deck(_netlist(), fake_tech, "ss", 85, mismatch=True, params={"r_top": 2000})
    from circuitsim import __version__

    deck = deck.replace(str(tmp_path), "<TMP>").replace(f"circuitsim {__version__}", "circuitsim <VERSION>")
    assert deck == GOLDEN.read_text()


def test_nominal_section_and_defaults(fake_tech):
    deck = render_deck(_netlist(), fake_tech, "ff")
    assert " ff\n" in deck and ".temp 27\n" in deck and ".param vdd_v=1.8\n" in deck
    assert ".param r_top=1k" in deck


def test_unknown_param_refused(fake_tech):
    with pytest.raises(NetlistError, match="declares no parameter r_bottom; declared: r_top"):
        render_deck(_netlist(), fake_tech, "tt", params={"r_bottom": 1})


def test_unknown_netlist_lists_shipped():
    with pytest.raises(NetlistError, match="not found; shipped netlists: .*sample_hold"):
        load_netlist("no_such_block")


def test_shipped_netlists_use_only_generic_devices():
    """No circuit line of a shipped netlist depends on the PDK: devices come from the technology file.

    Comment lines may describe the design context (e.g. that sky130 has no pinned photodiode)."""
    from circuitsim.spice.netlist import netlist_dir

    for path in netlist_dir().glob("*.cir"):
        for number, line in enumerate(path.read_text().lower().splitlines(), start=1):
            circuit = line.split(";")[0].split("$ ")[0]
            if circuit.strip() and not circuit.lstrip().startswith("*"):
                assert "sky130" not in circuit, f"{path.name}:{number}: {line.strip()}"


def test_netlist_that_is_not_utf8_names_file_and_byte_offset(tmp_path):
    path = tmp_path / "latin1.cir"
    path.write_bytes("* r\u00e9sistance\nr1 a 0 1k\n.end\n".encode("latin-1"))
    with pytest.raises(NetlistError) as err:
        load_netlist(path)
    text = str(err.value)
    assert f"netlist {path} is not UTF-8 text: byte 0xe9 at byte offset 3 (line 1, column 4)" in text
    assert "iconv -f latin1 -t utf-8" in text


def test_cli_render_refuses_a_netlist_that_is_not_utf8(cli, tmp_path):
    path = tmp_path / "latin1.cir"
    path.write_bytes(b"* ok\nr1 a 0 1k\n* \xb5A\n.end\n")
    result = cli("spice", "render", str(path))
    assert result.returncode == 2
    assert "is not UTF-8 text: byte 0xb5 at byte offset 17 (line 3, column 3)" in result.stderr
    assert "Traceback" not in result.stderr

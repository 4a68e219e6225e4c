"""The technology's standard cells in a deck: a ``*@cells`` line brings the sky130_fd_sc_hd cells in, and they
behave as their function says (an inverter inverts, an open latch passes its input), at the corners' supply."""

from pathlib import Path

import pytest

from circuitsim.errors import TechnologyError
from circuitsim.spice.netlist import Netlist, render_deck

DECK = """* inverter and transparent-high latch from the standard cells
*@cells inv_1 dlxtp_1
vdd vpwr 0 dc {vdd_v}
va a 0 dc 0
vg g 0 dc 0
xi a 0 0 vpwr vpwr y inv_1
xl a g 0 0 vpwr vpwr q dlxtp_1
.end
"""


def test_cells_directive_is_parsed_in_order_once():
    net = Netlist("c", Path("c.cir"), DECK + "*@cells inv_1 mux2_1\n")
    assert net.cells() == ["inv_1", "dlxtp_1", "mux2_1"]


def test_rendered_deck_wraps_each_cell_under_its_short_name(sky130):
    deck = render_deck(Netlist("c", Path("c.cir"), DECK), sky130, "tt")
    assert ".subckt inv_1 A VGND VNB VPB VPWR Y" in deck
    assert "x0 A VGND VNB VPB VPWR Y sky130_fd_sc_hd__inv_1" in deck
    assert deck.count(".include") == 2


def test_unknown_cell_is_refused_with_the_naming_rule(sky130):
    with pytest.raises(TechnologyError, match="without the 'sky130_fd_sc_hd__' prefix"):
        render_deck(Netlist("c", Path("c.cir"), "* t\n*@cells not_a_cell_1\n.end\n"), sky130, "tt")


@pytest.mark.spice
@pytest.mark.parametrize("corner", ["tt", "ss", "ff"])
def test_inverter_inverts_and_open_latch_passes(session, sky130, corner):
    session.load(render_deck(Netlist("c", Path("c.cir"), DECK), sky130, corner), name=corner)
    vdd = session.deck_param("vdd_v")
    out = {}
    for a, g in ((0.0, vdd), (vdd, vdd)):
        session.command(f"alter va dc={a}")
        session.command(f"alter vg dc={g}")
        session.analyse("op", point=f"a={a} g={g}")
        out[(a, g)] = (float(session.vector("y")[0]), float(session.vector("q")[0]))
    assert out[(0.0, vdd)][0] > 0.95 * vdd and out[(vdd, vdd)][0] < 0.05 * vdd
    # transparent (gate high): q follows d
    assert out[(0.0, vdd)][1] < 0.05 * vdd and out[(vdd, vdd)][1] > 0.95 * vdd

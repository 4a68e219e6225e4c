"""The technology's per-pixel column load (``column_line.drain_F_per_pixel`` in sky130.yaml) is what a
deselected pixel's row-select transistor presents to the column line in the technology's own models."""

from pathlib import Path

import numpy as np
import pytest

from circuitsim.spice.analyses import ac_point
from circuitsim.spice.netlist import Netlist, render_deck

#: The pixel deck's row-select device (netlists/pixel_4t.cir: xrs, nmos_lvt 1/0.15), gate off, its source
#: held at a deselected pixel's SF output (1.3 V, AC ground); the column biased through 1 GOhm.
DECK = """* a deselected pixel's row-select transistor seen from the column line
.param vcol_v=1.0
vs s 0 dc 1.3
vb col_dc 0 dc {vcol_v}
rb col_dc col 1e9
iac 0 col dc 0 ac 1
xrs col 0 s 0 nmos_lvt w=1 l=0.15
.end
"""
FREQUENCY_HZ = 1e7  # the 1 GOhm bias pole is at ~200 Hz with 0.6 fF: far below


def _drain_F(session, vcol_v: float) -> float:
    session.command(f"alterparam vcol_v={vcol_v}")
    session.reset()
    z = ac_point(session, FREQUENCY_HZ, ["col"])["v_col_V"]
    return float((1.0 / z).imag / (2 * np.pi * FREQUENCY_HZ))


@pytest.mark.spice
def test_deselected_drain_load_is_the_technology_figure(session, sky130):
    session.load(render_deck(Netlist("drain", Path("drain.cir"), DECK), sky130, "tt", 27.0), name="drain")
    stated = sky130.column_line()["drain_F_per_pixel"]
    assert _drain_F(session, 1.0) == pytest.approx(stated, rel=0.02)
    # a junction: less capacitance at a higher column voltage (reverse bias), within the stated 0.59..0.69 fF
    c = [_drain_F(session, v) for v in (0.5, 1.0, 1.3)]
    assert c[0] > c[1] > c[2]
    assert 0.55e-15 < min(c) and max(c) < 0.72e-15

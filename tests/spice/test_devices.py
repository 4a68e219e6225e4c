"""sky130 through the runner: Id(Vgs) of nfet/pfet at the five corners."""

import numpy as np
import pytest

from circuitsim.spice.analyses import dc_sweep

pytestmark = pytest.mark.spice

DEVICES = """* nfet and pfet, W/L = 1/0.15 um, |Vds| = 1.8 V
vdd vdd 0 {vdd_v}
vgn gn 0 0
vgp gp 0 0
vdn dn 0 {vdd_v}
xn dn gn 0 0 nmos w=1 l=0.15
vsp sp 0 {vdd_v}
xp 0 gp sp sp pmos w=1 l=0.15
.end
"""

VGS = np.arange(0, 1.8001, 0.01)


@pytest.fixture(scope="module")
def curves(session, sky130):
    from pathlib import Path

    from circuitsim.spice.netlist import Netlist, render_deck

    out = {}
    for corner in ("tt", "ss", "ff", "sf", "fs"):
        session.load(render_deck(Netlist("devices", Path("d.cir"), DEVICES), sky130, corner), name=corner)
        n = dc_sweep(session, "vgn", 0, 1.8, 0.01, ["vdn#branch"])
        p = dc_sweep(session, "vgp", 0, 1.8, 0.01, ["vsp#branch"])
        # drain current magnitudes vs |Vgs|; the pfet's Vsg = 1.8 - Vg, so reverse its sweep
        out[corner] = (-n["i_vdn_A"].to_numpy(), -p["i_vsp_A"].to_numpy()[::-1])
    return out


def _vth(id_a, w_over_l=1 / 0.15, i_crit_a=100e-9):
    """Constant-current threshold: |Vgs| where |Id| = 100 nA * W/L."""
    return float(np.interp(i_crit_a * w_over_l, id_a, VGS))


@pytest.mark.parametrize("corner", ["tt", "ss", "ff", "sf", "fs"])
def test_id_monotonic_and_threshold_sane(curves, corner):
    for id_a in curves[corner]:
        assert np.all(np.diff(id_a) > 0), "Id must rise with |Vgs|"
        assert 0.25 < _vth(id_a) < 0.8
        assert 50e-6 < id_a[-1] < 2e-3


def test_corner_ordering(curves):
    for kind in (0, 1):  # 0 = nfet, 1 = pfet
        on = {c: curves[c][kind][-1] for c in curves}
        assert on["ff"] > on["tt"] > on["ss"]
        vth = {c: _vth(curves[c][kind]) for c in curves}
        assert vth["ff"] < vth["tt"] < vth["ss"]


def test_sf_is_fast_nmos_slow_pmos_as_measured(curves):
    """The library's header says sf = slow N / fast P; the models do the reverse (SPEC section 3)."""
    n_on = {c: curves[c][0][-1] for c in curves}
    p_on = {c: curves[c][1][-1] for c in curves}
    assert n_on["sf"] > n_on["tt"] > n_on["fs"]
    assert p_on["fs"] > p_on["tt"] > p_on["sf"]

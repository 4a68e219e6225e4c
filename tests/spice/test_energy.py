"""Supply energy: charging a MIM capacitor C from 0 to VDD through a switch draws Q·VDD = C·VDD²."""

import numpy as np
import pytest

from circuitsim.spice.analyses import ac_point, transient
from circuitsim.spice.measure import settling_time_s, supply_energy_J

pytestmark = pytest.mark.spice

CHARGE = """* MIM 20x20 um charged to VDD through a PMOS switch; the gate driver is a separate ideal source
vdd vdd 0 {vdd_v}
vg g 0 pulse({vdd_v} 0 1n 50p 50p 20n 40n)
xsw top g vdd vdd pmos w=2 l=0.15
xc top 0 mim w=20 l=20
.ic v(top)=0
.end
"""

AC = """* the same MIM capacitor driven by a small-signal source: I = j 2 pi f C V
vac top 0 dc 0 ac 1
xc top 0 mim w=20 l=20
.end
"""


def test_capacitor_charge_energy_is_c_vdd_squared(load):
    session = load(AC)
    f = 1e6
    c_f = abs(ac_point(session, f, ["vac#branch"])["i_vac_A"]) / (2 * np.pi * f)
    assert c_f == pytest.approx(2e-15 * 20.15**2, rel=0.01)  # the model's area formula

    session = load(CHARGE)
    wave = transient(session, 10e-12, 20e-9, ["top", "vdd#branch"], uic=True)
    t, i = wave["time_s"].to_numpy(), wave["i_vdd_A"].to_numpy()
    energy = supply_energy_J(t, i, 1.8, (0.0, 20e-9))
    assert energy == pytest.approx(c_f * 1.8**2, rel=0.03)
    assert wave["v_top_V"].iloc[-1] == pytest.approx(1.8, abs=1e-3)
    settle = settling_time_s(t, wave["v_top_V"].to_numpy(), 1e-9, 1.8e-3)
    assert 0 < settle < 19e-9


def test_supply_energy_window_and_sign():
    t = np.linspace(0, 1e-9, 101)
    i = np.full_like(t, -1e-3)  # a source delivering 1 mA has a negative branch current
    assert supply_energy_J(t, i, 2.0) == pytest.approx(2e-12)
    assert supply_energy_J(t, i, 2.0, (0.25e-9, 0.75e-9)) == pytest.approx(1e-12)


def test_settling_time_of_an_exponential():
    t = np.linspace(0, 10e-9, 10001)
    v = 1 - np.exp(-t / 1e-9)
    # |v - 1| < 1e-3 after t = ln(1000) * tau
    assert settling_time_s(t, v, 0.0, 1e-3, final=1.0) == pytest.approx(np.log(1000) * 1e-9, rel=1e-3)
    assert np.isnan(settling_time_s(t, v, 0.0, 1e-6, final=1.0))

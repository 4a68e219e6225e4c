"""Column amplifier / PGA: kernel vs NumPy reference, modes, gain codes and range errors, the noise theory
in its textbook limits, the committed calibration against the netlist's design (capacitor ratios, the bias
branch's static power), and one SPICE re-simulation of held-out points against the artifact."""

import re

import numpy as np
import pytest
from scipy import constants

from circuitsim.blocks.col_amp import (
    C_LOAD_F,
    C_UNIT_F,
    GAINS,
    SPEC,
    T_PERIOD_S,
    ColAmpLut,
    ColAmpParams,
    col_amp,
    col_amp_energy_J,
    col_amp_reference,
    load_lut,
    noise_terms_v2,
    thermal_noise_v,
)
from circuitsim.errors import InputRangeError
from circuitsim.spice.netlist import load_netlist

U = np.array([-0.05, 0.0, 0.3, 0.7, 1.05])
X_TAB = np.array([U / g for g in GAINS])
SYNTHETIC = ColAmpLut(
    x_v=X_TAB,
    out_v=np.array([0.402 + 0.99 * U - 0.004 * U ** 2 for _ in GAINS]),
    energy_j=np.full(X_TAB.shape, 78e-12) + 1e-12 * U,
    sigma_u=np.array([-0.05, 1.05]),
    sigma_log2g=np.array([0.0, 3.0]),
    sigma_v=np.array([[4.0e-3, 4.4e-3], [4.2e-3, 5.0e-3]]),
    gm_in_s=110e-6, gm_sink_s=260e-6, gm_load_s=140e-6, c_in_f=27e-15,
    line_coeffs=np.array([[0.002, g * 0.99] for g in GAINS]),
)


def _netlist_cap_f(text: str, name: str) -> float:
    """C of MIM instance ``name`` in the netlist text: 2 fF/um^2 * (w + 0.15)(l + 0.15) (technology YAML)."""
    m = re.search(rf"^{name} \S+ \S+ mim w=([\d.]+) l=([\d.]+)", text, re.M)
    w, l = float(m.group(1)), float(m.group(2))
    return 2e-15 * (w + 0.15) * (l + 0.15)


def test_kernel_matches_reference_in_every_mode_and_is_seeded():
    rng = np.random.default_rng(0)
    g = np.array(GAINS, float)[rng.integers(0, 4, 500)]
    x = rng.uniform(-0.05, 1.05, 500) / g
    for mode in ("ideal", "hard", "noisy"):
        params = ColAmpParams(mode=mode)
        a = col_amp(x, g, SYNTHETIC, params, np.random.default_rng(7))
        b = col_amp_reference(x, g, SYNTHETIC, params, np.random.default_rng(7))
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    again = col_amp(x, g, SYNTHETIC, ColAmpParams(), np.random.default_rng(7))
    np.testing.assert_array_equal(again, col_amp(x, g, SYNTHETIC, ColAmpParams(), np.random.default_rng(7)))


def test_ideal_mode_is_reset_level_plus_gain_times_cds_difference():
    x = np.array([0.0, 0.05, 0.1])
    for gain in GAINS:
        np.testing.assert_allclose(col_amp(x, gain, SYNTHETIC, ColAmpParams(mode="ideal")), 0.4 + gain * x)


def test_gain_codes_and_ranges_are_refused():
    with pytest.raises(InputRangeError, match="gain = 3 is outside the gains the amplifier has: 1, 2, 4, 8"):
        col_amp(0.01, 3, SYNTHETIC, ColAmpParams(mode="hard"))
    with pytest.raises(InputRangeError, match="at gain 8"):
        col_amp(0.2, 8, SYNTHETIC, ColAmpParams(mode="hard"))
    with pytest.raises(ValueError, match="Generator"):
        col_amp(0.01, 8, SYNTHETIC, ColAmpParams(mode="noisy"))


def test_noisy_spread_is_mismatch_and_thermal_in_quadrature():
    params = ColAmpParams(mode="noisy", thermal_noise=True)
    out = col_amp(np.full(200_000, 0.5 / 8), 8, SYNTHETIC, params, np.random.default_rng(3))
    sigma_mm = np.interp(3.0, [0.0, 3.0], [np.interp(0.5, [-0.05, 1.05], row) for row in SYNTHETIC.sigma_v])
    expected = np.hypot(sigma_mm, thermal_noise_v(8, SYNTHETIC))
    assert out.std() == pytest.approx(expected, rel=0.01)


def test_capacitors_are_the_netlists():
    text = load_netlist("col_amp").text
    assert C_UNIT_F == pytest.approx(_netlist_cap_f(text, "xcf"), rel=1e-12)
    assert C_LOAD_F == pytest.approx(_netlist_cap_f(text, "xcl"), rel=1e-12)
    bank_units = {g: 1 + sum(len(re.findall(rf"^xc{b}\w* col p{b} mim", text, re.M)) for b in range(1, k + 1))
                  for k, g in enumerate(GAINS)}
    assert bank_units == {1: 1, 2: 2, 4: 4, 8: 8}, "C_s / C_f = gain: thermometer banks of unit capacitors"


def test_noise_theory_reduces_to_textbook_limits():
    """The reset switch's term without input capacitance: at gain 1 the kT/C of one 100 fF sample
    (0.20 mV at 300 K), at gain G the charge noise kT·C_s of the input capacitor on C_f, G·kT/C_u; and the
    input-referred noise falls with gain."""
    ideal = ColAmpLut(**{**SYNTHETIC.__dict__, "c_in_f": 0.0, "gm_sink_s": 0.0, "gm_load_s": 0.0})
    kt = constants.k * 300.15
    terms = noise_terms_v2(1, ideal)
    assert terms["reset_switch"] == pytest.approx(kt / C_UNIT_F, rel=1e-12)
    assert np.sqrt(kt / C_UNIT_F) == pytest.approx(0.20e-3, rel=0.05)
    assert noise_terms_v2(8, ideal)["reset_switch"] == pytest.approx(8 * kt / C_UNIT_F, rel=1e-12)
    ref = [thermal_noise_v(g, SYNTHETIC) / g for g in GAINS]
    assert all(a > b for a, b in zip(ref, ref[1:]))


def test_committed_calibration_follows_the_design():
    """Gain = C_s / C_f within the OTA's finite loop gain (2 %), offset = the reset switch's injection and the
    OTA's (mV), mismatch σ of the input pair (mV), thermal noise below 2 LSB at the output."""
    lut = load_lut()
    lsb = SPEC.lsb_v
    for k, gain in enumerate(GAINS):
        assert lut.line_coeffs[k, 1] == pytest.approx(gain, rel=0.02)
        assert lut.line_coeffs[k, 1] < gain, "finite OTA gain only ever lowers the closed-loop gain"
        assert abs(lut.line_coeffs[k, 0]) < 10e-3
        assert thermal_noise_v(gain, lut) < 2 * lsb
    assert np.all((lut.sigma_v > 1e-3) & (lut.sigma_v < 10e-3))
    assert 50e-6 < lut.gm_in_s < 300e-6, "input pair at ~8 uA in moderate inversion"


def test_energy_per_sample_is_the_bias_power_over_one_cycle():
    """The transient's supply energy over one 700 ns cycle vs the DC operating point's static power
    (static_W · T_period, an independent SPICE measurement): the OTA's bias dominates, the phase drivers add
    a few tens of fJ, so the two agree within 5 %."""
    from circuitsim.store import NOMINAL, ArtifactStore

    table = ArtifactStore().open("col_amp", NOMINAL).table("energy.json")
    lut = load_lut()
    e = col_amp_energy_J(lut.x_v[3], 8, lut)
    assert np.all(np.abs(e / (table["static_W"] * T_PERIOD_S) - 1) < 0.05)
    assert table["leakage_W"] < 1e-3 * table["static_W"]


@pytest.mark.spice
def test_spice_reproduces_committed_held_out_points(sky130):
    """Re-simulate two held-out points at tt (nominal) against the artifact."""
    from circuitsim.blocks.col_amp import simulate
    from circuitsim.spice.netlist import render_deck
    from circuitsim.spice.session import SpiceSession
    from circuitsim.store import ArtifactStore

    spice = ArtifactStore().spice_arrays("col_amp")
    session = SpiceSession.shared()
    session.load(render_deck(load_netlist(SPEC.netlist), sky130, "tt", 27), name="col_amp tt")
    rows = spice["holdout_x"][[5, 45]]

    class Task:
        inputs = tuple(map(tuple, rows))
        seeds = ()

    out = simulate(session, Task())["out_V"]
    np.testing.assert_allclose(out, spice["nominal_holdout_out_V"][[5, 45]], rtol=0, atol=1e-9)

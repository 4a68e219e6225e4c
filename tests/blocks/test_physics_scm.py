"""SCM physics checked independently of circuitsim/blocks/scm.py: the capacitors against the MIM geometry of
netlists/scm.cir and the technology's cap density, LeCA Eq. 3 fitted to the committed SPICE data, and the
kT/C of one MAC for every weight word derived from charge conservation.

Each test names the bug it is there to catch."""

import re

import numpy as np
import pytest
from netlist_facts import mim_capacitance_f
from scipy import constants, optimize, stats

from circuitsim.blocks import scm
from circuitsim.config import project_root
from circuitsim.store import ArtifactStore

T_K = constants.zero_Celsius + 27.0  # the nominal operating point, tt 27 °C
KT_J = constants.k * T_K



def netlist_param(netlist: str, name: str) -> float:
    text = (project_root() / "netlists" / f"{netlist}.cir").read_text()
    return float(re.search(rf"^\.param\s+{name}=([\d.eE+-]+)", text, re.M).group(1))


@pytest.fixture(scope="module")
def caps():
    """The sampling array (bit 0..3) and the two o-buffers of netlists/scm.cir (F)."""
    bits = np.array([mim_capacitance_f("scm", f"xc{b}") for b in range(4)])
    return bits, mim_capacitance_f("scm", "xcop"), mim_capacitance_f("scm", "xcon")


def test_capacitors_are_the_netlist_geometry(caps):
    """Catches a wrong unit or o-buffer capacitor in ScmParams (e.g. C_u = 8 fF instead of 9.245 fF).

    netlists/scm.cir draws bit b as a square MIM of 2^b units (sides rounded to 1 nm, so the ratios hold to
    < 0.1 %): 15·C_u = 139 fF, C_out = 135 fF per o-buffer (README, SPEC 4.4: C_out/C_s,tot ≈ 1)."""
    bits, c_outp, c_outn = caps
    c_u = bits[0]
    np.testing.assert_allclose(bits / (2.0 ** np.arange(4) * c_u), 1.0, atol=1e-3)
    assert bits.sum() == pytest.approx(139e-15, abs=0.5e-15)
    assert c_outp == c_outn == pytest.approx(135e-15, abs=0.5e-15)
    params = scm.ScmParams()
    assert params.c_unit_f == pytest.approx(c_u, rel=1e-9, abs=0)
    assert params.c_out_f == pytest.approx(c_outp, rel=1e-9, abs=0)
    assert params.v_cm_v == netlist_param("scm", "vcm_v")


def test_eq3_fitted_to_the_committed_spice_data_gives_the_unit_capacitor(caps):
    """Catches a model C_u that the transistor-level SCM does not have (e.g. 8 fF: 13 % off).

    LeCA Eq. 3 from reset (both o-buffers at V_CM) moves the receiving buffer by
    α_m·(V_CM − v_in), α_m = m·C_u / (C_out + m·C_u), sign by the steering bit. A least-squares fit of that
    form to every nominal SPICE MAC at tt (9 v_in × 30 non-zero words), with one free offset per word for
    the switches' charge injection, gives C_u/C_out; with C_out from the netlist that is C_u within 5 % of
    the model's (what it tolerates: the switches' junction capacitance and signal-dependent injection, which
    change the slope: measured 4.2 % low, the o-buffers' switch junctions adding to C_out, which Eq. 3
    with the drawn C_out reads as a smaller C_u)."""
    spice = ArtifactStore().spice_arrays("scm")
    x = spice["fit_x"]
    v_in, word = x[:, 0], x[:, 1].astype(int)
    sign = np.where(word >= 16, -1.0, 1.0)
    mag = word % 16
    keep = mag > 0
    v_in, sign, mag, word = v_in[keep], sign[keep], mag[keep], word[keep]
    v_d = spice["nominal_fit_out_V"][keep]
    v_cm = netlist_param("scm", "vcm_v")
    words = np.unique(word)
    onehot = (word[:, None] == words[None, :]).astype(float)

    def residual(ratio):
        alpha = mag * ratio / (1 + mag * ratio)
        r = v_d - sign * alpha * (v_cm - v_in)
        offsets, *_ = np.linalg.lstsq(onehot, r, rcond=None)  # injection per word
        return r - onehot @ offsets

    best = optimize.minimize_scalar(lambda q: np.sum(residual(q) ** 2), bounds=(0.01, 0.2), method="bounded")
    c_u_fit = best.x * caps[1]
    assert c_u_fit == pytest.approx(scm.ScmParams().c_unit_f, rel=0.05, abs=0)
    assert np.abs(residual(best.x)).max() < 5e-3, "Eq. 3 + a per-word offset describes SPICE to a few mV"


def _thermal_only_lut():
    """A calibration with no deterministic error and no mismatch: what remains of the noisy mode is kT/C."""
    x = np.array([0.6, 1.0, 1.4])
    zeros = np.zeros((3, 32))
    return scm.ScmLut(x, zeros, zeros, zeros, zeros, zeros, 15e-9)


def test_kt_c_of_one_mac_for_every_weight_word(caps):
    """Catches the sampling term's transfer ratio not squared (kT/C_s·α instead of kT/C_s·α²), a missing
    term, kT/C on the wrong capacitor, or noise on a zero weight.

    Charge conservation: the sampled charge noise on C_s = |w|·C_u has variance kT·C_s; shared onto
    C_s + C_out it is a voltage of variance kT·C_s/(C_s + C_out)². Opening the transfer switch leaves
    kT/(C_s + C_out) on the connected pair. A zero weight (words 0 and 16) samples nothing and is never
    connected: no noise. Each word's sample variance (20 000 MACs) must lie in its chi-square interval
    (two-sided, 1 − 1e-4 per word, so the 32 words together fail by chance with p < 0.4 %)."""
    bits, c_out, _ = caps
    c_u = bits[0]
    n = 20_000
    rng = np.random.default_rng(2024)
    lut = _thermal_only_lut()
    params = scm.ScmParams(mode="noisy", thermal_noise=True)
    lo_q, hi_q = stats.chi2.ppf([0.5e-4, 1 - 0.5e-4], n - 1) / (n - 1)
    for w in range(32):
        out = scm.scm_mac(np.full(n, 1.0), np.full(n, w), lut, params, rng)
        m = w % 16
        if m == 0:
            assert np.ptp(out) == 0.0, f"word {w}: a zero weight adds no kT/C"
            continue
        c_s = m * c_u
        expected = KT_J * c_s / (c_s + c_out) ** 2 + KT_J / (c_s + c_out)
        ratio = out.var(ddof=1) / expected
        assert lo_q <= ratio <= hi_q, (w, ratio, (lo_q, hi_q))

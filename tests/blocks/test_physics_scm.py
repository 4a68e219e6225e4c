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
    """Catches the sampling term's transfer ratio not squared (kT/C_s·α instead of kT/C_s·α²), the transfer
    term taken as kT/(C_s + C_out) (a node tied to a source, not the floating pair of C_s and C_out), the
    o-buffers' reset kT/C_out missing, or kT/C on the wrong capacitor.

    Charge conservation on the island of C_s's top plate and C_out (C_t = C_s + C_out): the reset leaves
    kT/C_out on each buffer, carried as (C_out/C_t)²; the sampled charge noise (variance kT·C_s) arrives as
    kT·C_s/C_t²; opening the transfer switch freezes the loop charge of C_s in series with C_out (variance
    kT·C_s·C_out/C_t, equipartition), kT·C_s/(C_out·C_t) on C_out. The three sum to kT/C_out, so the
    differential output after one MAC from reset has variance 2·kT/C_out (~247 µV rms) for every word,
    zero weights included (both buffers keep their reset noise). Each word's sample variance (20 000 MACs)
    must lie in its chi-square interval (two-sided, 1 − 1e-4 per word: the 32 words fail by chance with
    p < 0.4 %)."""
    _, c_out, _ = caps
    n = 20_000
    rng = np.random.default_rng(2024)
    lut = _thermal_only_lut()
    params = scm.ScmParams(mode="noisy", thermal_noise=True)
    lo_q, hi_q = stats.chi2.ppf([0.5e-4, 1 - 0.5e-4], n - 1) / (n - 1)
    for w in range(32):
        out = scm.scm_mac(np.full(n, 1.0), np.full(n, w), lut, params, rng)
        ratio = out.var(ddof=1) / (2 * KT_J / c_out)
        assert lo_q <= ratio <= hi_q, (w, ratio, (lo_q, hi_q))


def test_each_o_buffer_holds_kt_over_c_out_through_a_row_of_macs(caps):
    """Catches a MAC's kT/C not propagated by Eq. 3 (added fresh instead of carried), the reset noise missing
    from the row, noise added by a zero weight, or the noise put on the buffer that did not receive the MAC.

    In equilibrium a buffer is a capacitor C_out whose last switch just opened: its voltage variance is
    kT/C_out after the reset and after every MAC, whatever the weights before (see the test above; charge
    conservation, independent of the model's split into reset, sampling and transfer terms). A zero-weight
    MAC leaves both buffers exactly as they were. 16 MACs of mixed signs and sizes on 20 000 rows; each
    buffer after each MAC in its chi-square interval (two-sided, 1 − 1e-5 each: 32 checks, p < 0.04 %)."""
    _, c_out, _ = caps
    n = 20_000
    weights = [15, 1, 0, -8, 3, -1, 16, 7, -15, 0, 2, -3, 12, -12, 5, 9]
    words = np.array([w if w >= 0 else 16 - w for w in weights])
    rng = np.random.default_rng(7)
    params = scm.ScmParams(mode="noisy", thermal_noise=True)
    vp, vn = scm.scm_accumulate(np.full((n, 16), 1.0), np.broadcast_to(words, (n, 16)), _thermal_only_lut(),
                                params, rng)
    lo_q, hi_q = stats.chi2.ppf([0.5e-5, 1 - 0.5e-5], n - 1) / (n - 1)
    for k in range(16):
        for name, v in (("p", vp[:, k]), ("n", vn[:, k])):
            ratio = v.var(ddof=1) / (KT_J / c_out)
            assert lo_q <= ratio <= hi_q, (k, name, ratio)
        if words[k] % 16 == 0 and k > 0:
            assert np.array_equal(vp[:, k], vp[:, k - 1]) and np.array_equal(vn[:, k], vn[:, k - 1]), k

"""End-to-end LeCA PE check (issue 4, the paper's Fig. 8): V_pixel x weight -> 4-bit code through
PSF -> one SCM row of 16 MACs -> FVF (both o-buffers) -> ideal 4-bit quantizer, SPICE (one deck, the whole
chain) vs the composed behavioral models (hard mode: LUT means, no noise) at tt 27 C.

The deck is composed from the blocks' own netlists: ``netlists/scm.cir`` with its input source moved from
the SCM input to the PSF gate (the pixel level held on the i-buffer, one per MAC slot as in LeCA, where each
MAC reads another pixel's i-buffer), the PSF of ``netlists/psf.cir`` (20 uA mirror, low-Vt PMOS follower)
driving the SCM sampling array directly, and one FVF of ``netlists/fvf.cir`` on each o-buffer, each loaded
by its 250 fF ADC capacitance. The differential FVF output is read 8 ns after the 16th transfer (inside the
ADC sampling window). What the composition does not see and SPICE does: the PSF's settling into the
sampling array within the 6.75 ns sample phase and the FVF input capacitance on the o-buffers.
"""

import numpy as np
import pytest

pytestmark = pytest.mark.spice

ADC_BITS = 4
ADC_FULL_SCALE_V = 0.5  # ±0.5 V differential (circuitsim.sensor.leca.LecaConfig.adc_full_scale_v)
LSB_V = 2 * ADC_FULL_SCALE_V / 2**ADC_BITS
READ_S = 15 * 15e-9 + 14.25e-9 + 8e-9

PSF_LINES = """
* i-buffer + PSF (netlists/psf.cir): the held pixel level is the PSF gate (node hold), output = SCM input
vddb vddb 0 {vdd_v}
irefpsf bp 0 20u
xmrefpsf bp bp vddb vddb pmos w=16 l=0.5
xmtailpsf in bp vdd vdd pmos w=16 l=0.5
xmsfpsf 0 hold in in pmos_lvt w=8 l=0.35
"""
FVF_LINES = """
* FVF (netlists/fvf.cir) on each o-buffer, 250 fF ADC load each, bias mirror shared
ireffvf vddb bn 10u
xmreffvf bn bn 0 0 nmos w=2 l=1
"""
FVF_SIDE = """xmb1{s} x{s} bn 0 0 nmos w=2 l=1
xmb2{s} fout{s} bn 0 0 nmos w=6 l=1
xm1{s} x{s} out{s} fout{s} fout{s} pmos_lvt w=4 l=0.35
xm2{s} fout{s} x{s} vdd vdd pmos w=4 l=0.5
xcl{s} fout{s} 0 mim w=11.03 l=11.03
"""


def chain_netlist():
    from circuitsim.spice.netlist import Netlist, load_netlist

    scm_net = load_netlist("scm")
    lines = []
    for line in scm_net.text.splitlines():
        if line.startswith("vin in 0 pwl("):
            line = "vin hold 0 pwl(" + line[len("vin in 0 pwl("):]
            lines += [line, PSF_LINES, FVF_LINES, FVF_SIDE.format(s="p"), FVF_SIDE.format(s="n")]
            continue
        lines.append(line)
    text = "\n".join(lines).replace("* scm: LeCA", "* pe_chain (PSF -> SCM -> FVF) from scm: LeCA", 1) + "\n"
    return Netlist("pe_chain", scm_net.path, text)


def run_row(session, v_pix, words):
    """One transient: 16 MACs on the pixel levels ``v_pix`` with 5-bit ``words``; FVF(p) - FVF(n) at READ_S."""
    from circuitsim.blocks import scm_calibration as scm
    from circuitsim.spice.analyses import apply_point, transient

    params = {"rst_period": 1.0}
    for k in range(scm.N_SLOTS):
        w = int(words[k])
        params[f"vin_{k}"] = float(v_pix[k])
        params[f"sg_{k}"] = (w >> 4) & 1
        for b in range(scm.N_BITS):
            params[f"b{b}_{k}"] = (w >> b) & 1
    apply_point(session, None, **params)
    wave = transient(session, scm.TRAN_STEP_S, READ_S + 0.5e-9, ["foutp", "foutn", "outp", "outn"], point="PE row")
    t = wave["time_s"].to_numpy()
    at = lambda col: float(np.interp(READ_S, t, wave[col].to_numpy()))  # noqa: E731
    return at("v_foutp_V") - at("v_foutn_V"), at("v_outp_V"), at("v_outn_V")


def composed(v_pix, words):
    """The behavioral chain in hard mode: PSF LUT -> scm_accumulate -> FVF LUT on each o-buffer."""
    from circuitsim.blocks import fvf, psf, scm

    v_in = psf.psf(v_pix, psf.load_lut(), psf.PsfParams(mode="hard"))
    vp, vn = scm.scm_accumulate(v_in, words, scm.load_lut(), scm.ScmParams(mode="hard"))
    f_lut = fvf.load_lut()
    hard = fvf.FvfParams(mode="hard")
    vp, vn = np.atleast_1d(vp[..., -1]), np.atleast_1d(vn[..., -1])
    v_d = fvf.fvf(vp, f_lut, hard) - fvf.fvf(vn, f_lut, hard)
    return float(v_d[0]), float(vp[0]), float(vn[0])


def quantize(v_d):
    return np.clip(np.floor((np.asarray(v_d) + ADC_FULL_SCALE_V) / LSB_V), 0, 2**ADC_BITS - 1).astype(int)


def edge_distance_lsb(v_d):
    """Distance (LSB) of each v_d from the nearest transition level of the ideal 4-bit quantizer: how far a
    code comparison is from being decided by sub-LSB errors."""
    u = (np.asarray(v_d) + ADC_FULL_SCALE_V) / LSB_V
    return np.abs(u - np.clip(np.round(u), 1, 2**ADC_BITS - 1))


def signed_to_word(w):
    return np.where(np.asarray(w) < 0, 16 + np.abs(w), w)


def varied_rows(seed=0, n_rows=88):
    """Rows of 16 MACs with 16 different pixel levels and words each (no repeated MAC: capacitor-ratio errors
    do not cancel), the levels drawn uniformly over the PSF's 0.2 .. 0.9 V and kept ≥ 2 mV from its fit grid
    (where the LUT is exact by construction), the words over all 32 (both signs, zero weights included)."""
    from circuitsim.blocks import psf

    fit = np.asarray(psf.FIT_GRID)
    rng = np.random.default_rng(seed)
    rows = []
    while len(rows) < n_rows:
        v = rng.uniform(0.2, 0.9, 16)
        if np.min(np.abs(v[:, None] - fit[None, :])) < 2e-3:
            continue
        rows.append((v, rng.permutation(32)[:16]))
    return rows


def chain_results(sky130, n_rows=88):
    from circuitsim.spice.netlist import render_deck
    from circuitsim.spice.session import SpiceSession

    session = SpiceSession.shared()
    session.load(render_deck(chain_netlist(), sky130, "tt", 27), name="pe_chain tt")
    rows = varied_rows(n_rows=n_rows)
    spice = np.array([run_row(session, v, w) for v, w in rows])
    model = np.array([np.array(composed(v, w)) for v, w in rows])
    return rows, spice, model


def test_pe_chain_code_error_at_tt(sky130, pe_chain_rows):
    # the rows are one seeded stream: the suite's 24 are the first 24 of the README's 88 (--pe-chain-rows 88)
    rows, spice, model = chain_results(sky130, pe_chain_rows)
    err_lsb = np.abs(model[:, 0] - spice[:, 0]) / LSB_V
    codes_s, codes_m = quantize(spice[:, 0]), quantize(model[:, 0])
    diff = codes_m - codes_s
    worst = int(np.argmax(err_lsb))
    print(f"\nPE chain at tt 27 C, {len(rows)} rows of 16 MACs: max |model - SPICE| = {err_lsb.max():.3f} LSB "
          f"({err_lsb.max() * LSB_V * 1e3:.2f} mV, row {worst}), median {np.median(err_lsb):.3f} LSB; "
          f"code difference histogram {dict(zip(*(u.tolist() for u in np.unique(diff, return_counts=True))))}; "
          f"SPICE's v_d lies {np.median(edge_distance_lsb(spice[:, 0])):.2f} LSB (median) from a code edge")
    # Measured (ngspice 39, tt 27 C, `pytest -s tests/blocks/test_pe_chain.py`): 0.095 LSB (5.97 mV, row 21),
    # median 0.021 LSB, codes equal in 85 of 88 rows (the other 3 within 0.1 LSB of an edge), the README's
    # figure. The deck and the artifacts are deterministic; the 0.02 LSB (1.25 mV) margin covers ngspice builds.
    assert err_lsb.max() <= 0.115, (worst, err_lsb[worst])
    assert np.all(np.abs(diff) <= 1)

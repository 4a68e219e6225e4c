"""LeCA PE blocks (psf, fvf, scm): numba kernel vs NumPy reference on 10^6 noisy samples, and behavioral
model vs SPICE per operation at the same fidelity (a PSF/FVF read vs one SPICE DC point, an SCM MAC vs its
share of a SPICE transient).

    python benchmarks/blocks.py            # models from the committed artifacts; SPICE per-op costs as
                                           # measured with --spice on the development machine
    python benchmarks/blocks.py --spice    # re-measure the SPICE per-op costs here (needs ngspice + sky130)

Also prints the comparator and SAR ADC rows of benchmarks/adc_blocks.py (issue 5).

Goals (issue 4): numba >= 10x NumPy; behavioral >= 100x SPICE for DC-level operations, >= 1e5x for
transient-level ones.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from circuitsim.blocks import fvf, psf, scm, scm_calibration  # noqa: E402

N = 1_000_000
#: SPICE seconds per operation at the same fidelity as a noisy model sample, measured with ``--spice`` on
#: the 2-core development machine (1 worker, other jobs running): PSF/FVF: one Monte Carlo DC point
#: (setseed + reset + a 17-point DC sweep, divided by 17; the reset dominates); SCM: one MAC, a 240 ns
#: transient of 16 MACs (tran step 250 ps) divided by 16.
SPICE_PER_OP_S = {"psf": 0.95e-3, "fvf": 1.0e-3, "scm": 45e-3}
#: A nominal DC point inside a sweep (SPEC section 3: ~4 µs), the fidelity of a hard-mode buffer read.
SPICE_DC_POINT_S = 4e-6


def best_of(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _scm_lut():
    try:
        return scm.load_lut("tt", 27)
    except Exception:  # no committed SCM artifact: a synthetic table of the same shape
        x = np.linspace(0.6, 1.4, 9)
        return scm.ScmLut(x, np.zeros((9, 32)), np.full((9, 32), 2e-3), np.zeros((9, 32)), np.zeros((9, 32)),
                          np.zeros((9, 32)), 15e-9)


def cases():
    rng = np.random.default_rng(0)
    v_pix = rng.uniform(0.2, 1.0, N)
    v_fvf = rng.uniform(0.2, 1.0, N)
    v_scm = rng.uniform(0.6, 1.4, N)
    words = rng.integers(0, 32, N)
    lut_psf, lut_fvf, lut_scm = psf.load_lut(), fvf.load_lut(), _scm_lut()
    return {
        "psf": (lambda: psf.psf(v_pix, lut_psf, psf.PsfParams(), np.random.default_rng(1)),
                lambda: psf.psf_reference(v_pix, lut_psf, psf.PsfParams(), np.random.default_rng(1)),
                lambda: psf.psf(v_pix[:1], lut_psf, psf.PsfParams(), np.random.default_rng(1))),
        "fvf": (lambda: fvf.fvf(v_fvf, lut_fvf, fvf.FvfParams(), np.random.default_rng(1)),
                lambda: fvf.fvf_reference(v_fvf, lut_fvf, fvf.FvfParams(), np.random.default_rng(1)),
                lambda: fvf.fvf(v_fvf[:1], lut_fvf, fvf.FvfParams(), np.random.default_rng(1))),
        "scm": (lambda: scm.scm_mac(v_scm, words, lut_scm, scm.ScmParams(), np.random.default_rng(1)),
                lambda: scm.scm_mac_reference(v_scm, words, lut_scm, scm.ScmParams(), np.random.default_rng(1)),
                lambda: scm.scm_mac(v_scm[:1], words[:1], lut_scm, scm.ScmParams(), np.random.default_rng(1))),
    }


def measure_spice() -> dict:
    """Per-op SPICE cost measured here: one MC-style DC sweep per buffer, one 16-MAC SCM transient."""
    from circuitsim.blocks import buffers
    from circuitsim.spice.analyses import apply_point, sample_seeds
    from circuitsim.spice.netlist import load_netlist, render_deck
    from circuitsim.spice.session import SpiceSession
    from circuitsim.technology import load_technology

    tech = load_technology("sky130")
    session = SpiceSession.shared()
    out = {}
    for name, source, x in (("psf", "vpix", psf.FIT_GRID), ("fvf", "vin", fvf.FIT_GRID)):
        session.load(render_deck(load_netlist(name), tech, "tt", 27, mismatch=True), name=name)
        seeds = sample_seeds(99, 0, 50, "bench")
        t0 = time.perf_counter()
        for seed in seeds:
            apply_point(session, seed)
            buffers.dc_transfer(session, np.asarray(x), source, "out")
        out[name] = (time.perf_counter() - t0) / (len(seeds) * len(x))
    session.load(render_deck(load_netlist("scm"), tech, "tt", 27), name="scm")
    grid = np.asarray(scm_calibration.FIT_GRID[:16])
    t0 = time.perf_counter()
    scm_calibration.run_slots(session, grid[:, 0], grid[:, 1].astype(int), reset_each=True)
    out["scm"] = (time.perf_counter() - t0) / 16
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spice", action="store_true", help="re-measure the SPICE per-op costs here")
    args = parser.parse_args()
    spice = measure_spice() if args.spice else SPICE_PER_OP_S
    print(f"{'block':<6}{'numba 1e6 [ms]':>16}{'NumPy 1e6 [ms]':>16}{'numba/NumPy':>13}"
          f"{'model/op [ns]':>15}{'SPICE/op [ms]':>15}{'model vs SPICE':>16}")
    for name, (kernel, reference, _) in cases().items():
        kernel()  # compile
        t_k, t_r = best_of(kernel), best_of(reference)
        per_op = t_k / N
        print(f"{name:<6}{t_k * 1e3:>16.1f}{t_r * 1e3:>16.1f}{t_r / t_k:>12.1f}x{per_op * 1e9:>15.1f}"
              f"{spice[name] * 1e3:>15.3f}{spice[name] / per_op:>15.3g}x")
    print("SPICE per-op:", "measured now" if args.spice else "as measured with --spice (SPICE_PER_OP_S)")
    rng = np.random.default_rng(0)
    v = rng.uniform(0.2, 1.0, N)
    for name, mod, fn, params in (("psf", psf, psf.psf, psf.PsfParams(mode="hard")),
                                  ("fvf", fvf, fvf.fvf, fvf.FvfParams(mode="hard"))):
        lut = mod.load_lut()
        fn(v, lut, params)
        t_hard = best_of(lambda: fn(v, lut, params)) / N
        print(f"{name} hard-mode read {t_hard * 1e9:.1f} ns vs a nominal SPICE DC point "
              f"{SPICE_DC_POINT_S * 1e6:g} us: {SPICE_DC_POINT_S / t_hard:.3g}x")
    print("\ncomparator and SAR ADC (the rows of benchmarks/adc_blocks.py, measured in this run):")
    import adc_blocks  # benchmarks/ is the script's directory

    adc_blocks.print_rows(adc_blocks.model_rows(), spice=args.spice)


if __name__ == "__main__":
    main()

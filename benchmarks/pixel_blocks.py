"""Pixel front-end blocks: numba kernel vs NumPy reference on 10^6 samples, and behavioral model vs SPICE
per operation. Every figure is measured in this one run (about a minute, one model-library load per block).

    python benchmarks/pixel_blocks.py            # numba vs NumPy and model vs SPICE (pixel_4t, cds, inpixel_conv)
    python benchmarks/pixel_blocks.py --no-spice # numba vs NumPy only (no ngspice needed)
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from circuitsim.blocks import cds as cds_block  # noqa: E402
from circuitsim.blocks import inpixel_conv as conv  # noqa: E402
from circuitsim.blocks import pixel_4t as px  # noqa: E402

N_SAMPLES = 1_000_000
#: Convolution outputs (3x3x3 kernels, two phases, 40 bisection steps each): 2x10^4 keeps the NumPy run short.
N_CONV_OUTPUTS = 20_000


def best_of(fn, repeat=3) -> float:
    """Best wall time of ``repeat`` calls (s); the first call (numba compile) is not counted."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def kernels() -> dict:
    """Per-sample time of each block's numba wrapper and its NumPy reference on 10^6 samples."""
    rows = {}
    lut = px.load_lut()
    params = px.params_from_artifact()
    flux = np.random.default_rng(0).uniform(0, 1.2 * params.full_well_e / (0.6 * 10e-3), N_SAMPLES)
    rows["pixel_4t"] = (
        best_of(lambda: px.pixel_4t(flux, 10e-3, lut, params, np.random.default_rng(1))),
        best_of(lambda: px.pixel_4t_reference(flux, 10e-3, lut, params, np.random.default_rng(1))),
    )
    clut = cds_block.load_lut()
    x = np.random.default_rng(0).uniform(clut.x_v[0], clut.x_v[-1], N_SAMPLES)
    cparams = cds_block.CdsParams()
    rows["cds"] = (
        best_of(lambda: cds_block.cds(x, clut, cparams, np.random.default_rng(1))),
        best_of(lambda: cds_block.cds_reference(x, clut, cparams, np.random.default_rng(1))),
    )
    result = {k: {"numba_s_per_sample": a / N_SAMPLES, "numpy_s_per_sample": b / N_SAMPLES, "numba_speedup": b / a,
                  "samples": N_SAMPLES} for k, (a, b) in rows.items()}
    # the arithmetic alone (random draws excluded): the pixel's Poisson draws dominate its wrapper
    z = np.random.default_rng(2).standard_normal((4, N_SAMPLES))
    n = np.random.default_rng(3).poisson(5000.0, N_SAMPLES).astype(float)
    out = np.empty(N_SAMPLES)
    off = np.zeros(N_SAMPLES)

    def pixel_kernel_only():
        px._pixel_kernel(n, off, z[0], z[1], z[2], off, lut.electrons_e, lut.cds_v, lut.sigma_e, lut.sigma_cds_v,
                         lut.line_coeffs[0], lut.line_coeffs[1], lut.v_col_reset_v, lut.sf_gain * params.ktc_sigma_v,
                         params.read_noise_v, 1, True, out)

    def pixel_numpy_only():
        return (np.interp(n, lut.electrons_e, lut.cds_v) + np.interp(n, lut.sigma_e, lut.sigma_cds_v) * z[2]
                + params.read_noise_v * z[1])

    a, b = best_of(pixel_kernel_only), best_of(pixel_numpy_only)
    result["pixel_4t (arithmetic only)"] = {"numba_s_per_sample": a / N_SAMPLES, "numpy_s_per_sample": b / N_SAMPLES,
                                           "numba_speedup": b / a, "samples": N_SAMPLES}
    clut_conv = conv.load_lut()
    rng = np.random.default_rng(4)
    v = rng.uniform(1.1, 1.8, (N_CONV_OUTPUTS, 27))
    w = rng.integers(-3, 4, (N_CONV_OUTPUTS, 27))
    a = best_of(lambda: conv.inpixel_conv(v, w, clut_conv), 2)
    b = best_of(lambda: conv.inpixel_conv_reference(v, w, clut_conv), 1)
    result["inpixel_conv (3x3x3)"] = {"numba_s_per_sample": a / N_CONV_OUTPUTS, "numpy_s_per_sample": b / N_CONV_OUTPUTS,
                                      "numba_speedup": b / a, "samples": N_CONV_OUTPUTS}
    return result


def spice_per_operation() -> dict:
    """SPICE wall time of one operation inside a loaded deck: pixel = one DC point of the SF transfer and
    one transient pixel cycle; CDS = one 12 ns two-sample transient."""
    from circuitsim.spice.analyses import apply_point, dc_sweep, operating_point, transient
    from circuitsim.spice.netlist import load_netlist, render_deck
    from circuitsim.spice.session import SpiceSession
    from circuitsim.technology import load_technology

    tech = load_technology("sky130")
    session = SpiceSession.shared()
    out = {}
    session.load(render_deck(load_netlist("pixel_4t"), tech, "tt"), "pixel_4t")
    apply_point(session, rforce_ohm=1.0)
    n = 1000
    t_dc = best_of(lambda: dc_sweep(session, "vfd", 1.2, 1.2 + 0.7 * (n - 1) / n, 0.7 / n, ["col"]), 3) / n
    apply_point(session, rforce_ohm=1e15)
    t_cycle = best_of(lambda: transient(session, px.TRAN_STEP_S, px.T_STOP_S, ["col", "vdd#branch"]), 3)
    out["pixel_4t"] = {"spice_dc_point_s": t_dc, "spice_cycle_s": t_cycle}
    session.load(render_deck(load_netlist("inpixel_conv"), tech, "tt"), "inpixel_conv")
    apply_point(session)
    out["inpixel_conv"] = {"spice_op_s": best_of(lambda: operating_point(session, ["col"]), 20)}
    session.load(render_deck(load_netlist("cds"), tech, "tt"), "cds")
    apply_point(session, vdiff_v=0.3)
    out["cds"] = {"spice_cycle_s": best_of(lambda: transient(session, cds_block.TRAN_STEP_S, cds_block.T_PERIOD_S,
                                                                ["ca", "cb"]), 5)}
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-spice", action="store_true")
    args = parser.parse_args()
    k = kernels()
    for name, r in k.items():
        print(f"{name:<27} numba {r['numba_s_per_sample'] * 1e9:8.1f} ns/sample   NumPy reference "
              f"{r['numpy_s_per_sample'] * 1e9:8.1f} ns/sample   numba {r['numba_speedup']:.1f}x faster "
              f"({r['samples']:.0e} samples)")
    if args.no_spice:
        return
    s = spice_per_operation()
    p, c = s["pixel_4t"], s["cds"]
    print(f"pixel_4t  SPICE: {p['spice_dc_point_s'] * 1e6:.1f} us per SF transfer point (DC), "
          f"{p['spice_cycle_s'] * 1e3:.1f} ms per pixel cycle (transient)")
    print(f"          behavioral model vs SPICE: {p['spice_dc_point_s'] / k['pixel_4t']['numba_s_per_sample']:.3g}x "
          f"(vs DC point), {p['spice_cycle_s'] / k['pixel_4t']['numba_s_per_sample']:.3g}x (vs transient cycle)")
    print(f"cds       SPICE: {c['spice_cycle_s'] * 1e3:.1f} ms per CDS operation (transient); behavioral model "
          f"{c['spice_cycle_s'] / k['cds']['numba_s_per_sample']:.3g}x faster")
    ci = s["inpixel_conv"]["spice_op_s"]
    print(f"inpixel_conv SPICE: {ci * 1e3:.2f} ms per kernel phase (operating point of the 3x3 deck); behavioral "
          f"model per output (3x3x3, two phases) vs two SPICE phases: "
          f"{2 * ci / k['inpixel_conv (3x3x3)']['numba_s_per_sample']:.3g}x faster")


if __name__ == "__main__":
    main()

"""Comparator and SAR ADC benchmark: numba kernel vs NumPy reference on 10^6 operations, and behavioral
model vs SPICE per operation. Every figure is measured in this one run.

    python benchmarks/adc_blocks.py            # models only (no ngspice needed)
    python benchmarks/adc_blocks.py --spice    # + SPICE cost per decision / conversion (ngspice + sky130)

SPICE per operation: the 2T comparator's decision transient (13 cells, 11 ns) divided by the cells; the SAR
ADC's whole conversion in netlists/sar_adc.cir (transistor-level CDAC switches, StrongARM, SAR logic; one
conversion + the next sampling cycle) at 4 and 8 bit, against the calibrated model's conversion (mismatch
instance, comparator noise and kT/C drawn, as in the numba rows).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from circuitsim.blocks import comparator2t as c2t  # noqa: E402
from circuitsim.blocks import sar_adc as sar  # noqa: E402
from circuitsim.blocks import sar_adc_calibration as sar_cal  # noqa: E402

N_OPS = 1_000_000


def best_of(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def model_rows() -> list[dict]:
    rows = []
    lut = c2t.load_lut("tt", 27)
    rng = np.random.default_rng(0)
    v_in = rng.uniform(0.5, 1.2, N_OPS)
    v_b = rng.uniform(0.0, 0.6, N_OPS)
    for mode in ("hard", "noisy"):
        p = c2t.Comparator2tParams(mode=mode)
        c2t.comparator2t(v_in[:10], v_b[:10], lut, p, np.random.default_rng(1))  # compile
        t_nb = best_of(lambda: c2t.comparator2t(v_in, v_b, lut, p, np.random.default_rng(1)))
        t_np = best_of(lambda: c2t.comparator2t_reference(v_in, v_b, lut, p, np.random.default_rng(1)))
        rows.append({"row": f"comparator2t {mode}, 1e6 decisions", "numba_s": t_nb, "numpy_s": t_np})
    x = rng.uniform(-1.79, 1.79, N_OPS)
    for n in (1.5, 4, 8):
        p = sar.calibrated_params(n)
        inst = sar.draw_instance(p, np.random.default_rng(2))
        sar.convert(x[:10], p, inst, np.random.default_rng(3))  # compile
        t_nb = best_of(lambda: sar.convert(x, p, inst, np.random.default_rng(3)))
        t_np = best_of(lambda: sar.convert_reference(x, p, inst, np.random.default_rng(3)), repeat=1)
        rows.append({"row": f"sar_adc {n:g} bit, 1e6 conversions", "numba_s": t_nb, "numpy_s": t_np})
    return rows


def spice_rows(model: list[dict]) -> list[dict]:
    from circuitsim.spice.analyses import apply_point, transient
    from circuitsim.spice.netlist import load_netlist, render_deck
    from circuitsim.spice.session import SpiceSession
    from circuitsim.technology import load_technology

    tech = load_technology("sky130")
    session = SpiceSession.shared()
    out = []
    session.load(render_deck(load_netlist("comparator2t"), tech, "tt"))
    apply_point(session)
    t0 = time.perf_counter()
    transient(session, c2t.TRAN_STEP_S, c2t.T_STEP_S + c2t.T_EVAL_S, ["out1"])
    per_decision = (time.perf_counter() - t0) / c2t.N_CELLS
    per_model = next(r for r in model if r["row"].startswith("comparator2t hard"))["numba_s"] / N_OPS
    out.append({"row": "comparator2t: SPICE per decision vs model", "spice_s": per_decision,
                "model_s": per_model, "speedup": per_decision / per_model})
    session.load(render_deck(load_netlist("sar_adc"), tech, "tt"))
    for n in (4, 8):
        t0 = time.perf_counter()
        sar_cal._convert_once(session, 0.1, n)
        per_conv = time.perf_counter() - t0
        per_conv_model = next(r for r in model if r["row"].startswith(f"sar_adc {n} bit"))["numba_s"] / N_OPS
        out.append({"row": f"sar_adc {n} bit: SPICE per conversion vs model", "spice_s": per_conv,
                    "model_s": per_conv_model, "speedup": per_conv / per_conv_model})
    return out


def print_rows(rows: list[dict], spice: bool = False) -> None:
    """The numba-vs-NumPy table and, with ``spice``, the SPICE-vs-model rows (measured now)."""
    print(f"{'row':44s} {'numba [s]':>10s} {'NumPy [s]':>10s} {'NumPy/numba':>12s}")
    for r in rows:
        print(f"{r['row']:44s} {r['numba_s']:10.4f} {r['numpy_s']:10.4f} {r['numpy_s'] / r['numba_s']:12.1f}")
    if spice:
        print()
        for r in spice_rows(rows):
            print(f"{r['row']}: SPICE {r['spice_s'] * 1e3:.3f} ms, model {r['model_s'] * 1e9:.1f} ns, "
                  f"x{r['speedup']:.3g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spice", action="store_true", help="also time SPICE (needs ngspice and sky130)")
    args = ap.parse_args()
    print_rows(model_rows(), args.spice)


if __name__ == "__main__":
    main()

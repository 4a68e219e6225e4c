"""SPICE runner and example-block benchmark. Every figure is measured in this one run.

    python benchmarks/spice_runner.py            # runner costs, model vs SPICE (about a minute)
    python benchmarks/spice_runner.py --full     # + full sample_hold calibration (7 points + 2x200 MC)
                                                 #   with 1 worker, 2 workers, a Dask LocalCluster and a real
                                                 #   Dask cluster (scheduler + 2 worker processes)
    python benchmarks/spice_runner.py --full --blocks sample_hold psf   # other blocks
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from circuitsim.blocks import sample_hold as sh  # noqa: E402
from circuitsim.spice.analyses import apply_point, dc_sweep, sample_seeds  # noqa: E402
from circuitsim.spice.netlist import Netlist, load_netlist, render_deck  # noqa: E402
from circuitsim.spice.session import SpiceSession  # noqa: E402
from circuitsim.technology import load_technology  # noqa: E402

DC_DECK = """* nfet Id(Vgs)
vgn gn 0 0
vdn dn 0 {vdd_v}
xn dn gn 0 0 nmos w=1 l=0.15
.end
"""


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def runner_costs(tech) -> dict:
    session = SpiceSession.shared()
    netlist = load_netlist("sample_hold")
    nominal = render_deck(netlist, tech, "tt")
    mismatch = render_deck(netlist, tech, "tt", mismatch=True)
    r = {}
    r["load_s"], _ = timed(session.load, nominal, "sample_hold")

    def one_transient(v):
        apply_point(session, vin_v=v)
        return sh._held_value(session, v)

    one_transient(0.5)  # warm
    n = 20
    r["transient_s"] = timed(lambda: [one_transient(v) for v in np.linspace(0.1, 1.7, n)])[0] / n

    session.load(render_deck(Netlist("dc", Path("dc.cir"), DC_DECK), tech, "tt"), "dc")
    t, df = timed(dc_sweep, session, "vgn", 0, 1.8, 0.001, ["vdn#branch"])
    r["dc_point_s"] = t / len(df)

    session.load(mismatch, "sample_hold_mm")
    seeds = sample_seeds(1, 0, 20)

    def mc_sample(seed):
        apply_point(session, seed, vin_v=0.9)
        return sh._held_value(session, 0.9)

    r["mc_sample_s"] = timed(lambda: [mc_sample(s) for s in seeds])[0] / len(seeds)

    # reload per point vs one load per corner, for the 33-point nominal grid of the example block
    k = 3
    t_reload = timed(lambda: [(session.load(nominal, "reload"), one_transient(v)) for v in (0.3, 0.9, 1.5)])[0] / k
    points = len(sh.FIT_GRID) + len(sh.HOLDOUT_GRID)
    per_corner_once = r["load_s"] + points * r["transient_s"]
    r["reload_per_point_over_one_load"] = (points * t_reload) / per_corner_once
    r["loads_per_point_s"] = t_reload
    return r


def model_vs_spice(r: dict) -> dict:
    lut = sh.load_lut("tt", 27)
    rng = np.random.default_rng(0)
    v = rng.uniform(0.1, 1.7, 1_000_000)
    params = sh.SampleHoldParams()
    sh.sample_hold(v[:10], lut, params, rng)  # compile
    t_numba = min(timed(sh.sample_hold, v, lut, params, np.random.default_rng(1))[0] for _ in range(3))
    t_numpy = min(timed(sh.sample_hold_reference, v, lut, params, np.random.default_rng(1))[0] for _ in range(3))
    return {
        "model_per_sample_s": t_numba / v.size,
        "numpy_per_sample_s": t_numpy / v.size,
        "numba_over_numpy_speedup": t_numpy / t_numba,
        "model_over_spice_speedup": r["mc_sample_s"] / (t_numba / v.size),
    }


def full_calibrations(tech, blocks) -> dict:
    from circuitsim.calibration.runner import calibrate, make_plan

    from circuitsim.blocks import expand_names, get_spec
    from circuitsim.tasks.cluster import local_dask_processes

    plan = make_plan(tech, mc_samples=200, seed=1)
    specs = [get_spec(name) for name in expand_names(blocks)]
    out = {}

    def run(label, **kwargs):
        with tempfile.TemporaryDirectory() as tmp:
            out[label] = timed(calibrate, specs, tech, plan, out_dir=Path(tmp) / "out",
                               cache_dir=Path(tmp) / "cache", progress=False, **kwargs)[0]

    run("1 worker", workers=1)
    run("2 workers", workers=2)
    run("Dask LocalCluster, 2 workers", workers=2, scheduler="local-dask")
    with local_dask_processes(2) as address:  # a scheduler and two worker processes, as a user starts them
        run("Dask cluster (scheduler + 2 worker processes)", workers=2, scheduler=address)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="also time full calibrations (about 12 minutes)")
    parser.add_argument("--blocks", nargs="+", default=["sample_hold"],
                        help="blocks (or groups) of the --full calibration (default sample_hold; every block: about "
                             "2 h per run)")
    args = parser.parse_args()
    tech = load_technology("sky130")
    r = runner_costs(tech)
    m = model_vs_spice(r)
    print(f"library load (sample_hold, tt):           {r['load_s']:.2f} s")
    print(f"DC sweep, per point:                      {r['dc_point_s'] * 1e6:.1f} us")
    print(f"transient (10 ns sample), per run:        {r['transient_s'] * 1e3:.1f} ms")
    print(f"Monte Carlo sample (setseed+reset+tran):  {r['mc_sample_s'] * 1e3:.1f} ms")
    print(f"reload per point vs one load per corner:  {r['reload_per_point_over_one_load']:.1f}x slower "
          f"({r['loads_per_point_s']:.2f} s per reloaded point)")
    print(f"sample_hold model, per sample (numba):    {m['model_per_sample_s'] * 1e9:.1f} ns")
    print(f"  numba vs NumPy reference:               {m['numba_over_numpy_speedup']:.1f}x faster")
    print(f"  behavioral model vs SPICE per sample:   {m['model_over_spice_speedup']:.3g}x faster")
    if args.full:
        times = full_calibrations(tech, args.blocks)
        what = " ".join(args.blocks)
        for label, seconds in times.items():
            print(f"full {what} calibration, {label}: {seconds:.0f} s")
        one, two = times["1 worker"], times["2 workers"]
        cluster = times["Dask cluster (scheduler + 2 worker processes)"]
        print(f"  2 workers vs 1: {one / two:.2f}x faster (goal >= 1.8x); Dask cluster vs 2 local workers: "
              f"{cluster / two:.2f}x the time (goal <= 1.10x)")


if __name__ == "__main__":
    main()

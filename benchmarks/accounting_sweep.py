"""Throughput of the vectorised design-space sweep (goal: >= 1e6 points/s, static and leakage terms included).

    python benchmarks/accounting_sweep.py [--points-per-axis 40]

Sweeps leca-4x4 over N_ch x Q_bit x t_row_readout_s x link_rate_bps_per_lane (a full factorial grid),
once to warm up and once timed, and prints points per second measured in that one timed run. Every point
carries the dynamic lines and the static terms (pixel column load per row slot, PSF/FVF bias during their
stages, link lanes in HS mode for the link time).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from circuitsim.accounting.sweep import sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points-per-axis", type=int, default=40, help="values of the two continuous axes")
    args = parser.parse_args()
    n = args.points_per_axis
    params = {
        "N_ch": np.arange(1, 17),
        "Q_bit": np.array([1.5, 2, 3, 4, 5, 6, 7, 8]),
        "t_row_readout_s": np.linspace(0.5e-6, 5e-6, n),
        "link_rate_bps_per_lane": np.linspace(0.5e9, 2.5e9, n),
    }
    sweep("leca-4x4", {k: v[:2] for k, v in params.items()})  # warm-up: load files, import pandas
    start = time.perf_counter()
    frame = sweep("leca-4x4", params)
    elapsed = time.perf_counter() - start
    print(f"leca-4x4 sweep: {len(frame):,} points ({int(frame['valid'].sum()):,} valid, "
          f"{int(frame['pareto'].sum())} Pareto) in {elapsed:.3f} s -> {len(frame) / elapsed:,.0f} points/s")


if __name__ == "__main__":
    main()

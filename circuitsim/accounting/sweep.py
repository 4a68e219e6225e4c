"""Design-space sweeps: every combination of parameter values evaluated at once with NumPy arrays.

``circuitsim sweep leca-4x4 --param N_ch=1..16 --param Q_bit=1.5,2,3,4`` -> one row per point with the
parameters, ``energy_per_frame_J``, ``power_W``, ``frame_rate_hz``, ``bits_per_frame``, ``bits_per_second``,
``compression_ratio``, one ``energy_<component>_J`` column per component, ``valid`` (the architecture's
constraints hold) and ``pareto`` (not dominated: no valid point has lower energy per frame and a higher
compression ratio).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from circuitsim.accounting.engine import (
    build_lines,
    check_lines,
    check_parameters,
    check_timing_and_cr,
    evaluate_symbols,
    line_energy_J,
    load_architecture,
    resolve_budgets,
)
from circuitsim.accounting.resolver import BudgetResolver
from circuitsim.accounting.schema import Architecture
from circuitsim.errors import CircuitsimError

#: Most points one sweep evaluates: each point holds ~40 float columns (parameters, figures, one energy
#: column per component) plus temporaries, under 1 kB: 10^6 points take ~0.6 GB and ~80 s, mostly the CSV.
MAX_POINTS = 1_000_000
_NARROW = ("use fewer values: a narrower START..STOP, a coarser :STEP, a shorter list, or several "
           "sweeps")


def _too_many(total: int, what: str) -> CircuitsimError:
    return CircuitsimError(f"{what} has {total:,} points, above the limit of {MAX_POINTS:,} points per sweep "
                           f"(~1 kB of memory each); {_NARROW}")


def parse_values(text: str, name: str = "param") -> np.ndarray:
    """``"1..16"`` (inclusive, step 1), ``"0.1..0.9:0.2"`` (inclusive, given step) or ``"1.5,2,3,4"``.

    Every value must be finite, and a range may not hold more than :data:`MAX_POINTS` values."""
    text = text.strip()
    try:
        if ".." in text:
            span, _, step = text.partition(":")
            start, stop = (float(v) for v in span.split(".."))
            step = float(step) if step else 1.0
            if not all(np.isfinite([start, stop, step])):
                raise CircuitsimError(f"--param {name}={text}: START, STOP and STEP must be finite numbers "
                                      "(a sweep evaluates every point of the range), e.g. N_ch=1..64")
            if step <= 0 or stop < start:
                raise ValueError
            count = np.floor((stop - start) / step + 1e-9) + 1
            if count > MAX_POINTS:
                raise _too_many(int(count), f"--param {name}={text}")
            return start + step * np.arange(int(count))
        values = np.array([float(v) for v in text.split(",") if v.strip()])
    except ValueError:
        raise CircuitsimError(f"--param {name}: cannot read values {text!r}; use START..STOP, "
                              "START..STOP:STEP or a comma-separated list (e.g. N_ch=1..16, Q_bit=1.5,2,3,4)") from None
    if values.size == 0:
        raise CircuitsimError(f"--param {name}: no values given")
    if not np.all(np.isfinite(values)):
        raise CircuitsimError(f"--param {name}={text}: every value must be a finite number")
    return values


def parse_param(spec: str) -> tuple[str, np.ndarray]:
    """``"N_ch=1..16"`` -> ("N_ch", array([1., ..., 16.]))."""
    name, sep, values = spec.partition("=")
    if not sep or not name.strip():
        raise CircuitsimError(f"--param {spec!r}: expected NAME=VALUES, e.g. N_ch=1..16 or Q_bit=1.5,2,3,4")
    return name.strip(), parse_values(values, name.strip())


def pareto_mask(energy_J: np.ndarray, compression_ratio: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Valid points not dominated by another valid point (lower-or-equal energy and higher-or-equal CR,
    one of them strictly). Sort by energy (ties: higher CR first); a point is on the front when its CR
    beats every CR seen before it. O(n log n)."""
    energy = np.asarray(energy_J, dtype=float)
    cr = np.asarray(compression_ratio, dtype=float)
    mask = np.zeros(energy.shape, dtype=bool)
    index = np.flatnonzero(np.asarray(valid, dtype=bool))
    if index.size == 0:
        return mask
    order = index[np.lexsort((-cr[index], energy[index]))]
    best_before = np.concatenate(([-np.inf], np.maximum.accumulate(cr[order])[:-1]))
    mask[order[cr[order] > best_before]] = True
    return mask


def grid(params: dict) -> dict:
    """Full factorial grid: {name: flat array} over every combination of the given values."""
    names = list(params)
    total = math.prod(len(params[n]) for n in names)  # Python ints: no overflow for many long lists
    if total > MAX_POINTS:
        raise _too_many(total, "the grid " + " x ".join(f"{n} ({len(params[n]):,})" for n in names))
    mesh = np.meshgrid(*[np.asarray(params[n], dtype=float) for n in names], indexing="ij")
    return {n: m.ravel() for n, m in zip(names, mesh)}


@np.errstate(divide="ignore", invalid="ignore", over="ignore")  # points the constraints refuse may give nan
def sweep(arch: Architecture | str | Path, params: dict, technology: str = "literature",
          resolver: BudgetResolver | None = None, calibration_root: Path | None = None, point=None):
    """Evaluate ``arch`` on the full grid of ``params`` ({name: values}) in one vectorised pass, with
    calibrated budgets at ``point`` (an :class:`~circuitsim.store.OperatingPoint`; default nominal).

    Returns a pandas DataFrame, one row per point (see the module docstring for the columns).
    """
    import pandas as pd

    if not isinstance(arch, Architecture):
        arch = load_architecture(arch)
    if not params:
        raise CircuitsimError(f"sweep {arch.name}: give at least one --param NAME=VALUES; "
                              f"parameters: {', '.join(sorted(arch.parameters))}")
    check_parameters(arch, params)
    resolver = resolver or BudgetResolver(technology, calibration_root, point=point)
    points = grid(params)
    timing, _ = resolver.timing_parameters(arch, points)
    s = evaluate_symbols(arch, {**timing, **points})
    budgets = resolve_budgets(arch, resolver, s)
    n = len(next(iter(points.values())))
    valid = np.broadcast_to(np.asarray(s["valid"], dtype=bool), (n,))
    check_timing_and_cr(arch, s, points, strict=False)
    lines = build_lines(arch, budgets, s)
    check_lines(arch, lines, points, valid)
    columns = dict(points)
    per_component: dict[str, np.ndarray] = {c: np.zeros(n) for c in arch.component_names()}
    for line in lines:
        per_component[line.component] = per_component[line.component] + np.broadcast_to(line_energy_J(line), (n,))
    energy = np.sum(list(per_component.values()), axis=0)
    frame_rate = np.broadcast_to(s["frame_rate_hz"], (n,)).astype(float)
    bits = np.broadcast_to(s["bits_per_frame"], (n,)).astype(float)
    cr = np.broadcast_to(s["compression_ratio"], (n,)).astype(float)
    # the timing a calibrated technology took from the blocks, per point (t_row_readout_s ...)
    columns.update({k: np.broadcast_to(v, (n,)).astype(float) for k, v in timing.items()})
    columns.update({
        "energy_per_frame_J": energy,
        "power_W": energy * frame_rate,
        "frame_rate_hz": frame_rate,
        "frame_time_s": np.broadcast_to(s["frame_time_s"], (n,)).astype(float),
        "bits_per_frame": bits,
        "bits_per_second": bits * frame_rate,
        "compression_ratio": cr,
    })
    columns.update({f"energy_{c}_J": v for c, v in per_component.items()})
    columns["valid"] = valid.copy()
    columns["pareto"] = pareto_mask(energy, cr, valid)
    frame = pd.DataFrame(columns)
    frame.attrs.update(architecture=arch.name, technology=resolver.technology, invalid_reason="")
    if not valid.any():  # say why, for the caller that refuses a sweep with nothing to show
        failed = [c.message for c in arch.constraints if not np.all(np.broadcast_to(c.require(s), (n,))[:1])]
        first = ", ".join(f"{k}={v[0]:g}" for k, v in points.items())
        frame.attrs["invalid_reason"] = f"{'; '.join(failed)} (e.g. at {first})"
    return frame

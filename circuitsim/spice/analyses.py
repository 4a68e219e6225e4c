"""Analyses inside one loaded deck: operating point, DC sweep, transient, AC, parameter sweeps and the
seeded Monte Carlo loop. Results are NumPy arrays / pandas DataFrames with SI units in the column names."""

from __future__ import annotations

import re
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from circuitsim.spice.session import SpiceSession


def column_name(vector: str) -> str:
    """ngspice vector name -> column name with its SI unit: ``v(out)`` -> ``v_out_V``,
    ``vdd#branch`` -> ``i_vdd_A``, ``time`` -> ``time_s``, ``frequency`` -> ``frequency_Hz``."""
    v = vector.lower()
    if v == "time":
        return "time_s"
    if v == "frequency":
        return "frequency_Hz"
    if v in ("v-sweep", "i-sweep"):
        return "sweep_V" if v[0] == "v" else "sweep_A"
    if v.endswith("#branch"):
        return f"i_{_safe(v[:-7])}_A"
    m = re.fullmatch(r"v\((.+)\)", v)
    return f"v_{_safe(m.group(1) if m else v)}_V"


def _safe(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name).strip("_")


def _vector_name(output: str) -> str:
    """Accept ``out``, ``v(out)`` or ``vdd#branch`` / ``i(vdd)`` and return ngspice's vector name."""
    o = output.lower()
    m = re.fullmatch(r"i\((.+)\)", o)
    if m:
        return f"{m.group(1)}#branch"
    m = re.fullmatch(r"v\((.+)\)", o)
    return m.group(1) if m else o


def frame(session: SpiceSession, scale: str, outputs: Iterable[str]) -> pd.DataFrame:
    """The scale vector and the requested outputs of the current plot as a DataFrame."""
    data = {column_name(scale): session.vector(scale)}
    for out in outputs:
        name = _vector_name(out)
        data[column_name(name if "#" in name else f"v({name})")] = session.vector(name)
    return pd.DataFrame(data)


def operating_point(session: SpiceSession, outputs: Iterable[str]) -> dict[str, float]:
    """DC operating point: {column name: value}."""
    session.analyse("op")
    result = {}
    for out in outputs:
        name = _vector_name(out)
        result[column_name(name if "#" in name else f"v({name})")] = float(session.vector(name)[0])
    return result


def dc_sweep(session, source: str, start: float, stop: float, step: float, outputs, point="") -> pd.DataFrame:
    """``dc SOURCE start stop step``; the sweep column is ``sweep_V`` (or ``sweep_A``)."""
    session.analyse(f"dc {source.lower()} {start!r} {stop!r} {step!r}", point=point)
    scale = "v-sweep" if source.lower().startswith("v") else "i-sweep"
    if scale not in session.vector_names():
        scale = source.lower()
    return frame(session, scale, outputs).rename(columns={column_name(scale): "sweep_V"})


def transient(session, step_s: float, stop_s: float, outputs, *, uic=False, max_step_s=None,
              point="") -> pd.DataFrame:
    """``tran step stop [0 max_step] [uic]`` -> DataFrame with ``time_s`` and the outputs."""
    cmd = f"tran {step_s!r} {stop_s!r}"
    if max_step_s is not None:
        cmd += f" 0 {max_step_s!r}"
    if uic:
        cmd += " uic"
    session.analyse(cmd, point=point)
    return frame(session, "time", outputs)


def ac_point(session, frequency_hz: float, outputs, point="") -> dict[str, complex]:
    """Small-signal AC at one frequency: {column name: complex value}."""
    session.analyse(f"ac lin 1 {frequency_hz!r} {frequency_hz!r}", point=point)
    result = {}
    for out in outputs:
        name = _vector_name(out)
        result[column_name(name if "#" in name else f"v({name})")] = complex(session.vector(name)[0])
    return result


def sample_seeds(seed: int, start: int, stop: int, stream: str = "fit") -> list[int]:
    """ngspice seeds for Monte Carlo samples ``start .. stop-1`` of a named stream.

    Each sample's seed depends only on (seed, stream, index), so any batching of the samples over
    processes or Dask workers gives the same draws, and the ``holdout`` stream never reuses a ``fit``
    draw. Seeds are positive 31-bit integers, as ``setseed`` takes.
    """
    stream_id = int.from_bytes(stream.encode()[:8].ljust(8, b"\0"), "little")
    return [
        int(np.random.SeedSequence([int(seed), stream_id, i]).generate_state(1, np.uint32)[0] >> 1) or 1
        for i in range(start, stop)
    ]


def apply_point(session: SpiceSession, seed: int | None = None, **params) -> None:
    """Set one sweep point: ``alterparam`` each parameter, ``setseed`` when a seed is given, then ``reset``.

    Seeding right before the ``reset`` makes the mismatch draw a function of the seed alone, so one
    Monte Carlo sample keeps the same devices at every parameter value of a sweep.
    """
    for key, value in params.items():
        session.command(f"alterparam {key.lower()}={float(value)!r}")
    if seed is not None:
        session.set_seed(seed)
    session.reset()


def param_sweep(session: SpiceSession, name: str, values, run: Callable[[SpiceSession], object],
                seed: int | None = None) -> list:
    """For each value: set the point (``alterparam``, ``reset``), then ``run(session)``; the results."""
    results = []
    for value in values:
        apply_point(session, seed, **{name: value})
        results.append(run(session))
    return results


def monte_carlo(session: SpiceSession, seeds, run: Callable[[SpiceSession], object]) -> list:
    """For each seed: ``setseed``, ``reset`` (a fresh mismatch draw in a mismatch section), ``run``."""
    results = []
    for seed in seeds:
        apply_point(session, seed)
        results.append(run(session))
    return results

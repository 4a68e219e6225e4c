"""Ternary (1.5-bit) comparator: two 2T comparator cells on one input, one per threshold (SPEC 4.3, the
LeCA 1.5-bit mode), ``netlists/ternary.cir``.

    code = 1[v_in > v_trip(v_b,lo) + σ_lo·z_lo] + 1[v_in > v_trip(v_b,hi) + σ_hi·z_hi]   ∈ {0, 1, 2}

Each threshold is one :mod:`circuitsim.blocks.comparator2t` cell with its own bias, so the calibration of
each threshold (trip point vs bias, 10-90 % width, offset σ, energy per decision, decision time) is the
2T comparator's LUT at that cell's bias: the cells share only the input node (their gates), which draws no
DC current, so they do not load each other. ``netlists/ternary.cir`` checks that claim in SPICE (one
pair, the two trip points against the single-cell LUT; see ``tests/blocks/test_ternary.py``).

Energy per decision (J): the sum of the two cells' energies (each fires or idles on its own).
The thresholds must lie in the range the cell's bias reaches (about 0.72 … 1.04 V at tt 27 °C) and
``v_lo < v_hi``; anything else is refused with the valid range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from circuitsim.blocks import comparator2t as c2t


@dataclass(frozen=True)
class TernaryThresholds:
    """The two thresholds (V) and the cell biases that realise them (V)."""

    v_lo_v: float
    v_hi_v: float
    v_bias_lo_v: float
    v_bias_hi_v: float


def thresholds(v_lo_v: float, v_hi_v: float, lut: c2t.Comparator2tLut) -> TernaryThresholds:
    """Biases for the two thresholds; refuses v_lo >= v_hi and thresholds outside the reachable range."""
    if not v_lo_v < v_hi_v:
        raise ValueError(f"the low threshold must be below the high one, got v_lo = {v_lo_v:g} V, "
                         f"v_hi = {v_hi_v:g} V")
    b_lo, b_hi = c2t.bias_for_threshold_v([v_lo_v, v_hi_v], lut)
    return TernaryThresholds(float(v_lo_v), float(v_hi_v), float(b_lo), float(b_hi))


def ternary(v_in_v, th: TernaryThresholds, lut: c2t.Comparator2tLut,
            params: c2t.Comparator2tParams = c2t.Comparator2tParams(), rng: np.random.Generator | None = None,
            z_offsets=None) -> np.ndarray:
    """Code 0 / 1 / 2 per input (soft mode: the sum of the two cells' probabilities, in [0, 2]).

    ``z_offsets``: (z_lo, z_hi) standard normals of one instance's two offsets (noisy mode); drawn per
    element from ``rng`` when omitted.
    """
    z_lo, z_hi = (None, None) if z_offsets is None else z_offsets
    lo = c2t.comparator2t(v_in_v, th.v_bias_lo_v, lut, params, rng, z_lo)
    hi = c2t.comparator2t(v_in_v, th.v_bias_hi_v, lut, params, rng, z_hi)
    return lo + hi


def ternary_reference(v_in_v, th: TernaryThresholds, lut: c2t.Comparator2tLut,
                      params: c2t.Comparator2tParams = c2t.Comparator2tParams(),
                      rng: np.random.Generator | None = None, z_offsets=None) -> np.ndarray:
    """Plain NumPy oracle of :func:`ternary` (same draws for the same ``rng`` state)."""
    z_lo, z_hi = (None, None) if z_offsets is None else z_offsets
    lo = c2t.comparator2t_reference(v_in_v, th.v_bias_lo_v, lut, params, rng, z_lo)
    hi = c2t.comparator2t_reference(v_in_v, th.v_bias_hi_v, lut, params, rng, z_hi)
    return lo + hi


def energy_per_decision_J(v_in_v, th: TernaryThresholds, lut: c2t.Comparator2tLut) -> np.ndarray:
    """E_lo(v_in) + E_hi(v_in) (J): each cell fires (above its trip point) or idles."""
    return (c2t.energy_per_decision_J(v_in_v, th.v_bias_lo_v, lut)
            + c2t.energy_per_decision_J(v_in_v, th.v_bias_hi_v, lut))


def offsets_sigma_v(th: TernaryThresholds, lut: c2t.Comparator2tLut) -> tuple[float, float]:
    """Input-referred offset σ of the low and high threshold (V)."""
    return (float(np.interp(th.v_bias_lo_v, lut.v_bias_v, lut.sigma_v)),
            float(np.interp(th.v_bias_hi_v, lut.v_bias_v, lut.sigma_v)))

"""The block contract. A block plugs into ``circuitsim calibrate`` / ``validate`` by declaring a
:class:`BlockSpec` in its own module: netlist, fit grid and held-out grid, the SPICE task function, the
fit, the behavioral model under test, and the resolution it is judged at.

``simulate(session, task)`` returns, per input point, at least ``out_V`` (the block's output), and for
nominal tasks ``energy_J`` (per operation) and ``latency_s``; Monte Carlo tasks return ``out_V`` with
shape (samples, points). The optional ``static(session, task)`` returns at least ``static_W`` and
``leakage_W`` (scalars, W per instance) at the block's stated on and off conditions.

Grids are 1-D (a tuple of floats, one input per point) or d-dimensional (a tuple of d-tuples, e.g.
``(v_in, weight_word)``); ``model(arrays, x, rng, n)`` then receives ``x`` as an (n, d) array.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class BlockSpec:
    name: str
    netlist: str
    summary: str
    input_label: str
    fit_grid: tuple
    holdout_grid: tuple
    simulate: Callable
    fit: Callable
    model: Callable
    output_bits: int
    full_scale_v: tuple[float, float]
    resolution_note: str
    mc_batch: int = 50
    #: The action its ``energy.json`` prices, under this name in the energy table and the architectures.
    action: str = "op"
    #: The energy-table component this block calibrates ("" = the block's own name). The SAR resolutions
    #: ``sar_adc_<N>b`` all price the table's ``sar_adc`` component (its action picks the artifact by N).
    component: str = ""
    #: The σ LUT is fitted from ``mc_fit_factor`` × N fit-stream samples and validated against N held-out
    #: samples. Two independent 200-sample σ estimates differ by ~7 % (1 SD) by chance alone, which the
    #: 0.9-1.1 bar cannot absorb; a larger fit sample shrinks the LUT's own estimation error.
    mc_fit_factor: int = 1
    #: The held-out stream is ``mc_holdout_factor`` × N samples, and validation draws as many from the model.
    #: With 200 + 200 draws the pooled ratio of an exact σ model still has a standard error of ~7 % (each
    #: estimate ~5 %: SE(σ̂)/σ = 1/sqrt(2(n-1))), so a block whose spread is one number per draw (an offset
    #: that pooling over the grid does not average) fails the 0.9-1.1 bar by chance ~15 % of the time; 2 × 200
    #: halves that variance.
    mc_holdout_factor: int = 1
    #: Monte Carlo grids, when smaller than the nominal ones (a block whose SPICE point is costly, e.g. a
    #: transient per point): the σ LUT is fitted on ``mc_fit_grid`` and judged on ``mc_holdout_grid``;
    #: ``None`` (the default) means ``fit_grid`` / ``holdout_grid``. The transfer error is always judged
    #: on the nominal held-out grid.
    mc_fit_grid: tuple | None = None
    mc_holdout_grid: tuple | None = None
    #: ``False``: the block runs no Monte Carlo of its own (e.g. one resolution of a converter whose mismatch
    #: is simulated at another resolution of the same hardware); its σ is not judged.
    monte_carlo: bool = True
    #: ``static(session, task)``: the block's quiescent supply power and off-state leakage at the task's
    #: point (DC operating points of its deck, or an idle window of its transient, see
    #: :mod:`circuitsim.blocks.static_power`); ``None`` = the block records none. Its result goes to
    #: ``spice.npz`` as ``static_*`` and to ``energy.json`` as ``static_W`` / ``leakage_W`` (W per
    #: instance), with ``static_note`` saying the two conditions.
    static: Callable | None = None
    #: The quiescent input point(s) handed to ``static`` as ``task.inputs`` (same shape as a grid row).
    static_inputs: tuple = ()
    static_note: str = ""
    #: ``transitions(session, task)``: a converter's code transition levels measured in SPICE, one per row
    #: of ``transition_edges`` (rows (edge k, resolution)): at least ``level_V``, T_k = the lowest input whose
    #: code is >= k. Its result goes to ``spice.npz`` as ``transitions_*``; ``transition_model(arrays, rows)``
    #: returns the model's T_k (V) at the same rows, which ``circuitsim validate`` compares in LSB.
    #: ``None`` = a block judged on its output values only.
    transitions: Callable | None = None
    transition_edges: tuple = ()
    transition_model: Callable | None = None

    @property
    def energy_component(self) -> str:
        """The energy-table component this block's artifacts price."""
        return self.component or self.name

    @property
    def mc_fit_inputs(self) -> tuple:
        """The grid of the Monte Carlo fit stream: ``mc_fit_grid`` or, by default, ``fit_grid``."""
        return self.fit_grid if self.mc_fit_grid is None else self.mc_fit_grid

    @property
    def mc_holdout_inputs(self) -> tuple:
        """The grid of the held-out Monte Carlo stream: ``mc_holdout_grid`` or, by default, ``holdout_grid``."""
        return self.holdout_grid if self.mc_holdout_grid is None else self.mc_holdout_grid

    @property
    def lsb_v(self) -> float:
        """One LSB at the block's judged resolution: full-scale range / 2^bits  [V]."""
        lo, hi = self.full_scale_v
        return (hi - lo) / 2 ** self.output_bits


@dataclass
class CalibrationData:
    """The SPICE results one fit sees: nominal runs at this corner, Monte Carlo at the MC corner."""

    block: str
    corner: str
    temp_c: float
    fit_x: np.ndarray
    holdout_x: np.ndarray
    nominal_fit: dict
    nominal_holdout: dict
    mc_fit: dict | None = None
    mc_holdout: dict | None = None
    mc_point: str = ""
    #: Inputs of the Monte Carlo streams (rows of ``mc_fit["out_V"]`` / ``mc_holdout["out_V"]`` columns);
    #: ``None`` = ``fit_x`` / ``holdout_x`` (the spec declares no separate MC grids).
    mc_fit_x: np.ndarray | None = None
    mc_holdout_x: np.ndarray | None = None


@dataclass
class Fit:
    """What a fit produces: model arrays (saved as ``model.npz``) and the per-action budget."""

    arrays: dict
    energy_J: float
    latency_s: float
    notes: dict = field(default_factory=dict)


@dataclass
class Prediction:
    """The behavioral model at a set of inputs: mean transfer, Monte Carlo-like samples and energy."""

    mean_v: np.ndarray
    samples_v: np.ndarray | None
    energy_J: np.ndarray

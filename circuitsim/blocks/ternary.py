"""Ternary (1.5-bit) comparator: two 2T comparator cells on one input, one per threshold (SPEC 4.3, the
LeCA 1.5-bit mode), ``netlists/ternary.cir``. A registered, calibrated block of its own.

    code = 1[v_in > v_trip,lo(v_b,lo) + σ_lo·z_lo] + 1[v_in > v_trip,hi(v_b,hi) + σ_hi·z_hi]   ∈ {0, 1, 2}

(V; z ~ N(0, 1) once per comparator instance and threshold). Each threshold is a
:mod:`circuitsim.blocks.comparator2t` cell (NMOS input, bias-controlled PMOS load) with its own bias; the
two cells share the input node. Lower bias -> higher trip point, so the low-threshold cell has the higher
bias.

Calibration (``circuitsim calibrate ternary``): the SPICE deck holds 14 pairs on a shared input each; one
point of the grid is ``(v_bias, which)``, ``which`` = 0 for the low-threshold cell and 1 for the
high-threshold cell, the other cell of the pair sitting at a fixed companion bias
(:data:`COMPANION_BIAS_V`: the high cell at 0.1 V when the low one is calibrated, the low cell at 0.5 V
when the high one is), so whatever the pair does to each other is inside the measured figures. For each
threshold the block stores the 2T comparator's set of tables (:class:`~circuitsim.blocks.comparator2t.
Comparator2tLut`, fitted by :func:`circuitsim.blocks.comparator2t.fit` on that threshold's points): trip
point vs bias (LUT, V), 10-90 % transition width (V), input-referred offset σ from Monte Carlo (V; 400
fit-stream samples, judged against 200 held-out ones), firing energy per decision (J, stored as sqrt(E)),
idle fraction, decision time at 10 mV overdrive (s). The contract's ``out_V`` at a point is the trip
point of the selected cell and ``energy_J`` that cell's firing energy (v_in = trip + 100 mV) over the
10 ns evaluation window, integrated on its own supply (the companion's supply is separate).

Energy of one ternary decision (J): E = E_lo(v_in) + E_hi(v_in), each cell firing (E_fire(v_b)) above its
trip point and idling (f_idle(v_b)·E_fire(v_b)) below it. The action figure in ``energy.json`` is the
worst case, code 2 (both cells firing), mean over the bias grids; the cells decide in parallel, so the
latency is the slower cell's decision time at 10 mV overdrive.

The thresholds must lie in the range each cell's bias reaches (about 0.72 ... 1.04 V at tt 27 °C) and
``v_lo < v_hi``; anything else is refused with the valid range. The functions accept the ternary block's
own :class:`TernaryLut` (per-threshold tables, :func:`load_lut`) or, as before, one
:class:`~circuitsim.blocks.comparator2t.Comparator2tLut` used for both thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from circuitsim.blocks import comparator2t as c2t
from circuitsim.blocks import static_power
from circuitsim.calibration.contract import CalibrationData, Fit, Prediction
from circuitsim.spice.analyses import apply_point
from circuitsim.store import NOMINAL, ArtifactStore, OperatingPoint

#: Pairs in netlists/ternary.cir (one calibration point per pair, one DC sweep gives all of them).
N_PAIRS = 14
#: Roles of the calibrated cell (the ``which`` coordinate of a grid point) and their array prefixes.
ROLES = ("lo", "hi")
#: Bias of the companion cell for each role of the calibrated cell (V): the high-threshold cell at 0.1 V
#: (trip ~1.0 V at tt 27 °C) when the low one is calibrated, the low-threshold cell at 0.5 V (~0.77 V)
#: when the high one is.
COMPANION_BIAS_V = (0.1, 0.5)


@dataclass(frozen=True)
class TernaryLut:
    """The calibrated tables of the two thresholds: ``lo`` and ``hi``, each a 2T comparator LUT measured
    with the other cell of the pair on the same input."""

    lo: c2t.Comparator2tLut
    hi: c2t.Comparator2tLut

    @classmethod
    def from_arrays(cls, arrays: dict) -> "TernaryLut":
        return cls(*(c2t.Comparator2tLut.from_arrays(_role_arrays(arrays, role)) for role in ROLES))

    @property
    def threshold_range_v(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """Reachable (low, high) trip points of the low and of the high threshold (V)."""
        return self.lo.threshold_range_v, self.hi.threshold_range_v


def _role_arrays(arrays: dict, role: str) -> dict:
    """The arrays of one threshold (``lo_lut_trip_V`` -> ``lut_trip_V``)."""
    prefix = f"{role}_"
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def _cells(lut) -> tuple[c2t.Comparator2tLut, c2t.Comparator2tLut]:
    """(low-threshold LUT, high-threshold LUT): the ternary block's own, or one 2T LUT for both."""
    if isinstance(lut, TernaryLut):
        return lut.lo, lut.hi
    if isinstance(lut, c2t.Comparator2tLut):
        return lut, lut
    raise TypeError(f"lut must be a TernaryLut or a Comparator2tLut, got {type(lut).__name__}")


def load_lut(point: OperatingPoint = NOMINAL, store: ArtifactStore | None = None) -> TernaryLut:
    """The committed calibration of this block at ``point`` from the artifact store (hash-checked; an
    uncalibrated point is refused with the calibrated ones)."""
    return TernaryLut.from_arrays((store or ArtifactStore()).model_arrays("ternary", point))


# -- thresholds, kernel path and reference --------------------------------------------------------------
@dataclass(frozen=True)
class TernaryThresholds:
    """The two thresholds (V) and the cell biases that realise them (V)."""

    v_lo_v: float
    v_hi_v: float
    v_bias_lo_v: float
    v_bias_hi_v: float


def thresholds(v_lo_v: float, v_hi_v: float, lut) -> TernaryThresholds:
    """Biases for the two thresholds (inverse trip LUT of each cell); refuses v_lo >= v_hi and thresholds
    outside the reachable range. ``lut``: :class:`TernaryLut` or a 2T comparator LUT."""
    if not v_lo_v < v_hi_v:
        raise ValueError(f"the low threshold must be below the high one, got v_lo = {v_lo_v:g} V, "
                         f"v_hi = {v_hi_v:g} V")
    lo, hi = _cells(lut)
    b_lo = c2t.bias_for_threshold_v(v_lo_v, lo)
    b_hi = c2t.bias_for_threshold_v(v_hi_v, hi)
    return TernaryThresholds(float(v_lo_v), float(v_hi_v), float(b_lo), float(b_hi))


def ternary(v_in_v, th: TernaryThresholds, lut, params: c2t.Comparator2tParams = c2t.Comparator2tParams(),
            rng: np.random.Generator | None = None, z_offsets=None) -> np.ndarray:
    """Code 0 / 1 / 2 per input (ideal mode: the sum of the two cells' firing probabilities, in [0, 2]); numba
    kernel of each cell.

    ``z_offsets``: (z_lo, z_hi) standard normals of one instance's two offsets (noisy mode); drawn per
    element from ``rng`` when omitted.
    """
    lo, hi = _cells(lut)
    z_lo, z_hi = (None, None) if z_offsets is None else z_offsets
    return (c2t.comparator2t(v_in_v, th.v_bias_lo_v, lo, params, rng, z_lo)
            + c2t.comparator2t(v_in_v, th.v_bias_hi_v, hi, params, rng, z_hi))


def ternary_reference(v_in_v, th: TernaryThresholds, lut,
                      params: c2t.Comparator2tParams = c2t.Comparator2tParams(),
                      rng: np.random.Generator | None = None, z_offsets=None) -> np.ndarray:
    """Plain NumPy oracle of :func:`ternary` (same draws for the same ``rng`` state)."""
    lo, hi = _cells(lut)
    z_lo, z_hi = (None, None) if z_offsets is None else z_offsets
    return (c2t.comparator2t_reference(v_in_v, th.v_bias_lo_v, lo, params, rng, z_lo)
            + c2t.comparator2t_reference(v_in_v, th.v_bias_hi_v, hi, params, rng, z_hi))


def energy_per_decision_J(v_in_v, th: TernaryThresholds, lut) -> np.ndarray:
    """E_lo(v_in) + E_hi(v_in) (J): each cell fires (above its trip point) or idles."""
    lo, hi = _cells(lut)
    return c2t.energy_per_decision_J(v_in_v, th.v_bias_lo_v, lo) + c2t.energy_per_decision_J(
        v_in_v, th.v_bias_hi_v, hi)


def offsets_sigma_v(th: TernaryThresholds, lut) -> tuple[float, float]:
    """Input-referred offset σ of the low and high threshold (V)."""
    lo, hi = _cells(lut)
    return (float(np.interp(th.v_bias_lo_v, lo.v_bias_v, lo.sigma_v)),
            float(np.interp(th.v_bias_hi_v, hi.v_bias_v, hi.sigma_v)))


# -- calibration (the block contract) -------------------------------------------------------------------
def _points(inputs) -> np.ndarray:
    """Grid points as an (n, 2) array of (v_bias [V], which); ``which`` must be 0 (low) or 1 (high)."""
    x = np.asarray(inputs, float).reshape(-1, 2)
    if not np.isin(x[:, 1], (0, 1)).all():
        raise ValueError(f"which must be 0 (low threshold) or 1 (high threshold), got {sorted(set(x[:, 1]))}")
    return x


def _set_pairs(session, x: np.ndarray, seed=None) -> None:
    """Pair k: the calibrated cell at the point's bias ``vb<k>_v``, its companion ``vbc<k>_v`` at the bias
    of the point's role (:data:`COMPANION_BIAS_V`); then the seeded ``reset``."""
    params = {f"vb{k + 1}_v": vb for k, vb in enumerate(x[:, 0])}
    params.update({f"vbc{k + 1}_v": COMPANION_BIAS_V[w] for k, w in enumerate(x[:, 1].astype(int))})
    apply_point(session, seed, **params)


#: The decision transients of a nominal task: (result key of the energy, of the decision time, overdrive
#: above the trip point [V], label). Keys as :func:`comparator2t.fit` reads them.
_TRANSIENTS = (("energy_J", "t_decision_100mV_s", c2t.OVERDRIVE_FIRE_V, "fire +100 mV"),
               ("energy_idle_J", None, c2t.OVERDRIVE_IDLE_V, "idle -100 mV"),
               (None, "latency_s", c2t.OVERDRIVE_NEAR_V, "near +10 mV"))


def _nominal(session, x: np.ndarray, vdd: float) -> dict:
    """Up to :data:`N_PAIRS` points: DC sweep (trip point, 10-90 % width), then the firing (+100 mV), idle
    (−100 mV) and near-threshold (+10 mV) transients of the calibrated cells (energy on their own supplies,
    J; decision time, s)."""
    _set_pairs(session, x)
    trip, width = c2t._dc_trips(session, len(x), vdd)
    if np.isnan(trip).any():
        raise RuntimeError(f"ternary: no trip point inside the DC sweep {c2t.DC_SWEEP_V[:2]} V at (v_b, which) = "
                           + ", ".join(f"({v:g}, {w:g})" for v, w in x[np.isnan(trip)]))
    result = {"out_V": trip, "width_V": width}
    for energy_key, time_key, overdrive_v, label in _TRANSIENTS:
        energy, t_decision = c2t._decision(session, len(x), trip + overdrive_v, vdd, label)
        result.update({k: v for k, v in ((energy_key, energy), (time_key, t_decision)) if k})
    return result


def simulate(session, task) -> dict:
    """SPICE task over the deck's pairs (the calibrated cells numbered as in netlists/comparator2t.cir).
    Monte Carlo: one seeded mismatch draw and one DC sweep per sample, all points in one draw (at most
    :data:`N_PAIRS`, so no two points share a device); nominal: :func:`_nominal` in chunks of
    :data:`N_PAIRS` points."""
    x = _points(task.inputs)
    vdd = session.deck_param("vdd_v")
    if task.seeds:
        if len(x) > N_PAIRS:
            raise ValueError(f"at most {N_PAIRS} Monte Carlo points per task (pairs in the deck; one mismatch "
                             f"draw must cover them all), got {len(x)}")
        out = np.empty((len(task.seeds), len(x)))
        for s, seed in enumerate(task.seeds):
            _set_pairs(session, x, seed)
            out[s], _ = c2t._dc_trips(session, len(x), vdd)
        return {"out_V": out}
    chunks = [_nominal(session, x[i:i + N_PAIRS], vdd) for i in range(0, len(x), N_PAIRS)]
    return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}


def _role_data(data: CalibrationData, which: int) -> CalibrationData:
    """One threshold's points as a 1-D (bias) calibration, the form :func:`comparator2t.fit` takes."""
    fit_sel = data.fit_x[:, 1] == which
    hold_sel = data.holdout_x[:, 1] == which
    mc_x = data.fit_x if data.mc_fit_x is None else data.mc_fit_x
    mc_sel = mc_x[:, 1] == which
    return CalibrationData(
        data.block, data.corner, data.temp_c, data.fit_x[fit_sel, 0], data.holdout_x[hold_sel, 0],
        {k: v[fit_sel] for k, v in data.nominal_fit.items()},
        {k: v[hold_sel] for k, v in data.nominal_holdout.items()},
        mc_fit={k: v[:, mc_sel] for k, v in data.mc_fit.items()} if data.mc_fit else None,
        mc_point=data.mc_point)


def fit(data: CalibrationData) -> Fit:
    """The 2T comparator's fit per threshold; arrays prefixed ``lo_`` / ``hi_``. Action energy: code 2
    (both cells firing), E_fire,lo + E_fire,hi, each the mean over its bias grid (J); latency: the slower
    cell's worst decision time at 10 mV overdrive (s)."""
    fits = {role: c2t.fit(_role_data(data, which)) for which, role in enumerate(ROLES)}
    arrays = {f"{role}_{k}": v for role, f in fits.items() for k, v in f.arrays.items()}
    idle = {role: f.notes["energy_idle_J_mean"] for role, f in fits.items()}
    notes = {
        "energy": "ternary decision with both cells firing (code 2): sum of the two cells' mean firing energies "
                  "(v_in = trip + 100 mV, 10 ns window) over the bias grid; per threshold and bias in model.npz",
        "energy_code0_J": idle["lo"] + idle["hi"],
        "energy_code1_J": fits["lo"].energy_J + idle["hi"],
        "latency": "the slower threshold's worst decision time at 10 mV overdrive (the cells decide in parallel)",
        "companion_bias_V": {role: COMPANION_BIAS_V[which] for which, role in enumerate(ROLES)},
        **{role: f.notes for role, f in fits.items()},
    }
    return Fit(arrays, fits["lo"].energy_J + fits["hi"].energy_J, max(f.latency_s for f in fits.values()), notes)


def validation_model(arrays, x, rng, n_samples) -> Prediction:
    """The model under test at held-out (v_bias, which) points: the selected threshold's table of the
    :class:`TernaryLut` (trip point = mean, trip + σ_os·z = samples, firing energy)."""
    x = _points(x)
    which = x[:, 1].astype(int)
    mean, energy = np.empty(len(x)), np.empty(len(x))
    samples = np.empty((n_samples, len(x)))
    for role_index, role in enumerate(ROLES):
        sel = which == role_index
        part = c2t.validation_model(_role_arrays(arrays, role), x[sel, 0], rng, n_samples)
        mean[sel], samples[:, sel], energy[sel] = part.mean_v, part.samples_v, part.energy_J
    return Prediction(mean, samples, energy)


def _grid(biases) -> tuple:
    return tuple((float(v), float(which)) for which in (0, 1) for v in biases)


FIT_GRID = _grid(c2t.FIT_GRID)
HOLDOUT_GRID = _grid(c2t.HOLDOUT_GRID)

#: Quiescent point of the static measurement: the pair's biases (V: calibrated low-threshold cell, its
#: high-threshold companion, the deck's defaults) and the shared input (V).
V_B_STATIC_V = (0.35, 0.1)
V_IN_STATIC_V = 0.9
STATIC_NOTE = ("static_W: VDD x (I_VDD1 + I_VDDC1) of one ternary comparator (pair 1: both cells, each on its own "
               "supply) at the DC operating point with biases 0.35 V (low-threshold cell) and 0.1 V (high-threshold "
               "cell) and the input at 0.9 V; leakage_W: the same with both bias lines gated to VDD (loads off).")


def static(session, task) -> dict:
    """Static power and leakage of one ternary comparator (two cells, W), DC operating points of
    ``netlists/ternary.cir`` (pair 1, supplies ``vdd1`` and ``vddc1``). On: biases ``task.inputs[0]``
    (calibrated cell, companion), input ``vin`` at :data:`V_IN_STATIC_V`: P = VDD·(I_VDD1 + I_VDDC1).
    Off: both bias lines at VDD (loads off), the input unchanged."""
    v_b, v_bc = (float(v) for v in np.ravel(task.inputs)[:2])
    vdd = session.deck_param("vdd_v")
    inputs = {"vin": V_IN_STATIC_V}
    return static_power.measure(session, ("vdd1", "vddc1"), on={"params": {"vb1_v": v_b, "vbc1_v": v_bc},
                                                               "sources": inputs},
                                off={"params": {"vb1_v": vdd, "vbc1_v": vdd}, "sources": inputs})


#: The 2T comparator's contract (8-bit judgement on 0..1.8 V, 200-sample MC batches, a 2x fit stream, action
#: "decision") on the ternary deck and its 2-D grid.
SPEC = replace(
    c2t.SPEC,
    name="ternary",
    netlist="ternary",
    summary="ternary (1.5-bit) comparator: two 2T cells on one input; trip point vs bias per threshold",
    input_label="(v_bias_V, which: 0 = low threshold, 1 = high threshold)",
    fit_grid=FIT_GRID,
    holdout_grid=HOLDOUT_GRID,
    simulate=simulate,
    fit=fit,
    model=validation_model,
    resolution_note="trip points on the 8-bit imaging path's signal range, 0..1.8 V (LSB 7.03 mV), as the 2T "
                    "comparator",
    static=static,
    static_inputs=(V_B_STATIC_V,),
    static_note=STATIC_NOTE,
)

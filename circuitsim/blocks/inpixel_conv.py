"""Weighted in-pixel convolution, the first layer of the in-sensor spiking network (``netlists/inpixel_conv.cir``,
SPEC 5.3): the weights are the widths of follower transistors inside the pixels, multi-bit (codes
0..3 → no transistor / 0.5 / 1 / 2 µm) and signed (the positive- and negative-weight transistors are
selected in two phases, and the analog CDS subtracts the two column voltages).

Model of one phase (SI units): all selected follower transistors of a kernel drive the shared column
against the column current sink, which settles at the v_col that balances the currents,

    Σ_i I_code(i)(v_pd,i, v_col) = I_load(v_col)                                     (solved by bisection)

I_code(v_g, v_col) is the current of one weight transistor plus its select switch (drain at VDD), a 2-D
table from one nested SPICE DC sweep per corner (interpolated bilinearly in (v_g, sqrt(I)) — square law
— on the fit grid of v_g), I_load(v_col) the sink's current from the same sweep. The output of one
kernel is the CDS difference v_col(positive phase) − v_col(negative phase); :mod:`circuitsim.blocks.cds`
adds its charge injection and kT/C. Mismatch: σ of the summed column from Monte Carlo of the test kernel.

Calibration (the block contract): the deck's 3×3 test kernel with a fixed pixel-voltage pattern offset
by a common voltage x; output the column voltage (DC sweep of x, held-out points between the fit points).
The model predicts it from the unit-device tables alone — it never sees the kernel's own sweep.

Energy per phase (J): VDD · I_VDD(x) · T_phase, T_phase = 1 µs (the column settles through the 1 pF
line). Energy per output: two phases + one CDS operation + the comparator (:func:`energy_per_output_J`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from circuitsim import config
from circuitsim.blocks import buffers, static_power
from circuitsim.calibration.contract import BlockSpec, Fit, Prediction
from circuitsim.calibration.fitting import eval_polynomial, fit_polynomial, sigma_per_point
from circuitsim.errors import InputRangeError
from circuitsim.spice.analyses import apply_point
from circuitsim.store import NOMINAL, ArtifactStore, OperatingPoint

#: Width table: weight magnitude code → follower width (µm); code 0 = no transistor.
WIDTHS_UM = (0.0, 0.5, 1.0, 2.0)
MAX_CODE = len(WIDTHS_UM) - 1
#: Test kernel of the deck: codes and pixel-voltage offsets (V) of its 9 pixels.
TEST_CODES = (1, 2, 3, 3, 1, 2, 2, 3, 1)
TEST_OFFSETS_V = (-0.10, 0.0, 0.10, 0.05, -0.05, 0.0, 0.10, -0.10, 0.0)
#: Nested DC sweep of the unit-device branches (V).
VCOL_GRID_V = np.round(np.arange(0.0, 1.40001, 0.02), 6)
VG_SWEEP_V = (1.0, 1.9, 0.025)
T_PHASE_S = 1.0e-6
#: Bisection steps of the column solve inside the grid cell that holds the root (a 20 mV cell / 2^40: below 1e-13 V).
BISECTION_STEPS = 40
#: Work chunks of the column kernel's parallel loop (a few per thread; each allocates its scratch once).
CHUNKS = 64


@dataclass(frozen=True)
class ConvLut:
    """Unit-device tables: gate grid (V), column grid (V), sqrt of the current of each width code
    (shape codes × gate × column, sqrt(A)), load current on the column grid (A); σ LUT of the test kernel
    (x grid V, σ V); energy coefficients per phase (J, J/V, J/V²)."""

    vg_v: np.ndarray
    vcol_v: np.ndarray
    sqrt_i: np.ndarray
    i_load_a: np.ndarray
    sigma_x_v: np.ndarray
    sigma_v: np.ndarray
    energy_coeffs: np.ndarray

    @classmethod
    def from_arrays(cls, a: dict) -> "ConvLut":
        def vec(key):
            return np.ascontiguousarray(a[key], float)

        return cls(vec("lut_vg_V"), vec("lut_vcol_V"), vec("lut_sqrt_i"), vec("lut_i_load_A"), vec("lut_x_V"),
                   vec("lut_sigma_V"), vec("energy_coeffs"))


def load_lut(point: OperatingPoint = NOMINAL, store: ArtifactStore | None = None) -> ConvLut:
    """The committed calibration of this block at ``point`` from the artifact store (hash-checked; an
    uncalibrated point is refused with the calibrated ones)."""
    return ConvLut.from_arrays((store or ArtifactStore()).model_arrays("inpixel_conv", point))


# -- kernel and reference ---------------------------------------------------------------------------
@njit(fastmath=config.FASTMATH, cache=True)
def _gate_cell(vg, vg_v):
    """(ig, fg): the gate-table cell of v_g and its fraction (linear in v_g between the table's evenly spaced
    gate points, clamped to the table)."""
    ng = vg_v.size
    tg = min(max((vg - vg_v[0]) / (vg_v[1] - vg_v[0]), 0.0), ng - 1.0)
    ig = min(int(tg), ng - 2)
    return ig, tg - ig


@njit(fastmath=config.FASTMATH, cache=True)
def _node_excess(codes, ig, fg, j, sqrt_i, i_load_a):
    """Total device current minus the sink's at column-grid node j for one output (A): ``codes`` its taps'
    weight magnitudes, (ig, fg) their gate cells (:func:`_gate_cell`), found once per output."""
    total = 0.0
    for t in range(codes.size):
        c = codes[t]
        if c != 0:
            s = (1 - fg[t]) * sqrt_i[c - 1, ig[t], j] + fg[t] * sqrt_i[c - 1, ig[t] + 1, j]
            total += s * s
    return total - i_load_a[j]


@njit(parallel=True, fastmath=config.FASTMATH, cache=True)
def _column_kernel(v_pd_v, codes, vg_v, vcol_v, sqrt_i, i_load_a, steps, out_v):
    """v_pd_v: (outputs, taps); codes: (outputs, taps) magnitudes 0..3, or (1, taps): the same weights for
    every output; outputs in parallel (each is independent: the same result on any thread count). The
    excess current F(v_col) = Σ I_t − I_load falls with v_col; bisection over the column grid's nodes finds
    the cell holding its root, where each √I_t = A_t + B_t·f is linear in the cell fraction f, so
    F = Σ A² + 2 Σ AB·f + Σ B²·f² − (L_0 + ΔL·f); ``steps`` bisection steps on that quadratic give the root
    (the device tables bilinear in (v_g, v_col), squared; solved without summing the taps at every step)."""
    n_out, n_taps = v_pd_v.shape
    shared = codes.shape[0] == 1
    n_chunks = min(n_out, CHUNKS)
    for chunk in prange(n_chunks):  # chunks of outputs, so the gate-cell scratch is allocated once per chunk
        ig = np.empty(n_taps, np.int64)
        fg = np.empty(n_taps)
        for o in range(chunk * n_out // n_chunks, (chunk + 1) * n_out // n_chunks):
            _solve_output(v_pd_v, codes[0] if shared else codes[o], o, vg_v, vcol_v, sqrt_i, i_load_a, steps,
                          ig, fg, out_v)


@njit(fastmath=config.FASTMATH, cache=True)
def _solve_output(v_pd_v, row, o, vg_v, vcol_v, sqrt_i, i_load_a, steps, ig, fg, out_v):
    """out_v[o]: the column voltage of output o (weights ``row``), :func:`_column_kernel`'s solve; ig, fg:
    scratch for its taps' gate cells."""
    n_taps = row.size
    nc = vcol_v.size
    active = False
    for t in range(n_taps):
        if row[t] != 0:
            active = True
    if not active:
        out_v[o] = vcol_v[0]  # nothing drives the line: the sink pulls it to ground
        return
    for t in range(n_taps):
        ig[t], fg[t] = _gate_cell(v_pd_v[o, t], vg_v)
    if _node_excess(row, ig, fg, 0, sqrt_i, i_load_a) <= 0.0:
        out_v[o] = vcol_v[0]
        return
    if _node_excess(row, ig, fg, nc - 1, sqrt_i, i_load_a) > 0.0:
        out_v[o] = vcol_v[nc - 1]
        return
    lo, hi = 0, nc - 1  # F(lo) > 0 >= F(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _node_excess(row, ig, fg, mid, sqrt_i, i_load_a) > 0.0:
            lo = mid
        else:
            hi = mid
    s0, s1, s2 = 0.0, 0.0, 0.0
    for t in range(n_taps):
        c = row[t]
        if c == 0:
            continue
        a = (1 - fg[t]) * sqrt_i[c - 1, ig[t], lo] + fg[t] * sqrt_i[c - 1, ig[t] + 1, lo]
        b = (1 - fg[t]) * sqrt_i[c - 1, ig[t], lo + 1] + fg[t] * sqrt_i[c - 1, ig[t] + 1, lo + 1] - a
        s0 += a * a
        s1 += 2.0 * a * b
        s2 += b * b
    l0, dl = i_load_a[lo], i_load_a[lo + 1] - i_load_a[lo]
    f_lo, f_hi = 0.0, 1.0
    for _ in range(steps):
        f = 0.5 * (f_lo + f_hi)
        if s0 + (s1 + s2 * f) * f - (l0 + dl * f) > 0.0:
            f_lo = f
        else:
            f_hi = f
    out_v[o] = vcol_v[lo] + 0.5 * (f_lo + f_hi) * (vcol_v[lo + 1] - vcol_v[lo])


def _validated(v_pd_v, codes, lut: ConvLut):
    v = np.ascontiguousarray(np.atleast_2d(np.asarray(v_pd_v, float)))
    c = np.asarray(codes)
    if c.size and (not np.issubdtype(c.dtype, np.integer) and not np.all(c == np.round(c))):
        raise InputRangeError("weight codes must be integers of the width table 0..%d" % MAX_CODE)
    c = np.atleast_2d(c.astype(np.int64))
    # one weight row for every output stays one row (the kernel reads it for each); others are broadcast
    c = np.ascontiguousarray(c if c.shape == (1, v.shape[1]) else np.broadcast_to(c, v.shape))
    if c.size and (c.min() < 0 or c.max() > MAX_CODE):
        bad = c[(c < 0) | (c > MAX_CODE)].ravel()[0]
        raise InputRangeError(f"weight code {bad} is outside the width table 0..{MAX_CODE} "
                              f"(widths {', '.join(f'{w:g}' for w in WIDTHS_UM)} um); signed weights are "
                              f"-{MAX_CODE}..{MAX_CODE}")
    lo, hi = lut.vg_v[0], lut.vg_v[-1]
    if v.size and (not np.all(np.isfinite(v)) or v.min() < lo or v.max() > hi):
        bad = v[~np.isfinite(v) | (v < lo) | (v > hi)].ravel()[0]
        raise InputRangeError(f"pixel voltage = {bad:g} V is outside the calibrated range [{lo:g}, {hi:g}] V")
    return v, c


def column_voltage(v_pd_v, codes, lut: ConvLut) -> np.ndarray:
    """Column voltage (V) of one phase for each output: ``v_pd_v`` (outputs, taps) pixel voltages,
    ``codes`` weight magnitudes 0..3 (broadcast to the same shape); numba kernel."""
    v, c = _validated(v_pd_v, codes, lut)
    out = np.empty(v.shape[0])
    _column_kernel(v, c, lut.vg_v, lut.vcol_v, lut.sqrt_i, lut.i_load_a, BISECTION_STEPS, out)
    return out


def _sqrt_i_at_node_reference(c, v, j, lut: ConvLut):
    """NumPy version of the kernel's sqrt(I) of a device at a node (:func:`_gate_cell` + the lerp): (outputs, taps) at node indices ``j`` (outputs,)."""
    ng = lut.vg_v.size
    tg = np.clip((v - lut.vg_v[0]) / (lut.vg_v[1] - lut.vg_v[0]), 0.0, ng - 1.0)
    ig = np.minimum(tg.astype(int), ng - 2)
    fg = tg - ig
    k = np.maximum(c - 1, 0)
    jj = np.broadcast_to(np.asarray(j)[:, None], c.shape)
    s = (1 - fg) * lut.sqrt_i[k, ig, jj] + fg * lut.sqrt_i[k, ig + 1, jj]
    return np.where(c == 0, 0.0, s)


def column_voltage_reference(v_pd_v, codes, lut: ConvLut) -> np.ndarray:
    """Plain NumPy oracle of :func:`column_voltage` (the same cell search and quadratic solve, vectorised
    over outputs)."""
    v, c = _validated(v_pd_v, codes, lut)
    c = np.broadcast_to(c, v.shape)
    nc = lut.vcol_v.size

    def excess(j):
        return (_sqrt_i_at_node_reference(c, v, j, lut) ** 2).sum(axis=1) - lut.i_load_a[j]

    n = v.shape[0]
    lo, hi = np.zeros(n, int), np.full(n, nc - 1)
    at_lo, at_hi = excess(lo) <= 0.0, excess(hi) > 0.0
    while np.any(hi - lo > 1):
        mid = (lo + hi) // 2
        up = excess(mid) > 0.0
        open_ = hi - lo > 1
        lo = np.where(open_ & up, mid, lo)
        hi = np.where(open_ & ~up, mid, hi)
    a = _sqrt_i_at_node_reference(c, v, lo, lut)
    b = _sqrt_i_at_node_reference(c, v, lo + 1, lut) - a
    s0, s1, s2 = (a * a).sum(axis=1), (2.0 * a * b).sum(axis=1), (b * b).sum(axis=1)
    l0, dl = lut.i_load_a[lo], lut.i_load_a[lo + 1] - lut.i_load_a[lo]
    f_lo, f_hi = np.zeros(n), np.ones(n)
    for _ in range(BISECTION_STEPS):
        f = 0.5 * (f_lo + f_hi)
        up = s0 + (s1 + s2 * f) * f - (l0 + dl * f) > 0.0
        f_lo, f_hi = np.where(up, f, f_lo), np.where(up, f_hi, f)
    out = lut.vcol_v[lo] + 0.5 * (f_lo + f_hi) * (lut.vcol_v[lo + 1] - lut.vcol_v[lo])
    out = np.where(at_hi, lut.vcol_v[-1], np.where(at_lo, lut.vcol_v[0], out))
    active = (c != 0).any(axis=1)
    return np.where(active, out, lut.vcol_v[0])


def inpixel_conv(v_pd_v, weights, lut: ConvLut) -> np.ndarray:
    """Two-phase signed convolution output before CDS non-idealities (V): v_col(positive weights) −
    v_col(negative weights); ``weights`` signed integers −3..3 (outputs, taps) or (taps,)."""
    w = np.asarray(weights)
    return column_voltage(v_pd_v, np.maximum(w, 0), lut) - column_voltage(v_pd_v, np.maximum(-w, 0), lut)


def inpixel_conv_reference(v_pd_v, weights, lut: ConvLut) -> np.ndarray:
    w = np.asarray(weights)
    return (column_voltage_reference(v_pd_v, np.maximum(w, 0), lut)
            - column_voltage_reference(v_pd_v, np.maximum(-w, 0), lut))


def phase_energy_J(x_v, lut: ConvLut) -> np.ndarray:
    """Energy of one phase of the test kernel (J): e₀ + e₁·x + e₂·x²."""
    return eval_polynomial(lut.energy_coeffs, x_v)


def energy_per_output_J(phase_J: float, cds_J: float, comparator_J: float = 0.0) -> float:
    """Energy of one convolution output (J): two phases + one CDS operation + the comparator decision."""
    return 2 * phase_J + cds_J + comparator_J


# -- calibration (the block contract) ---------------------------------------------------------------
def simulate(session, task) -> dict:
    """SPICE task. Monte Carlo: one DC sweep of the test kernel per mismatch draw. Nominal: the same sweep
    (output and VDD current) and one nested DC sweep of the unit-device branches, whose gate rows at the
    task's input points are returned per point."""
    x = np.asarray(task.inputs, float)
    if task.seeds:
        out = np.empty((len(task.seeds), x.size))
        for s, seed in enumerate(task.seeds):
            apply_point(session, seed)
            out[s], _ = buffers.dc_transfer(session, x, "vx", "col")
        return {"out_V": out}
    apply_point(session)
    out, current = buffers.dc_transfer(session, x, "vx", "col")
    start, stop, step = VG_SWEEP_V
    vc = [float(v) for v in VCOL_GRID_V]
    session.analyse(f"dc vct {vc[0]!r} {vc[-1] + 1e-6!r} {vc[1] - vc[0]!r} vgt {start!r} {stop + 1e-6!r} {step!r}",
                    point="unit-device branches")
    vg = np.round(np.arange(start, stop + 1e-9, step), 6)
    shape = (vg.size, len(vc))
    dev = np.stack([session.vector(f"vm{k}#branch").reshape(shape) for k in (1, 2, 3)])  # A, from VDD into ct
    i_load = session.vector("vml#branch").reshape(shape)[0]
    rows = np.array([np.argmin(np.abs(vg - v)) for v in x])
    if not np.allclose(vg[rows], x, atol=1e-9):
        raise ValueError("the input points must lie on the unit-device gate sweep")
    vdd = session.deck_param("vdd_v")
    return {
        "out_V": out,
        "energy_J": vdd * current * T_PHASE_S,
        "latency_s": np.full(x.size, T_PHASE_S),
        "i_vdd_A": current,
        "unit_i_A": np.moveaxis(dev[:, rows, :], 1, 0),  # (points, codes, v_col)
        "load_i_A": np.broadcast_to(i_load, (x.size, len(vc))).copy(),
    }


def fit(data) -> Fit:
    """Unit-device tables on the fit grid of gate voltages; σ of the test kernel from Monte Carlo."""
    x = data.fit_x
    nom = data.nominal_fit
    arrays = {
        "lut_vg_V": x,
        "lut_vcol_V": VCOL_GRID_V,
        "lut_sqrt_i": np.sqrt(np.maximum(np.moveaxis(nom["unit_i_A"], 0, 1), 0.0)),  # (codes, v_g, v_col)
        "lut_i_load_A": nom["load_i_A"][0],
        "lut_x_V": x,
        "lut_sigma_V": sigma_per_point(data.mc_fit["out_V"]) if data.mc_fit else np.zeros_like(x),
        "energy_coeffs": fit_polynomial(x, nom["energy_J"], 2),
    }
    notes = {
        "energy": f"one phase of the 3x3 test kernel: VDD * I_VDD(DC) * {T_PHASE_S * 1e6:g} us",
        "latency": "one phase window (1 us, column line settling through 1 pF)",
        "sigma": f"mismatch sigma of the test kernel from Monte Carlo at {data.mc_point}" if data.mc_fit
                 else "no Monte Carlo",
        "model": "column voltage solved from unit-device tables (never from the kernel's own sweep)",
    }
    return Fit(arrays, float(np.mean(nom["energy_J"])), T_PHASE_S, notes)


def _test_patch(x):
    x = np.asarray(x, float)
    return x[:, None] + np.asarray(TEST_OFFSETS_V)[None, :]


def validation_model(arrays, x, rng, n_samples) -> Prediction:
    lut = ConvLut.from_arrays(arrays)
    mean = column_voltage(_test_patch(x), np.asarray(TEST_CODES), lut)
    sigma = np.interp(x, lut.sigma_x_v, lut.sigma_v)
    samples = mean[None, :] + sigma[None, :] * rng.standard_normal((n_samples, len(x)))
    return Prediction(mean, samples, phase_energy_J(x, lut))


#: The pixel voltages of the test patch reach x ± 0.1 V, inside the gate table (fit grid 1.0 .. 1.9 V).
FIT_GRID = tuple(np.round(np.arange(1.0, 1.9001, 0.05), 6))
HOLDOUT_GRID = tuple(np.round(np.arange(1.125, 1.7751, 0.05), 6))

#: Pixel level of the static measurement (V): the deck's default patch centre vx_v.
V_X_STATIC_V = 1.5
STATIC_NOTE = ("static_W: VDD x I_VDD at the DC operating point of the test kernel (codes 1 2 3 / 3 1 2 / 2 3 1, "
               "patch centre vx = 1.5 V) with every pixel selected and the 20 uA column sink on; leakage_W: the "
               "same with every select line at 0 V (sel<k>_v = 0: no pixel of the kernel on the column). The sink's "
               "reference branch on vddb (shared) and the unit-device branches on vddt (test only) are not included.")


def static(session, task) -> dict:
    """Static power and leakage of one kernel phase on its column (W), DC operating points of
    ``netlists/inpixel_conv.cir`` at vx = ``task.inputs[0]``. On: all nine pixels selected (the deck's
    ``sel<k>_v``): P = VDD·I_VDD, the 20 µA column sink fed through the weight transistors. Off: every
    select line at 0 V. ``vddb`` (the sink's shared reference) and ``vddt`` (the unit-device test branches)
    are recorded, not summed."""
    v = float(np.ravel(task.inputs)[0])
    vdd = session.deck_param("vdd_v")
    return static_power.measure(
        session, ("vdd", "vddb", "vddt"), charged=("vdd",),
        on={"params": {"vx_v": v, **{f"sel{k}_v": vdd for k in range(1, 10)}}},
        off={"params": {"vx_v": v, **{f"sel{k}_v": 0.0 for k in range(1, 10)}}})


SPEC = BlockSpec(
    name="inpixel_conv",
    netlist="inpixel_conv",
    summary="3x3 in-pixel convolution: weight = follower width (0.5/1/2 um), currents summed on the column, 20 uA sink",
    input_label="v_patch_V",
    fit_grid=FIT_GRID,
    holdout_grid=HOLDOUT_GRID,
    simulate=simulate,
    fit=fit,
    model=validation_model,
    output_bits=8,
    full_scale_v=(0.0, 1.8),
    resolution_note="8-bit (the CDS output feeds a comparator; judged as the imaging path), LSB 7.03 mV",
    mc_batch=200,
    action="phase",
    mc_fit_factor=4,
    static=static,
    static_inputs=(V_X_STATIC_V,),
    static_note=STATIC_NOTE,
)

"""Flipped voltage follower (FVF) driving the SAR ADC input: low-Vt PMOS follower M1 (10 µA) with a PMOS
shunt M2 closing the local loop and a 30 µA output sink, on a 250 fF CDAC load (``netlists/fvf.cir``,
SPEC 4.5).

Model of one ADC sample (SI units, V):

    v_out = LUT_FVF(v_in) + σ_FVF(v_in)·z,    z ~ N(0, 1)

LUT_FVF is the nominal DC transfer from SPICE (gain 0.93 in the linear part, bending smoothly below
v_in ≈ 0.35 V at the fast corners), σ_FVF the M1/M2/sink mismatch from 200-sample Monte Carlo (fitted
from 4 × 200 draws). The FVF's thermal noise on the CDAC is not modelled (``thermal_sigma_v`` = 0 by
default; set it to add a temporal term). Modes: ``ideal`` (the straight line fitted to the LUT), ``hard``
(LUT) and ``noisy`` (LUT + random terms); the kernel is shared with the PSF in
:mod:`circuitsim.blocks.buffers`.

Energy per sample (J): the static bias from VDD over one ADC sampling window, VDD·I_VDD·T_sample,
T_sample = 12.5 ns; fitted as e₀ + e₁·v + e₂·v². Latency: settling of the output to half an 8-bit LSB
after a full-scale input step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from circuitsim.blocks import buffers, static_power
from circuitsim.blocks.buffers import BufferLut
from circuitsim.blocks.modes import Mode, parse_field
from circuitsim.calibration.contract import BlockSpec, Fit, Prediction
from circuitsim.store import NOMINAL, ArtifactStore, OperatingPoint

#: One operation = one SAR ADC sampling window: 5 cycles of the 400 MHz fast controller (s).
T_SAMPLE_S = 12.5e-9
# Timing of the settling transient in netlists/fvf.cir (s)
T_STEP_S = 1.0e-9
T_FINAL_S = 20.0e-9
TRAN_STEP_S = 10e-12
#: Settling tolerance for the latency figure: half an 8-bit LSB over 1.8 V (V).
SETTLE_TOL_V = 0.5 * 1.8 / 256
V_IN_RANGE_V = (0.2, 1.0)


@dataclass(frozen=True)
class FvfParams:
    """``mode``: a :class:`~circuitsim.blocks.modes.Mode` or its name (ideal | hard | noisy);
    ``thermal_sigma_v``: optional temporal noise at the output (V rms)."""

    mode: Mode | str = Mode.NOISY
    thermal_sigma_v: float = 0.0

    def __post_init__(self):
        parse_field(self)


def load_lut(point: OperatingPoint = NOMINAL, store: ArtifactStore | None = None) -> BufferLut:
    """The committed calibration of this block at ``point`` from the artifact store (hash-checked; an
    uncalibrated point is refused with the calibrated ones)."""
    return BufferLut.from_arrays((store or ArtifactStore()).model_arrays("fvf", point))


def fvf(v_in_v, lut: BufferLut, params: FvfParams = FvfParams(), rng: np.random.Generator | None = None) -> np.ndarray:
    """FVF output for each input (V); numba kernel. ``rng`` required in noisy mode."""
    return buffers.transfer("v_in", v_in_v, lut, params.mode, params.thermal_sigma_v, rng)


def fvf_reference(v_in_v, lut: BufferLut, params: FvfParams = FvfParams(),
                  rng: np.random.Generator | None = None) -> np.ndarray:
    """Plain NumPy oracle of :func:`fvf` (same draws for the same ``rng`` state)."""
    return buffers.transfer_reference("v_in", v_in_v, lut, params.mode, params.thermal_sigma_v, rng)


def fvf_energy_per_sample_J(v_in_v, lut: BufferLut) -> np.ndarray:
    """Energy per ADC sample from VDD (J): e₀ + e₁·v + e₂·v²."""
    return buffers.energy_J(v_in_v, lut)


# -- calibration (the block contract) ---------------------------------------------------------------
def simulate(session, task) -> dict:
    """SPICE task. Monte Carlo: one DC sweep per mismatch draw. Nominal: one DC sweep for the transfer and
    the bias current, plus one full-scale step transient per point for the settling time."""
    if task.seeds:
        return buffers.monte_carlo_transfer(session, task, "vin", "out")
    return buffers.nominal_transfer(session, task, "vin", "out", V_IN_RANGE_V, energy_window_s=T_SAMPLE_S,
                                    step_s=TRAN_STEP_S, stop_s=T_FINAL_S + 1e-9, t_start_s=T_STEP_S,
                                    t_final_s=T_FINAL_S, tolerance_v=SETTLE_TOL_V)


def fit(data) -> Fit:
    result = buffers.fit_transfer(data, op="sample")
    result.notes["latency"] = (f"FVF output within {SETTLE_TOL_V * 1e3:.2f} mV of its final value after a "
                               "full-scale input step; ") + result.notes["latency"]
    return result


def validation_model(arrays, x, rng, n_samples) -> Prediction:
    return buffers.prediction(arrays, x, rng, n_samples, "v_in")


FIT_GRID = tuple(np.round(np.arange(0.2, 1.0001, 0.05), 6))
HOLDOUT_GRID = tuple(np.round(np.arange(0.225, 0.9751, 0.05), 6))

#: Quiescent input of the static measurement (V): mid-point of the calibrated input range.
V_IN_STATIC_V = 0.6
STATIC_NOTE = ("static_W: VDD x I_VDD at the DC operating point with v_in = 0.6 V and the 10 uA bias reference on "
               "(M1 10 uA + output sink 30 uA); leakage_W: the same with the bias reference iref at 0 A (both "
               "mirrored sinks off). The reference branch on vddb is shared by the column's PEs, not included.")


def static(session, task) -> dict:
    """Static power and leakage of one FVF (W), DC operating points of ``netlists/fvf.cir``. On: v_in =
    ``task.inputs[0]``, bias reference on: P = VDD·I_VDD (M1's 10 µA + the 30 µA output sink). Off: the
    reference ``iref`` at 0 A, so both mirrored sinks carry only leakage. The reference's own supply
    ``vddb`` (shared by a column's PEs) is recorded, not summed."""
    v = float(np.ravel(task.inputs)[0])
    on = {"params": {"vin_v": v, "vprev_v": v}}
    return static_power.measure(session, ("vdd", "vddb"), charged=("vdd",), on=on,
                                off={**on, "sources": {"iref": 0.0}})


SPEC = BlockSpec(
    name="fvf",
    netlist="fvf",
    summary="flipped voltage follower (low-Vt PMOS M1 10 uA, PMOS shunt, 30 uA sink) driving a 250 fF ADC input",
    input_label="v_in_V",
    fit_grid=FIT_GRID,
    holdout_grid=HOLDOUT_GRID,
    simulate=simulate,
    fit=fit,
    model=validation_model,
    output_bits=8,
    full_scale_v=(0.0, 1.8),
    resolution_note="8-bit imaging path, full scale 0..1.8 V (LSB 7.03 mV)",
    mc_batch=200,
    action="sample",
    mc_fit_factor=4,
    static=static,
    static_inputs=(V_IN_STATIC_V,),
    static_note=STATIC_NOTE,
)

"""LeCA i-buffer + PMOS source follower (PSF): the pixel voltage held on a 109 fF MIM capacitor, read by a
low-Vt PMOS follower with a mirrored 20 µA current-source load (``netlists/psf.cir``, SPEC 4.4/4.5).

Model of one read (SI units, V):

    v_out = LUT_PSF(v_pix) + σ_PSF(v_pix)·z₁ + sqrt(k·T / C_hold)·z₂,    z₁, z₂ ~ N(0, 1)

LUT_PSF is the nominal DC transfer from SPICE (gain ≈ 0.92, level shift ≈ +0.47 V at tt), σ_PSF the
follower and tail mismatch from 200-sample Monte Carlo (fitted from 4 × 200 draws), the last term the kT/C
noise of the i-buffer write (temporal; off in validation, SPICE Monte Carlo has none). Modes: ``ideal``
(the straight line fitted to the LUT), ``hard`` (LUT) and ``noisy`` (LUT + random terms); see
:mod:`circuitsim.blocks.buffers` for the shared kernel.

Energy per read (J): the follower's static bias from VDD over one SCM sample phase, VDD·I_VDD·T_read,
T_read = 7.5 ns; fitted as e₀ + e₁·v + e₂·v². Latency: settling of the output to half an 8-bit LSB after
a full-scale i-buffer write starts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import constants

from circuitsim.blocks import buffers, static_power
from circuitsim.blocks.buffers import BufferLut
from circuitsim.blocks.modes import Mode, parse_field
from circuitsim.calibration.contract import BlockSpec, Fit, Prediction
from circuitsim.store import NOMINAL, ArtifactStore, OperatingPoint

#: One read = one SCM sample phase: 3 cycles of the 400 MHz fast controller (s).
T_READ_S = 7.5e-9
# Timing of the settling transient in netlists/psf.cir (s)
T_WRITE_START_S = 1.0e-9
T_WRITE_END_S = 31.0e-9
TRAN_STEP_S = 10e-12
#: Settling tolerance for the latency figure: half an 8-bit LSB over 1.8 V (V).
SETTLE_TOL_V = 0.5 * 1.8 / 256
V_PIX_RANGE_V = (0.2, 1.0)


@dataclass(frozen=True)
class PsfParams:
    """``c_hold_f``: i-buffer capacitance (F), 2 fF/µm²·(7.38 µm)²; ``temperature_k`` for kT/C (K);
    ``mode``: a :class:`~circuitsim.blocks.modes.Mode` or its name (ideal | hard | noisy);
    ``thermal_noise``: include the kT/C of the i-buffer write."""

    c_hold_f: float = 2e-15 * 7.38**2
    temperature_k: float = 300.15
    mode: Mode | str = Mode.NOISY
    thermal_noise: bool = True

    def __post_init__(self):
        parse_field(self)

    @property
    def thermal_sigma_v(self) -> float:
        """sqrt(k·T / C_hold)  [V rms] (0.19 mV for 109 fF at 300 K)."""
        return float(np.sqrt(constants.k * self.temperature_k / self.c_hold_f))

    @property
    def applied_thermal_sigma_v(self) -> float:
        """The σ of the temporal term the model adds in noisy mode (V rms): :attr:`thermal_sigma_v` when
        ``thermal_noise`` is on, else 0."""
        return self.thermal_sigma_v if self.thermal_noise else 0.0


def load_lut(point: OperatingPoint = NOMINAL, store: ArtifactStore | None = None) -> BufferLut:
    """The committed calibration of this block at ``point`` from the artifact store (hash-checked; an
    uncalibrated point is refused with the calibrated ones)."""
    return BufferLut.from_arrays((store or ArtifactStore()).model_arrays("psf", point))


def psf(v_pix_v, lut: BufferLut, params: PsfParams = PsfParams(), rng: np.random.Generator | None = None) -> np.ndarray:
    """PSF output for each held pixel voltage (V); numba kernel. ``rng`` required in noisy mode."""
    return buffers.transfer("v_pix", v_pix_v, lut, params.mode, params.applied_thermal_sigma_v, rng)


def psf_reference(v_pix_v, lut: BufferLut, params: PsfParams = PsfParams(),
                  rng: np.random.Generator | None = None) -> np.ndarray:
    """Plain NumPy oracle of :func:`psf` (same draws for the same ``rng`` state)."""
    return buffers.transfer_reference("v_pix", v_pix_v, lut, params.mode, params.applied_thermal_sigma_v, rng)


def psf_energy_per_read_J(v_pix_v, lut: BufferLut) -> np.ndarray:
    """Energy per read from VDD (J): e₀ + e₁·v + e₂·v²."""
    return buffers.energy_J(v_pix_v, lut)


# -- calibration (the block contract) ---------------------------------------------------------------
def simulate(session, task) -> dict:
    """SPICE task. Monte Carlo: one DC sweep per mismatch draw. Nominal: one DC sweep for the transfer and
    the bias current, plus one write transient per point (full-scale step) for the settling time."""
    if task.seeds:
        return buffers.monte_carlo_transfer(session, task, "vpix", "out")
    return buffers.nominal_transfer(session, task, "vpix", "out", V_PIX_RANGE_V, energy_window_s=T_READ_S,
                                    step_s=TRAN_STEP_S, stop_s=T_WRITE_END_S + 2e-9, t_start_s=T_WRITE_START_S,
                                    t_final_s=T_WRITE_END_S - 0.1e-9, tolerance_v=SETTLE_TOL_V)


def fit(data) -> Fit:
    result = buffers.fit_transfer(data, op="read")
    result.notes["latency"] = ("PSF output within %.2f mV of its final value after a full-scale i-buffer write "
                               "starts; " % (SETTLE_TOL_V * 1e3)) + result.notes["latency"]
    return result


def validation_model(arrays, x, rng, n_samples) -> Prediction:
    return buffers.prediction(arrays, x, rng, n_samples, "v_pix")


FIT_GRID = tuple(np.round(np.arange(0.2, 1.0001, 0.05), 6))
HOLDOUT_GRID = tuple(np.round(np.arange(0.225, 0.9751, 0.05), 6))

#: Quiescent input of the static measurement (V): mid-point of the pixel range 0.2 .. 1.0 V.
V_IN_STATIC_V = 0.6
STATIC_NOTE = ("static_W: VDD x I_VDD at the DC operating point with the write switch closed, v_pix = 0.6 V and "
               "the 20 uA bias reference on (the follower's tail current); leakage_W: the same with the bias "
               "reference iref at 0 A (tail off). The reference branch on vddb is shared by the column's PEs, "
               "not included.")


def static(session, task) -> dict:
    """Static power and leakage of one PSF (W), DC operating points of ``netlists/psf.cir``. On: the write
    switch closed (its DC level), v_pix = ``task.inputs[0]``, bias reference on: P = VDD·I_VDD (the 20 µA
    tail). Off: the reference ``iref`` at 0 A, so the tail mirror carries only leakage. The reference's
    own supply ``vddb`` (shared by a column's PEs) is recorded, not summed."""
    v = float(np.ravel(task.inputs)[0])
    on = {"params": {"vin_v": v, "vprev_v": v}}
    return static_power.measure(session, ("vdd", "vddb"), charged=("vdd",), on=on,
                                off={**on, "sources": {"iref": 0.0}})


SPEC = BlockSpec(
    name="psf",
    netlist="psf",
    summary="LeCA i-buffer (109 fF MIM) read by a low-Vt PMOS source follower, 20 uA mirrored load",
    input_label="v_pix_V",
    fit_grid=FIT_GRID,
    holdout_grid=HOLDOUT_GRID,
    simulate=simulate,
    fit=fit,
    model=validation_model,
    output_bits=4,
    full_scale_v=(0.0, 1.8),
    resolution_note="LeCA compute path, 4-bit over the chain ADC's 0..1.8 V full scale (LSB 112.5 mV)",
    mc_batch=200,
    action="read",
    mc_fit_factor=4,
    static=static,
    static_inputs=(V_IN_STATIC_V,),
    static_note=STATIC_NOTE,
)

"""Transmission-gate sample-and-hold on a MIM capacitor: the example block that proves the block contract
(netlist -> calibration -> artifact -> numba model -> validation on held-out points).

Model of one sample (SI units, V):

    v_hold = v_in + ε(v_in) + σ_mm(v_in)·z₁ + sqrt(k·T / C_hold)·z₂,    z₁, z₂ ~ N(0, 1)

ε is the charge-injection / clock-feed-through error of the transmission gate (LUT from nominal SPICE on
the fit grid, linear interpolation), σ_mm the instance-to-instance spread from switch and capacitor
mismatch (LUT from 200-sample Monte Carlo at the Monte Carlo corner), and the last term the kT/C sampling
noise of the hold capacitor (temporal; SPICE transient Monte Carlo does not contain it, so validation
compares with it switched off). Modes, as in the LeCA training modalities: ``ideal`` (v_hold = v_in),
``hard`` (+ ε) and ``noisy`` (+ ε + random terms).

Energy per sample (J): E(v_in) = e₀ + e₁·v_in + e₂·v_in², a least-squares fit to ∫VDD·I_VDD dt over one
10 ns sample period (the clock drivers' switching; the input driver's charge belongs to the upstream
buffer's budget).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import constants

from circuitsim.blocks import error_lut, static_power
from circuitsim.blocks.modes import Mode, parse_field
from circuitsim.calibration.contract import BlockSpec, Fit, Prediction
from circuitsim.calibration.fitting import eval_polynomial, fit_polynomial, sigma_per_point
from circuitsim.spice.analyses import apply_point, transient
from circuitsim.spice.measure import settling_time_s, supply_energy_J
from circuitsim.store import NOMINAL, ArtifactStore, OperatingPoint

# Timing of netlists/sample_hold.cir (s)
T_TRACK_START_S = 0.5e-9
T_TRACK_END_S = 4.9e-9
T_READ_S = 9.5e-9
T_PERIOD_S = 10e-9
TRAN_STEP_S = 10e-12
#: Settling tolerance for the latency figure: half an 8-bit LSB over 1.8 V (V).
SETTLE_TOL_V = 0.5 * 1.8 / 256


@dataclass(frozen=True)
class SampleHoldParams:
    """Model parameters. ``c_hold_f``: hold capacitance (F), 2 fF/µm²·(7.15 µm)² for the 7×7 µm MIM;
    ``temperature_k``: for kT/C (K); ``mode``: a :class:`~circuitsim.blocks.modes.Mode` or its name (ideal |
    hard | noisy); ``thermal_noise``: include kT/C."""

    c_hold_f: float = 2e-15 * 7.15**2
    temperature_k: float = 300.15
    mode: Mode | str = Mode.NOISY
    thermal_noise: bool = True

    def __post_init__(self):
        parse_field(self)

    @property
    def thermal_sigma_v(self) -> float:
        """sqrt(k·T / C_hold)  [V rms]."""
        return float(np.sqrt(constants.k * self.temperature_k / self.c_hold_f))


@dataclass(frozen=True)
class SampleHoldLut:
    """Calibrated tables: grid (V), error ε (V) and mismatch σ (V) on it, energy coefficients (J, J/V, J/V²)."""

    x_v: np.ndarray
    error_v: np.ndarray
    sigma_v: np.ndarray
    energy_coeffs: np.ndarray

    @classmethod
    def from_arrays(cls, arrays: dict) -> "SampleHoldLut":
        return cls(np.ascontiguousarray(arrays["lut_x_V"], float), np.ascontiguousarray(arrays["lut_error_V"], float),
                   np.ascontiguousarray(arrays["lut_sigma_V"], float), np.asarray(arrays["energy_coeffs"], float))


def load_lut(point: OperatingPoint = NOMINAL, store: ArtifactStore | None = None) -> SampleHoldLut:
    """The committed calibration of this block at ``point`` from the artifact store (hash-checked; an
    uncalibrated point is refused with the calibrated ones)."""
    return SampleHoldLut.from_arrays((store or ArtifactStore()).model_arrays("sample_hold", point))


# -- kernel and reference (the shared error-LUT transfer) --------------------------------------------
def _thermal(params: SampleHoldParams) -> float:
    return params.thermal_sigma_v if params.thermal_noise else 0.0


def sample_hold(v_in_v, lut: SampleHoldLut, params: SampleHoldParams = SampleHoldParams(),
                rng: np.random.Generator | None = None) -> np.ndarray:
    """Held voltage for each input (V); numba kernel. Draws come from ``rng`` (required in noisy mode)."""
    return error_lut.transfer("v_in", v_in_v, lut.x_v, lut.error_v, lut.sigma_v, params.mode, _thermal(params), rng)


def sample_hold_reference(v_in_v, lut: SampleHoldLut, params: SampleHoldParams = SampleHoldParams(),
                          rng: np.random.Generator | None = None) -> np.ndarray:
    """Plain NumPy oracle of :func:`sample_hold` (same draws for the same ``rng`` state)."""
    return error_lut.transfer_reference("v_in", v_in_v, lut.x_v, lut.error_v, lut.sigma_v, params.mode,
                                        _thermal(params), rng)


def sample_hold_energy_J(v_in_v, lut: SampleHoldLut) -> np.ndarray:
    """Energy per sample from VDD (J): e₀ + e₁·v_in + e₂·v_in²."""
    return eval_polynomial(lut.energy_coeffs, v_in_v)


# -- calibration (the block contract) ---------------------------------------------------------------
def simulate(session, task) -> dict:
    """SPICE task: one transient per input point (and per Monte Carlo seed) inside one loaded deck."""
    x = np.asarray(task.inputs, float)
    if task.seeds:
        out = np.empty((len(task.seeds), x.size))
        for s, seed in enumerate(task.seeds):
            for j, v in enumerate(x):
                apply_point(session, seed, vin_v=v)
                out[s, j] = _held_value(session, v)
        return {"out_V": out}
    out, energy, latency = (np.empty(x.size) for _ in range(3))
    for j, v in enumerate(x):
        apply_point(session, vin_v=v)
        wave = transient(session, TRAN_STEP_S, T_PERIOD_S, ["hold", "vdd#branch"], point=f"vin_v={v:g}")
        t, hold = wave["time_s"].to_numpy(), wave["v_hold_V"].to_numpy()
        out[j] = np.interp(T_READ_S, t, hold)
        energy[j] = supply_energy_J(t, wave["i_vdd_A"].to_numpy(), session.deck_param("vdd_v"), (0.0, T_PERIOD_S))
        # settled = within tolerance of the input itself (the tracking target), not of wherever it got to
        latency[j] = settling_time_s(t, hold, T_TRACK_START_S, SETTLE_TOL_V, final=v, t_end_s=T_TRACK_END_S)
    return {"out_V": out, "energy_J": energy, "latency_s": latency}


def _held_value(session, v) -> float:
    wave = transient(session, TRAN_STEP_S, T_PERIOD_S, ["hold"], point=f"vin_v={v:g}")
    return float(np.interp(T_READ_S, wave["time_s"].to_numpy(), wave["v_hold_V"].to_numpy()))


def fit(data) -> Fit:
    """LUT of ε and σ on the fit grid; quadratic energy model; worst-case settling as latency."""
    x = data.fit_x
    arrays = {
        "lut_x_V": x,
        "lut_error_V": data.nominal_fit["out_V"] - x,
        "lut_sigma_V": sigma_per_point(data.mc_fit["out_V"]) if data.mc_fit else np.zeros_like(x),
        "energy_coeffs": fit_polynomial(x, data.nominal_fit["energy_J"], 2),
    }
    settle = data.nominal_fit["latency_s"]
    if np.isnan(settle).any():  # reported, never hidden: the block did not track within its window
        latency = float("nan")
    else:
        latency = float(settle.max())
    energy = float(np.mean(data.nominal_fit["energy_J"]))
    notes = {
        "energy": "mean over the fit grid of the VDD energy of one 10 ns sample (clock drivers + gates)",
        "latency": f"worst-case track settling to within {SETTLE_TOL_V * 1e3:.2f} mV of v_in over the fit grid"
                   + ("" if not np.isnan(latency) else "; DID NOT SETTLE at v_in = "
                      + ", ".join(f"{v:g}" for v in x[np.isnan(settle)]) + " V"),
        "sigma": f"mismatch sigma from Monte Carlo at {data.mc_point}" if data.mc_fit else "no Monte Carlo",
    }
    return Fit(arrays, energy, latency, notes)


def validation_model(arrays, x, rng, n_samples) -> Prediction:
    """The model under test: hard-mode mean; noisy-mode samples without kT/C (SPICE MC is mismatch only)."""
    lut = SampleHoldLut.from_arrays(arrays)
    mean = sample_hold(x, lut, SampleHoldParams(mode=Mode.HARD))
    noisy = SampleHoldParams(mode=Mode.NOISY, thermal_noise=False)
    samples = np.stack([sample_hold(x, lut, noisy, rng) for _ in range(n_samples)])
    return Prediction(mean, samples, sample_hold_energy_J(x, lut))


FIT_GRID = tuple(np.round(np.arange(0.1, 1.7001, 0.1), 6))
HOLDOUT_GRID = tuple(np.round(np.arange(0.15, 1.6501, 0.1), 6))

#: Quiescent input of the static measurement (V): mid-scale.
V_IN_STATIC_V = 0.9
STATIC_NOTE = ("no bias: VDD feeds only the clock drivers, so both figures are leakage. static_W: VDD x I_VDD at "
               "the DC operating point with the clock idle low (switch open, hold) and the input at 0.9 V; "
               "leakage_W: the same with the input at 0 V.")


def static(session, task) -> dict:
    """Static power and leakage of one sample-and-hold (W), DC operating points of
    ``netlists/sample_hold.cir``; the block has no bias, VDD feeds only the clock drivers. On: clock idle at
    its first level (low: hold), input ``task.inputs[0]``: P = VDD·I_VDD. Off: the same with the input at
    0 V. Both are leakage (drivers, switch junctions)."""
    v = float(np.ravel(task.inputs)[0])
    return static_power.measure(session, ("vdd",), on={"params": {"vin_v": v, "vprev_v": v}},
                                off={"params": {"vin_v": 0.0, "vprev_v": 0.0}})


SPEC = BlockSpec(
    name="sample_hold",
    netlist="sample_hold",
    summary="low-Vt transmission-gate sample-and-hold on a 102 fF MIM capacitor (example block)",
    input_label="v_in_V",
    fit_grid=FIT_GRID,
    holdout_grid=HOLDOUT_GRID,
    simulate=simulate,
    fit=fit,
    model=validation_model,
    output_bits=8,
    full_scale_v=(0.0, 1.8),
    resolution_note="8-bit imaging path, full scale 0..1.8 V (LSB 7.03 mV)",
    mc_batch=50,
    action="sample",
    mc_fit_factor=4,
    static=static,
    static_inputs=(V_IN_STATIC_V,),
    static_note=STATIC_NOTE,
)

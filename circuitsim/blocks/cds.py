"""Switched-capacitor analog correlated double sampling (``netlists/cds.cir``, SPEC 4.2): the column is
sampled on capacitor C_a in phase a (the pixel's reset level, or the positive-weight phase of the in-pixel
convolution) and on C_b in phase b (the signal level, or the negative-weight phase); the output is the
held difference v(C_a) − v(C_b), read differentially by the next stage.

Model of one CDS operation (SI units, V), input x = v_a − v_b (v_a at the calibrated level 0.9 V):

    v_out = x + ε(x) + σ_mm(x)·z₁ + sqrt(k·T/C_a + k·T/C_b)·z₂,    z₁, z₂ ~ N(0, 1)

ε is the turn-off charge injection and clock feed-through of the two transmission gates, whose difference
depends on the signal level (LUT from nominal SPICE; its straight-line fit gives the CDS gain and offset),
σ_mm the instance spread from switch and capacitor mismatch (Monte Carlo), and the last term the kT/C
noise of both samples (temporal; not in SPICE Monte Carlo, so validation compares with it off). Modes:
``ideal`` (v_out = x), ``hard`` (+ ε) and ``noisy`` (+ ε + random terms). Two-phase signed weights:
:func:`cds_two_phase` subtracts the negative-weight phase from the positive-weight phase.

Energy per CDS operation (J): ∫VDD·I_VDD dt over the 12 ns of the two samples (the clock drivers and switch
gates; the column's charge belongs to the column), fitted as e₀ + e₁·x + e₂·x².
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

# Timing of netlists/cds.cir (s)
T_PHASE_B_START_S = 5.5e-9
T_PHASE_B_END_S = 9.95e-9
T_READ_S = 11.5e-9
T_PERIOD_S = 12e-9
TRAN_STEP_S = 25e-12
#: Level of the first (phase a) sample in the calibration (V): the pixel's column reset level.
V_A_V = 0.9
#: Settling tolerance for the latency figure: half an 8-bit LSB over 1.8 V (V).
SETTLE_TOL_V = 0.5 * 1.8 / 256


@dataclass(frozen=True)
class CdsParams:
    """``c_a_f``, ``c_b_f``: sampling capacitances (F), 2 fF/µm²·(7.15 µm)² each; ``temperature_k`` (K);
    ``mode``: a :class:`~circuitsim.blocks.modes.Mode` or its name (ideal | hard | noisy);
    ``thermal_noise``: include the kT/C of both samples."""

    c_a_f: float = 2e-15 * 7.15**2
    c_b_f: float = 2e-15 * 7.15**2
    temperature_k: float = 300.15
    mode: Mode | str = Mode.NOISY
    thermal_noise: bool = True

    def __post_init__(self):
        parse_field(self)

    @property
    def ktc_sigma_per_sample_v(self) -> float:
        """kT/C noise of one sample on C_a, sqrt(k·T / C_a)  [V rms] (0.20 mV for 102 fF at 300 K)."""
        return float(np.sqrt(constants.k * self.temperature_k / self.c_a_f))

    @property
    def thermal_sigma_v(self) -> float:
        """kT/C noise of the difference, sqrt(k·T/C_a + k·T/C_b)  [V rms]."""
        return float(np.sqrt(constants.k * self.temperature_k * (1 / self.c_a_f + 1 / self.c_b_f)))


@dataclass(frozen=True)
class CdsLut:
    """Calibrated tables: grid of x = v_a − v_b (V), error ε (V) and mismatch σ (V) on it, energy
    coefficients (J, J/V, J/V²), straight line of the transfer (offset V, gain V/V)."""

    x_v: np.ndarray
    error_v: np.ndarray
    sigma_v: np.ndarray
    energy_coeffs: np.ndarray
    line_coeffs: np.ndarray

    @classmethod
    def from_arrays(cls, arrays: dict) -> "CdsLut":
        def vec(key):
            return np.ascontiguousarray(arrays[key], float)

        return cls(vec("lut_x_V"), vec("lut_error_V"), vec("lut_sigma_V"), vec("energy_coeffs"), vec("line_coeffs"))


def load_lut(point: OperatingPoint = NOMINAL, store: ArtifactStore | None = None) -> CdsLut:
    """The committed calibration of this block at ``point`` from the artifact store (hash-checked; an
    uncalibrated point is refused with the calibrated ones)."""
    return CdsLut.from_arrays((store or ArtifactStore()).model_arrays("cds", point))


# -- kernel and reference ---------------------------------------------------------------------------
def _thermal(params: CdsParams) -> float:
    return params.thermal_sigma_v if params.thermal_noise else 0.0


def cds(v_a_minus_v_b_v, lut: CdsLut, params: CdsParams = CdsParams(), rng: np.random.Generator | None = None,
        ) -> np.ndarray:
    """CDS output (V) for each difference of the two samples, v_a − v_b (V); numba kernel (the shared
    error-LUT transfer)."""
    return error_lut.transfer("v_a - v_b", v_a_minus_v_b_v, lut.x_v, lut.error_v, lut.sigma_v, params.mode,
                              _thermal(params), rng)


def cds_reference(v_a_minus_v_b_v, lut: CdsLut, params: CdsParams = CdsParams(),
                  rng: np.random.Generator | None = None) -> np.ndarray:
    """Plain NumPy oracle of :func:`cds` (same draws for the same ``rng`` state)."""
    return error_lut.transfer_reference("v_a - v_b", v_a_minus_v_b_v, lut.x_v, lut.error_v, lut.sigma_v,
                                        params.mode, _thermal(params), rng)


def cds_two_phase(v_positive_v, v_negative_v, lut: CdsLut, params: CdsParams = CdsParams(),
                  rng: np.random.Generator | None = None) -> np.ndarray:
    """Signed-weight mode (SPEC 5.3): the column after the positive-weight phase is sampled on C_a, after the
    negative-weight phase on C_b; the output is their difference (V), ε and noise as in :func:`cds`."""
    return cds(np.asarray(v_positive_v, float) - np.asarray(v_negative_v, float), lut, params, rng)


def cds_energy_J(x_v, lut: CdsLut) -> np.ndarray:
    """Energy per CDS operation from VDD (J): e₀ + e₁·x + e₂·x²."""
    return eval_polynomial(lut.energy_coeffs, x_v)


# -- calibration (the block contract) ---------------------------------------------------------------
def _held(wave) -> float:
    t = wave["time_s"].to_numpy()
    return float(np.interp(T_READ_S, t, wave["v_ca_V"].to_numpy()) - np.interp(T_READ_S, t, wave["v_cb_V"].to_numpy()))


def simulate(session, task) -> dict:
    """SPICE task: one 12 ns transient per input point (and per Monte Carlo seed) inside one loaded deck."""
    x = np.asarray(task.inputs, float)
    if task.seeds:
        out = np.empty((len(task.seeds), x.size))
        for s, seed in enumerate(task.seeds):
            for j, v in enumerate(x):
                apply_point(session, seed, vdiff_v=v)
                out[s, j] = _held(transient(session, TRAN_STEP_S, T_PERIOD_S, ["ca", "cb"], point=f"vdiff_v={v:g}"))
        return {"out_V": out}
    vdd = session.deck_param("vdd_v")
    out, energy, latency = (np.empty(x.size) for _ in range(3))
    for j, v in enumerate(x):
        apply_point(session, vdiff_v=v)
        wave = transient(session, TRAN_STEP_S, T_PERIOD_S, ["ca", "cb", "vdd#branch"], point=f"vdiff_v={v:g}")
        t = wave["time_s"].to_numpy()
        out[j] = _held(wave)
        energy[j] = supply_energy_J(t, wave["i_vdd_A"].to_numpy(), vdd, (0.0, T_PERIOD_S))
        latency[j] = settling_time_s(t, wave["v_cb_V"].to_numpy(), T_PHASE_B_START_S, SETTLE_TOL_V, final=V_A_V - v,
                                     t_end_s=T_PHASE_B_END_S)
    return {"out_V": out, "energy_J": energy, "latency_s": latency}


def fit(data) -> Fit:
    """LUT of ε and σ on the fit grid; straight line (gain, offset); quadratic energy; worst settling."""
    x = data.fit_x
    out = data.nominal_fit["out_V"]
    gain, offset = np.polyfit(x, out, 1)
    arrays = {
        "lut_x_V": x,
        "lut_error_V": out - x,
        "lut_sigma_V": sigma_per_point(data.mc_fit["out_V"]) if data.mc_fit else np.zeros_like(x),
        "energy_coeffs": fit_polynomial(x, data.nominal_fit["energy_J"], 2),
        "line_coeffs": np.array([offset, gain]),
    }
    settle = data.nominal_fit["latency_s"]
    latency = float("nan") if np.isnan(settle).any() else float(settle.max())
    notes = {
        "energy": "mean over the fit grid of the VDD energy of one CDS operation (two samples, 12 ns)",
        "latency": f"worst-case phase-b track settling to within {SETTLE_TOL_V * 1e3:.2f} mV over the fit grid"
                   + ("" if not np.isnan(latency) else "; DID NOT SETTLE at x = "
                      + ", ".join(f"{v:g}" for v in x[np.isnan(settle)]) + " V"),
        "sigma": f"mismatch sigma from Monte Carlo at {data.mc_point}" if data.mc_fit else "no Monte Carlo",
        "gain_V_per_V": float(gain),
        "offset_V": float(offset),
        "charge_injection_range_mV": [float((out - x).min() * 1e3), float((out - x).max() * 1e3)],
        "v_a_V": V_A_V,
    }
    return Fit(arrays, float(np.mean(data.nominal_fit["energy_J"])), latency, notes)


def validation_model(arrays, x, rng, n_samples) -> Prediction:
    """Hard-mode mean; noisy-mode samples without kT/C (SPICE MC is mismatch only)."""
    lut = CdsLut.from_arrays(arrays)
    mean = cds(x, lut, CdsParams(mode=Mode.HARD))
    noisy = CdsParams(mode=Mode.NOISY, thermal_noise=False)
    samples = np.stack([cds(x, lut, noisy, rng) for _ in range(n_samples)])
    return Prediction(mean, samples, cds_energy_J(x, lut))


FIT_GRID = tuple(np.round(np.arange(-0.3, 0.7001, 0.2), 6))
HOLDOUT_GRID = tuple(np.round(np.arange(-0.2, 0.6001, 0.2), 6))

#: Quiescent column level of the static measurement (V): the deck's reset level va_v.
V_A_STATIC_V = 0.9
STATIC_NOTE = ("no bias: VDD feeds only the clock drivers, so both figures are leakage. static_W: VDD x I_VDD at "
               "the DC operating point with both phase clocks idle low (switches open, hold) and the column at "
               "0.9 V; leakage_W: the same with the column at 0 V.")


def static(session, task) -> dict:
    """Static power and leakage of one CDS (W), DC operating points of ``netlists/cds.cir``; the block has no
    bias, VDD feeds only the clock drivers. On: both clocks idle at their first level (low: hold), column at
    ``task.inputs[0]``: P = VDD·I_VDD. Off: the same with the column at 0 V. Both are leakage."""
    v = float(np.ravel(task.inputs)[0])
    return static_power.measure(session, ("vdd",), on={"params": {"va_v": v}}, off={"params": {"va_v": 0.0}})


SPEC = BlockSpec(
    name="cds",
    netlist="cds",
    summary="two-capacitor (102 fF MIM each) switched-capacitor CDS on low-Vt transmission gates, differential out",
    input_label="v_a_minus_v_b_V",
    fit_grid=FIT_GRID,
    holdout_grid=HOLDOUT_GRID,
    simulate=simulate,
    fit=fit,
    model=validation_model,
    output_bits=8,
    full_scale_v=(0.0, 1.8),
    resolution_note="8-bit imaging path, full scale 1.8 V (LSB 7.03 mV)",
    mc_batch=100,
    action="cds",
    mc_fit_factor=4,
    static=static,
    static_inputs=(V_A_STATIC_V,),
    static_note=STATIC_NOTE,
)

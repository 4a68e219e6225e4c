"""4T active pixel (``netlists/pixel_4t.cir``, SPEC 4.1): photodiode (modelled as an 8 fF junction
capacitance plus a photocurrent, sky130 has no pinned diode), transfer gate, floating diffusion (FD),
PMOS hard reset, NMOS source follower (SF), row select and a 5 µA column current-sink load on a 1 pF
column line.

Behavioral model of one exposure (EMVA 1288 linear camera model plus what it leaves out; SI units):

    μ_e  = QE · Φ_p · t_exp · (1 + PRNU_i)                     mean photo-electrons   [e⁻]
    μ_d  = I_dark · t_exp · (1 + DSNU_i)                        mean dark electrons    [e⁻]
    N_e  = min(Poisson(μ_e) + Poisson(μ_d), N_fw)               shot noise, full-well clipping
    v_rst = V_FD,rst + sqrt(k·T / C_FD) · z₁                    kTC reset noise on the FD  [V]
    v_sig = v_rst − CG · N_e                                    CG = q / C_FD,eff          [V/e⁻]
    out   = SF(v_rst) − SF(v_sig) + σ_read · z₂                 with CDS (the kTC term cancels)
    out   = SF(v_sig) + σ_read · z₂ + offset_i                  without CDS

SF is the source follower's DC transfer from SPICE (LUT in ``hard`` mode, its straight-line fit in
``ideal`` mode), CG the conversion gain measured in SPICE (charge moved from the photodiode to the FD by
the transfer gate over the FD swing it causes), V_FD,rst the FD reset level, N_fw the full well (the
charge that brings the FD down to the photodiode's barrier level, where transfer stops). PRNU_i, DSNU_i
and the SF offset are fixed per pixel (:func:`fixed_pattern`); read noise is output-referred.

The photon-transfer curve (variance vs mean of ``out`` over illumination) has slope
K = CG · g_SF [V/e⁻] (g_SF the SF gain), which :func:`photon_transfer` measures.

Calibration (the block contract): the input is the FD voltage, the output the column voltage (the SF
transfer, DC sweep; σ from Monte Carlo). Energy per pixel readout (J):
E(v_FD) = E_cycle + VDD · (I_VDD(v_FD) − I_VDD(V_FD,rst)) · T_sig − VDD · C_col · (SF(V_FD,rst) − SF(v_FD))
— ∫VDD·I_VDD dt over one dark pixel cycle (transient: reset, exposure, 1 µs readout window with the
column load, the column line charged from 0 V), plus the change of the column current while the signal
level is held (T_sig = 0.49 µs, DC), minus the charge the 1 pF column line returns as it falls to the
signal level (the load sinks it instead of VDD supplying it). The bright transient cycle checks
this model at one illumination (``energy_cycle_transient_bright_J`` vs ``energy_model_at_bright_signal_J``).

Size: ~410 lines, kept in one module on purpose: the EMVA model, its photon-transfer helpers and the
calibration that measures the figures the model's defaults come from (CG, full well, reset level, C_FD)
read best side by side; the calibration is ~130 lines, too little to earn a module of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numba import njit
from scipy import constants

from circuitsim import config
from circuitsim.blocks import buffers, static_power
from circuitsim.blocks.buffers import BufferLut
from circuitsim.blocks.kernels import interp_linear
from circuitsim.blocks.modes import IDEAL_CODE, Mode, parse_field
from circuitsim.calibration.contract import BlockSpec, Fit, Prediction
from circuitsim.errors import InputRangeError
from circuitsim.spice.analyses import apply_point, transient
from circuitsim.spice.measure import settling_time_s, supply_energy_J
from circuitsim.store import NOMINAL, ArtifactStore, OperatingPoint

#: The modes of the SF transfer; the pixel's own noise (shot, kTC, read, fixed pattern) is always drawn.
SF_MODES = (Mode.IDEAL, Mode.HARD)

# Timing of the transient in netlists/pixel_4t.cir (s)
T_EXPOSURE_START_S = 0.1e-6
T_READ_START_S = 1.2e-6  # RS on, RST pulse 1.2 .. 1.3 us
T_RESET_SAMPLE_S = 1.69e-6  # reset level sampled just before TX
T_TX_START_S = 1.7e-6
T_SIGNAL_SAMPLE_S = 2.19e-6  # signal level sampled just before RS off
T_READ_S = 1.0e-6  # readout window per pixel (RS on)
T_SIGNAL_WINDOW_S = T_SIGNAL_SAMPLE_S - T_TX_START_S  # the column holds the signal level
T_STOP_S = 2.3e-6
TRAN_STEP_S = 1e-9
#: Photocurrent of the bright transient and its exposure (1 us): about 10 000 electrons.
I_PH_A = 1.6e-9
T_EXPOSURE_S = 1.0e-6
#: Column line capacitance in the netlist (F)
C_COLUMN_F = 1e-12
#: Settling tolerance: half an 8-bit LSB over 1.8 V (V).
SETTLE_TOL_V = 0.5 * 1.8 / 256


@dataclass(frozen=True)
class Pixel4tParams:
    """EMVA 1288 parameters of one pixel.

    ``quantum_efficiency`` (0..1); ``conversion_gain_v_per_e``: at the FD (V/e⁻); ``full_well_e`` (e⁻);
    ``v_fd_reset_v``: FD reset level (V); ``c_fd_f``: FD capacitance for kTC (F); ``dark_current_e_per_s``
    (e⁻/s); ``read_noise_v``: output-referred temporal read noise (V rms); ``prnu_fraction`` (σ of the
    gain, fraction); ``dsnu_fraction`` (σ of the dark current, fraction); ``temperature_k`` (K);
    ``cds``: correlated double sampling on; ``sf_mode``: a :class:`~circuitsim.blocks.modes.Mode` or its
    name, ``ideal`` (straight line) or ``hard`` (LUT); there is no noisy SF mode, the pixel always draws.
    The defaults are the tt 27 °C calibration; :func:`params_from_artifact` reads any point.
    """

    quantum_efficiency: float = 0.6
    conversion_gain_v_per_e: float = 28.9e-6
    full_well_e: float = 17_100.0
    v_fd_reset_v: float = 1.837
    c_fd_f: float = 5.55e-15
    dark_current_e_per_s: float = 50.0
    read_noise_v: float = 0.3e-3
    prnu_fraction: float = 0.01
    dsnu_fraction: float = 0.2
    temperature_k: float = 300.15
    cds: bool = True
    sf_mode: Mode | str = Mode.HARD

    def __post_init__(self):
        parse_field(self, "sf_mode", SF_MODES)

    @property
    def ktc_sigma_v(self) -> float:
        """kTC reset noise on the FD, sqrt(k·T / C_FD)  [V rms]."""
        return float(np.sqrt(constants.k * self.temperature_k / self.c_fd_f))


@dataclass(frozen=True)
class FixedPattern:
    """Per-pixel fixed-pattern maps: gain factor 1 + PRNU_i, dark factor 1 + DSNU_i, SF offset (V)."""

    gain: np.ndarray
    dark: np.ndarray
    sf_offset_v: np.ndarray


def fixed_pattern(shape, params: Pixel4tParams, lut: BufferLut, rng: np.random.Generator) -> FixedPattern:
    """Draw PRNU, DSNU and SF offset maps once per sensor (the dark factor is clipped at 0)."""
    gain = 1.0 + params.prnu_fraction * rng.standard_normal(shape)
    dark = np.maximum(0.0, 1.0 + params.dsnu_fraction * rng.standard_normal(shape))
    sigma_sf = float(np.interp(params.v_fd_reset_v, lut.x_v, lut.sigma_v))
    return FixedPattern(gain, dark, sigma_sf * rng.standard_normal(shape))


def load_lut(point: OperatingPoint = NOMINAL, store: ArtifactStore | None = None) -> BufferLut:
    """The committed SF transfer LUT at ``point`` from the artifact store (hash-checked)."""
    return BufferLut.from_arrays((store or ArtifactStore()).model_arrays("pixel_4t", point))


def params_from_artifact(point: OperatingPoint = NOMINAL, store: ArtifactStore | None = None,
                         **overrides) -> Pixel4tParams:
    """Pixel parameters whose circuit values (CG, full well, reset level, C_FD) come from the calibration."""
    a = (store or ArtifactStore()).model_arrays("pixel_4t", point)
    base = Pixel4tParams(conversion_gain_v_per_e=float(a["cg_fd_V_per_e"]), full_well_e=float(a["full_well_e"]),
                         v_fd_reset_v=float(a["v_fd_reset_V"]), c_fd_f=float(a["c_fd_F"]),
                         temperature_k=float(a["temperature_K"]))
    return replace(base, **overrides)



def sf_gain(params: Pixel4tParams, lut: BufferLut) -> float:
    """Small-signal SF gain used for the output-referred conversion gain: the straight line's slope."""
    return float(lut.line_coeffs[1])


def output_conversion_gain_v_per_e(params: Pixel4tParams, lut: BufferLut) -> float:
    """Output-referred conversion gain K = CG · g_SF  [V/e⁻] (the PTC slope)."""
    return params.conversion_gain_v_per_e * sf_gain(params, lut)


# -- kernel and reference ---------------------------------------------------------------------------
@njit(fastmath=config.FASTMATH, cache=True)
def _pixel_kernel(n_photo, n_dark, z_ktc, z_read, sf_offset_v, full_well_e, cg_v_per_e, v_rst_v, ktc_sigma_v,
                  read_sigma_v, x_v, out_lut_v, offset_v, gain, sf_mode, cds, out_v):
    for i in range(n_photo.size):
        n_e = n_photo[i] + n_dark[i]
        if n_e > full_well_e:
            n_e = full_well_e
        v_rst = v_rst_v + ktc_sigma_v * z_ktc[i]
        v_sig = v_rst - cg_v_per_e * n_e
        if sf_mode == IDEAL_CODE:
            y_rst = offset_v + gain * v_rst
            y_sig = offset_v + gain * v_sig
        else:
            y_rst = interp_linear(v_rst, x_v, out_lut_v)
            y_sig = interp_linear(v_sig, x_v, out_lut_v)
        if cds:
            out_v[i] = y_rst - y_sig + read_sigma_v * z_read[i]
        else:
            out_v[i] = y_sig + read_sigma_v * z_read[i] + sf_offset_v[i]


def _check_inputs(photon_flux_per_s, exposure_s, params: Pixel4tParams):
    flux = np.ascontiguousarray(photon_flux_per_s, dtype=float)
    if flux.size and (not np.all(np.isfinite(flux)) or flux.min() < 0):
        bad = flux[~np.isfinite(flux) | (flux < 0)].ravel()[0]
        raise InputRangeError(f"photon flux = {bad:g} photons/s per pixel is outside the valid range [0, inf)")
    t = float(exposure_s)
    if not np.isfinite(t) or t <= 0:
        raise InputRangeError(f"exposure = {t:g} s is outside the valid range (0, inf) s")
    if not 0 < params.quantum_efficiency <= 1:
        raise InputRangeError(f"quantum_efficiency = {params.quantum_efficiency:g} is outside (0, 1]")
    return flux, t


def _draws(flux, t, params: Pixel4tParams, pattern: FixedPattern | None, rng: np.random.Generator):
    """Electron counts (Poisson) and the standard normals of the kTC and read noise."""
    if rng is None:
        raise ValueError("the pixel model needs a numpy.random.Generator (rng=np.random.default_rng(seed))")
    gain = 1.0 if pattern is None else pattern.gain
    dark = 1.0 if pattern is None else pattern.dark
    mu_e = params.quantum_efficiency * flux * t * gain
    mu_d = np.broadcast_to(params.dark_current_e_per_s * t * dark, flux.shape)
    # beyond ~1e15 the Poisson draw overflows; anything past a few full wells clips identically
    cap = 1e3 * params.full_well_e
    n_photo = rng.poisson(np.minimum(mu_e, cap)).astype(float)
    n_dark = rng.poisson(np.minimum(mu_d, cap)).astype(float)
    z_ktc = rng.standard_normal(flux.shape)
    z_read = rng.standard_normal(flux.shape)
    offset = np.zeros(flux.shape) if pattern is None else np.broadcast_to(pattern.sf_offset_v, flux.shape)
    return n_photo, n_dark, z_ktc, z_read, np.ascontiguousarray(offset, dtype=float)


def pixel_4t(photon_flux_per_s, exposure_s: float, lut: BufferLut, params: Pixel4tParams = Pixel4tParams(),
             rng: np.random.Generator | None = None, pattern: FixedPattern | None = None) -> np.ndarray:
    """Pixel output (V) for each pixel's photon flux (photons/s) over one exposure (s); numba kernel.

    With CDS the output is the column-voltage drop from reset to signal level (V, ≥ 0 in the mean);
    without, the column voltage at the signal level. Illumination beyond full well is clipped.
    """
    flux, t = _check_inputs(photon_flux_per_s, exposure_s, params)
    n_photo, n_dark, z_ktc, z_read, offset = _draws(flux, t, params, pattern, rng)
    out = np.empty_like(flux)
    _pixel_kernel(n_photo.ravel(), n_dark.ravel(), z_ktc.ravel(), z_read.ravel(), offset.ravel(),
                  float(params.full_well_e), float(params.conversion_gain_v_per_e), float(params.v_fd_reset_v),
                  params.ktc_sigma_v, float(params.read_noise_v), lut.x_v, lut.out_v, float(lut.line_coeffs[0]),
                  float(lut.line_coeffs[1]), params.sf_mode.code, bool(params.cds), out.ravel())
    return out


def pixel_4t_reference(photon_flux_per_s, exposure_s: float, lut: BufferLut,
                       params: Pixel4tParams = Pixel4tParams(), rng: np.random.Generator | None = None,
                       pattern: FixedPattern | None = None) -> np.ndarray:
    """Plain NumPy oracle of :func:`pixel_4t` (same draws for the same ``rng`` state)."""
    flux, t = _check_inputs(photon_flux_per_s, exposure_s, params)
    n_photo, n_dark, z_ktc, z_read, offset = _draws(flux, t, params, pattern, rng)
    n_e = np.minimum(n_photo + n_dark, params.full_well_e)
    v_rst = params.v_fd_reset_v + params.ktc_sigma_v * z_ktc
    v_sig = v_rst - params.conversion_gain_v_per_e * n_e
    if params.sf_mode == Mode.IDEAL:
        sf = lambda v: lut.line_coeffs[0] + lut.line_coeffs[1] * v  # noqa: E731
    else:
        sf = lambda v: np.interp(v, lut.x_v, lut.out_v)  # noqa: E731
    if params.cds:
        return sf(v_rst) - sf(v_sig) + params.read_noise_v * z_read
    return sf(v_sig) + params.read_noise_v * z_read + offset


def photon_transfer(photon_flux_per_s, exposure_s: float, lut: BufferLut, params: Pixel4tParams,
                    rng: np.random.Generator, frames: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Simulated photon-transfer curve of one pixel: (mean, temporal variance) of the output at each
    flux over ``frames`` exposures (V, V²). Without fixed pattern, so the variance is temporal only."""
    flux = np.asarray(photon_flux_per_s, float)
    out = pixel_4t(np.broadcast_to(flux, (frames, flux.size)).copy(), exposure_s, lut, params, rng)
    return out.mean(axis=0), out.var(axis=0, ddof=1)


def expected_ptc(electrons, lut: BufferLut, params: Pixel4tParams) -> tuple[np.ndarray, np.ndarray]:
    """Shot noise propagated through the SF's local slope (first order), for comparison with
    :func:`photon_transfer`: mean = SF(V_rst) − SF(V_rst − CG·N), var = (g(v)·CG)²·N + σ_read²  (V, V²).
    With ``sf_mode='ideal'`` g is the straight line's gain and the curve is the EMVA linear model."""
    n = np.minimum(np.asarray(electrons, float), params.full_well_e)
    v_sig = params.v_fd_reset_v - params.conversion_gain_v_per_e * n
    if params.sf_mode == Mode.IDEAL:
        g = np.full_like(v_sig, lut.line_coeffs[1])
        mean = g * params.conversion_gain_v_per_e * n
    else:
        h = 1e-4
        g = (np.interp(v_sig + h, lut.x_v, lut.out_v) - np.interp(v_sig - h, lut.x_v, lut.out_v)) / (2 * h)
        mean = np.interp(params.v_fd_reset_v, lut.x_v, lut.out_v) - np.interp(v_sig, lut.x_v, lut.out_v)
    return mean, (g * params.conversion_gain_v_per_e) ** 2 * n + params.read_noise_v**2


def ptc_slope_v_per_e(mean_v, var_v2, max_fraction_of_full_well: float = 0.7, params=None, lut=None) -> float:
    """Least-squares slope of variance vs mean (V²/V = V/e⁻) over the points below a fraction of the
    saturation mean (the linear part of the curve)."""
    mean_v, var_v2 = np.asarray(mean_v, float), np.asarray(var_v2, float)
    keep = mean_v < max_fraction_of_full_well * mean_v.max()
    return float(np.polyfit(mean_v[keep], var_v2[keep], 1)[0])


def pixel_energy_per_readout_J(v_fd_v, lut: BufferLut) -> np.ndarray:
    """Energy per pixel and frame (J): reset + exposure + readout, E₀ + E₁·v_FD + E₂·v_FD²."""
    return buffers.energy_J(v_fd_v, lut)


# -- calibration (the block contract) ---------------------------------------------------------------
def _dc(session, x):
    """SF transfer and VDD current with the FD forced (rforce = 1 Ohm)."""
    return buffers.dc_transfer(session, x, "vfd", "col")


def simulate(session, task) -> dict:
    """SPICE task. Monte Carlo: one DC sweep of the forced FD per mismatch draw. Nominal: the DC sweep,
    plus one dark and one bright pixel cycle (transients) for CG, reset level, full well, settling and
    the reset/exposure energy."""
    x = np.asarray(task.inputs, float)
    if task.seeds:
        out = np.empty((len(task.seeds), x.size))
        for s, seed in enumerate(task.seeds):
            apply_point(session, seed, rforce_ohm=1.0)
            out[s], _ = _dc(session, x)
        return {"out_V": out}
    apply_point(session, rforce_ohm=1.0)
    out, current = _dc(session, x)
    vdd = session.deck_param("vdd_v")
    cycles = {}
    for label, i_ph in (("dark", 0.0), ("bright", I_PH_A)):
        apply_point(session, rforce_ohm=1e15, iph_a=i_ph)
        wave = transient(session, TRAN_STEP_S, T_STOP_S, ["fd", "pd", "col", "vdd#branch"],
                         point=f"pixel cycle, {label}")
        cycles[label] = wave
    t = cycles["dark"]["time_s"].to_numpy()

    def at(label, node, when):
        w = cycles[label]
        return float(np.interp(when, w["time_s"].to_numpy(), w[f"v_{node}_V"].to_numpy()))

    n_e = I_PH_A * T_EXPOSURE_S / constants.e
    swing_fd = {k: at(k, "fd", T_RESET_SAMPLE_S) - at(k, "fd", T_SIGNAL_SAMPLE_S) for k in cycles}
    swing_col = {k: at(k, "col", T_RESET_SAMPLE_S) - at(k, "col", T_SIGNAL_SAMPLE_S) for k in cycles}
    cg_fd = (swing_fd["bright"] - swing_fd["dark"]) / n_e
    cg_col = (swing_col["bright"] - swing_col["dark"]) / n_e
    col_dark = cycles["dark"]["v_col_V"].to_numpy()
    settle_reset = settling_time_s(t, col_dark, T_READ_START_S, SETTLE_TOL_V, t_end_s=T_RESET_SAMPLE_S)
    wb = cycles["bright"]
    settle_signal = settling_time_s(wb["time_s"].to_numpy(), wb["v_col_V"].to_numpy(), T_TX_START_S, SETTLE_TOL_V,
                                    t_end_s=T_SIGNAL_SAMPLE_S)
    i_dark = cycles["dark"]["i_vdd_A"].to_numpy()
    e_reset = supply_energy_J(t, i_dark, vdd, (0.0, T_READ_START_S))
    e_cycle = {k: supply_energy_J(w["time_s"].to_numpy(), w["i_vdd_A"].to_numpy(), vdd, (0.0, T_STOP_S))
               for k, w in cycles.items()}
    v_fd_reset = at("dark", "fd", T_RESET_SAMPLE_S)
    i_at_reset = float(np.interp(v_fd_reset, x, current)) if x.min() <= v_fd_reset <= x.max() else current[-1]
    col_at_reset = float(np.interp(v_fd_reset, x, out))
    n = x.size
    full = lambda v: np.full(n, float(v))  # noqa: E731  (per-point arrays: the runner splits fit/held-out)
    return {
        "out_V": out,
        "i_vdd_A": current,
        # the dark cycle measured, plus the change of the column current while the signal level is held,
        # minus the charge the column line gives back as it falls from the reset to the signal level
        "energy_J": (e_cycle["dark"] + vdd * (current - i_at_reset) * T_SIGNAL_WINDOW_S
                     - vdd * C_COLUMN_F * (col_at_reset - out)),
        "latency_s": full(T_TX_START_S - T_READ_START_S + settle_signal),
        "settle_reset_s": full(settle_reset),
        "settle_signal_s": full(settle_signal),
        "cg_fd_V_per_e": full(cg_fd),
        "cg_col_V_per_e": full(cg_col),
        "v_fd_reset_V": full(v_fd_reset),
        "v_pd_reset_V": full(at("dark", "pd", T_EXPOSURE_START_S)),
        "v_col_reset_V": full(at("dark", "col", T_RESET_SAMPLE_S)),
        "e_reset_J": full(e_reset),
        "e_cycle_dark_J": full(e_cycle["dark"]),
        "e_cycle_bright_J": full(e_cycle["bright"]),
        "v_fd_signal_bright_V": full(at("bright", "fd", T_SIGNAL_SAMPLE_S)),
    }


def fit(data) -> Fit:
    """SF LUT and σ (shared buffer fit), plus the pixel's circuit figures from the nominal transients."""
    result = buffers.fit_transfer(data, op="readout")
    nom = data.nominal_fit
    scalar = {k: float(nom[k][0]) for k in ("cg_fd_V_per_e", "cg_col_V_per_e", "v_fd_reset_V", "v_pd_reset_V",
                                            "v_col_reset_V", "e_reset_J", "e_cycle_dark_J", "e_cycle_bright_J",
                                            "settle_reset_s", "settle_signal_s", "v_fd_signal_bright_V")}
    c_fd = constants.e / scalar["cg_fd_V_per_e"]
    # transfer stops once the FD has fallen to the photodiode's barrier (its reset level)
    full_well = (scalar["v_fd_reset_V"] - scalar["v_pd_reset_V"]) / scalar["cg_fd_V_per_e"]
    result.arrays.update({k: np.array(v) for k, v in scalar.items()})
    result.arrays.update({"c_fd_F": np.array(c_fd), "full_well_e": np.array(full_well),
                          "temperature_K": np.array(data.temp_c + constants.zero_Celsius)})
    e_model_bright = float(buffers.energy_J(scalar["v_fd_signal_bright_V"], BufferLut.from_arrays(result.arrays)))
    result.notes.update({
        "energy": ("per pixel and frame, integral of VDD * I_VDD over one dark pixel cycle (transient: reset, "
                   f"exposure, {T_READ_S * 1e6:g} us readout window with the column load, column line charged "
                   "from 0 V) plus VDD * (I_VDD(v_FD) - I_VDD(reset level)) over the signal window (DC), minus VDD * C_col * "
                   "(column fall from reset to signal level)"),
        "latency": (f"readout: RS on -> reset level settled ({scalar['settle_reset_s'] * 1e9:.0f} ns, sampled at "
                    f"{(T_RESET_SAMPLE_S - T_READ_START_S) * 1e9:.0f} ns), TX at {(T_TX_START_S - T_READ_START_S) * 1e9:.0f}"
                    f" ns, signal level settled to {SETTLE_TOL_V * 1e3:.2f} mV {scalar['settle_signal_s'] * 1e9:.0f} ns "
                    "after TX"),
        "conversion_gain_uV_per_e": scalar["cg_fd_V_per_e"] * 1e6,
        "conversion_gain_column_uV_per_e": scalar["cg_col_V_per_e"] * 1e6,
        "c_fd_fF": c_fd * 1e15,
        "full_well_e": full_well,
        "energy_cycle_transient_bright_J": scalar["e_cycle_bright_J"],
        "energy_model_at_bright_signal_J": e_model_bright,
        "photodiode": "modelled as an 8 fF junction capacitance + photocurrent source (no pinned diode in sky130)",
    })
    return result


def validation_model(arrays, x, rng, n_samples) -> Prediction:
    return buffers.prediction(arrays, x, rng, n_samples, "v_fd")


FIT_GRID = tuple(np.round(np.arange(1.2, 1.9001, 0.05), 6))
HOLDOUT_GRID = tuple(np.round(np.arange(1.225, 1.8751, 0.05), 6))

#: FD level of the static measurement (V): the reset level (the PMOS reset pulls FD to VDD).
V_FD_STATIC_V = 1.8
STATIC_NOTE = ("static_W: VDD x I_VDD at the DC operating point with the row selected (RS at VDD), RST and TX off, "
               "FD held at its reset level 1.8 V and the 5 uA column load on (the source follower's bias current); "
               "leakage_W: the same with the row deselected (RS at 0 V, rs_on_v = 0), the column load still on "
               "for the other rows. The column load's reference branch on vddb is shared by all columns, not "
               "included.")


def static(session, task) -> dict:
    """Static power and leakage of one pixel (W), DC operating points of ``netlists/pixel_4t.cir`` with the
    FD forced (``rforce_ohm`` = 1) to ``task.inputs[0]``. On: row selected (``rs_on_v`` = VDD, the deck's
    DC level), RST and TX at their DC (off) levels: P = VDD·I_VDD, the column load's 5 µA through the
    source follower. Off: row deselected (``rs_on_v`` = 0), so only leakage reaches the column. The load's
    reference supply ``vddb`` (shared by all columns) is recorded, not summed."""
    v = float(np.ravel(task.inputs)[0])
    vdd = session.deck_param("vdd_v")
    params = {"rforce_ohm": 1.0, "vfd_v": v}
    return static_power.measure(session, ("vdd", "vddb"), charged=("vdd",),
                                on={"params": {**params, "rs_on_v": vdd}}, off={"params": {**params, "rs_on_v": 0.0}})


SPEC = BlockSpec(
    name="pixel_4t",
    netlist="pixel_4t",
    summary="4T pixel: 8 fF photodiode model, TX, ~5.5 fF FD, PMOS reset, NMOS SF, RS, 5 uA column load on 1 pF",
    input_label="v_fd_V",
    fit_grid=FIT_GRID,
    holdout_grid=HOLDOUT_GRID,
    simulate=simulate,
    fit=fit,
    model=validation_model,
    output_bits=8,
    full_scale_v=(0.0, 1.8),
    resolution_note="8-bit imaging path, full scale 0..1.8 V (LSB 7.03 mV)",
    mc_batch=200,
    action="readout",
    mc_fit_factor=4,
    static=static,
    static_inputs=(V_FD_STATIC_V,),
    static_note=STATIC_NOTE,
)

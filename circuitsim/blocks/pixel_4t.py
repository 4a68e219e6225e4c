"""4T active pixel (``netlists/pixel_4t.cir``, SPEC 4.1): photodiode (modelled as an 8 fF junction
capacitance plus a photocurrent, sky130 has no pinned diode), low-Vt transfer gate, floating diffusion (FD),
PMOS hard reset, NMOS source follower (SF), row select and a 5 µA column current-sink load on the column
line (``ccol_f``, 1 pF by default).

What is calibrated and validated is what flows to the next block: collected electrons → the CDS output on
the column (reset level minus signal level, V), from transients of the whole pixel cycle (reset, exposure,
readout) at each electron count, at every corner and temperature, Monte Carlo at tt. The transfer is a LUT
over electrons, so it holds what a linear EMVA model leaves out and this circuit has:

- a dark offset (≈ 43 mV at tt 27 °C): the barrier reset of a non-pinned diode is incomplete, the TX keeps
  conducting sub-threshold and moves charge onto the FD at transfer even in the dark;
- incomplete transfer (measured separately: FD swing per electron over q/C_FD) and a non-linear,
  compressive response as the photodiode's barrier level and the FD's junctions move with the charge;
- soft saturation: the ``full_well_e`` figure is the knee, where the incremental gain d(out)/dN has fallen
  to half its low-signal value; beyond the grid (60 000 e, where the photodiode model nears 0 V and stops
  being a diode) the output is held at its last value.

Model of one exposure (SI units):

    μ_e = QE · Φ_p · t_exp · (1 + PRNU_i),   μ_d = I_dark · t_exp · (1 + DSNU_i)     [e⁻]
    N   = Poisson(μ_e) + Poisson(μ_d)                                                 [e⁻]
    out = LUT_CDS(N) + σ_mm(N) · z_i + σ_read · z                       with CDS        [V]
    out = V_col,rst − LUT_CDS(N) + g_SF · sqrt(k·T / C_FD) · z' + offset_i + σ_read · z   without CDS

Random numbers (circuitsim.rng): Poisson and z at each pixel's flat index in the temporal streams of
(seed, frame), z_i and the pattern maps in the instance streams of the seed (the same every frame).

LUT_CDS is the SPICE CDS output on the electron fit grid (``hard``), or its straight line
``offset + K·N`` fitted over 0 … 20 000 e (``ideal``, the EMVA linear camera with the dark offset), σ_mm the
pixel-to-pixel (fixed-pattern) spread of the CDS output from Monte Carlo (z_i drawn once per pixel,
:func:`fixed_pattern`), offset_i the spread of the column reset level (the SF's offset, non-CDS only). C_FD is
measured by an AC analysis of the FD at its reset level with the row selected (C = Im(1/Z)/ω), so the kT/C
and the conversion gain at the FD, q/C_FD, are the circuit's, not the swing per electron (which folds in
the transfer efficiency). The photon-transfer curve has slope K (ideal) or the LUT's local slope (hard).

Energy per pixel readout (J): ∫VDD·I_VDD dt over the whole transient cycle at that electron count (reset,
exposure, 1 µs readout window with the column load, the column line charged from 0 V as after a deselected
row): a LUT over electrons; the energy table's figure is the dark readout, the notes give the one at full
well. Latency: RS on → signal level settled (TX at 500 ns, then settling to half an 8-bit LSB, worst over
the fit grid). The settling of the reset and signal levels is also recorded against the column capacitance
(``settle_*`` arrays, 0.25 … 4 pF, to half an LSB at 8, 10 and 12 bit) for the row time of an array.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numba import njit, prange
from scipy import constants
from scipy.interpolate import CubicSpline

from circuitsim import config
from circuitsim import rng as rng_mod
from circuitsim.blocks import buffers, static_power
from circuitsim.blocks.kernels import interp_linear
from circuitsim.blocks.modes import IDEAL_CODE, Mode, parse_field
from circuitsim.calibration.contract import BlockSpec, Fit, Prediction
from circuitsim.errors import InputRangeError
from circuitsim.spice.analyses import ac_point, apply_point, transient
from circuitsim.spice.measure import settling_time_s, supply_energy_J
from circuitsim.store import NOMINAL, ArtifactStore, OperatingPoint

#: The modes of the transfer; the pixel's own noise (shot, read, fixed pattern) is always drawn.
SF_MODES = (Mode.IDEAL, Mode.HARD)

# Timing of the transient in netlists/pixel_4t.cir (s)
T_EXPOSURE_START_S = 0.1e-6
T_READ_START_S = 1.2e-6  # RS on, RST pulse 1.2 .. 1.3 us
T_TX_START_S = 1.7e-6  # the reset level is sampled T_SAMPLE_LEAD_S before it
T_READ_S = 1.0e-6  # readout window per pixel (RS on); the signal level is sampled T_SAMPLE_LEAD_S before RS off
T_STOP_S = 2.3e-6
TRAN_STEP_S = 1e-9
#: The deck's compressed exposure (s): iph on from 0.2 to 1.2 us; N electrons = iph · T_EXPOSURE_S / q.
T_EXPOSURE_S = 1.0e-6
#: Column line capacitance of the deck's default (F)
C_COLUMN_F = 1e-12
#: Settling tolerance of the latency: half an 8-bit LSB over 1.8 V (V).
SETTLE_TOL_V = 0.5 * 1.8 / 256
#: The column capacitances and ADC resolutions of the recorded settling (F, bit); the step is the bright
#: pixel of SETTLE_ELECTRONS (the largest swing of the linear range).
SETTLE_CCOL_F = (0.25e-12, 0.5e-12, 1e-12, 2e-12, 4e-12, 8e-12)
SETTLE_BITS = (4, 6, 8, 10, 12)
SETTLE_ELECTRONS = 20_000.0
#: The settling runs' reset-to-TX and TX-to-RS-off interval (s; the deck's t_half_s, 0.5 us in the cycle):
#: long enough for the 8 pF column to settle to 12 bit (1.8 us measured at tt 27 C; below 8 pF the figures are
#: the same to 1 ns as with a 1.5 us window, so the window does not set them).
SETTLE_HALF_WINDOW_S = 3.0e-6
#: The deck's reset-to-TX (and TX-to-RS-off) interval of the standard cycle (s).
T_HALF_S = T_TX_START_S - T_READ_START_S
#: Samples are taken this long before the next edge (TX on, RS off) (s).
T_SAMPLE_LEAD_S = 10e-9
#: The transient runs on this long after RS off (s).
T_AFTER_READ_S = T_STOP_S - T_READ_START_S - T_READ_S
#: The ideal mode's straight line is fitted over 0 .. LINEAR_MAX_E electrons (an engineering choice: the
#: range in which the FD stays above 1.2 V, where the SF is well in saturation).
LINEAR_MAX_E = 20_000.0
#: The transfer efficiency is the FD swing per electron over q/C_FD, fitted over 0 .. this many electrons.
CTE_MAX_E = 10_000.0
#: AC analysis of C_FD: frequency (Hz) and the force resistor that sets the FD's DC level (Ohm).
AC_FREQUENCY_HZ = 1e7
AC_RFORCE_OHM = 1e9
#: The DC sweep of the source follower (FD forced), for its gain at the reset level (V).
SF_SWEEP_V = tuple(np.round(np.arange(1.2, 1.9751, 0.025), 6))  # the FD resets to ~1.92 V (charge injection)
#: FD level of the static measurement (V): the reset level (the PMOS reset pulls FD to VDD).
V_FD_STATIC_V = 1.8


@dataclass(frozen=True)
class PixelDesign:
    """What differs between the pixel's decks (one per supply domain): the block and netlist name, the SF's
    DC sweep (V), the step of the settling runs (e⁻), the ideal line's and the transfer efficiency's fit
    ranges (e⁻) and the FD level of the static measurement (V). The cycle's timing and the ADC that follows
    (8 bit over 0..1.8 V, the settling tolerance) are the same."""

    block: str
    netlist: str
    sf_sweep_v: tuple
    settle_electrons: float
    linear_max_e: float
    cte_max_e: float
    v_fd_static_v: float
    #: the deck parameter that holds the RS gate's on level (V)
    rs_high_param: str = "vdd_v"


#: The 1.8 V core pixel (netlists/pixel_4t.cir).
CORE = PixelDesign("pixel_4t", "pixel_4t", SF_SWEEP_V, SETTLE_ELECTRONS, LINEAR_MAX_E, CTE_MAX_E, V_FD_STATIC_V)
#: The 3.3 V pixel (netlists/pixel_4t_3v3.cir, thick-oxide devices). It resets the FD to ~3.39 V and its CDS
#: output stays linear to ~40 000 e (tt 27 C, transients of the deck by hand: 0.50 V at 20 000 e, 1.05 V at
#: 40 000 e, 1.29 V at 60 000 e); so the settling step, the line and the transfer efficiency use twice the
#: core's electron ranges (an engineering choice: the same share of the swing), and the DC sweep covers the
#: FD from the 40 000 e signal level (~1.98 V) to above the reset level.
PIXEL_3V3 = PixelDesign("pixel_4t_3v3", "pixel_4t_3v3", tuple(np.round(np.arange(1.8, 3.4751, 0.025), 6)),
                        2 * SETTLE_ELECTRONS, 2 * LINEAR_MAX_E, 2 * CTE_MAX_E, 3.3, "rs_high_v")


@dataclass(frozen=True)
class Pixel4tParams:
    """EMVA 1288 parameters of one pixel that the deck does not contain, plus the measured circuit figures.

    ``quantum_efficiency`` (0..1); ``dark_current_e_per_s`` (e⁻/s); ``read_noise_v``: output-referred
    temporal read noise (V rms); ``prnu_fraction`` (σ of the photodiode's gain, fraction); ``dsnu_fraction``
    (σ of the dark current, fraction); ``temperature_k`` (K); ``cds``: correlated double sampling on;
    ``sf_mode``: ``ideal`` (straight line) or ``hard`` (LUT). Measured in SPICE (:func:`params_from_artifact`
    reads any point; the defaults are tt 27 °C): ``conversion_gain_v_per_e`` = q / C_FD at the FD (V/e⁻),
    ``c_fd_f`` (F, for kT/C), ``v_fd_reset_v`` (V), ``full_well_e`` (the knee, e⁻), ``transfer_efficiency``.
    """

    quantum_efficiency: float = 0.6
    conversion_gain_v_per_e: float = 30.4e-6
    full_well_e: float = 30_000.0
    v_fd_reset_v: float = 1.837
    c_fd_f: float = 5.28e-15
    transfer_efficiency: float = 0.95
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
class PixelLut:
    """The calibrated pixel: on the electron grid ``electrons_e`` (e⁻) the CDS output ``cds_v`` (V), the FD
    level at the signal sample ``fd_signal_v`` (V) and the energy per readout ``energy_J`` (J); the Monte
    Carlo σ of the CDS output ``sigma_cds_v`` on its own grid ``sigma_e``; the ideal line ``line_coeffs``
    (offset V, K V/e⁻); the column reset level ``v_col_reset_v`` and its fixed-pattern σ
    ``sigma_col_reset_v`` (V); the SF's small-signal gain at the reset level ``sf_gain`` (V/V)."""

    electrons_e: np.ndarray
    cds_v: np.ndarray
    fd_signal_v: np.ndarray
    energy_J: np.ndarray
    sigma_e: np.ndarray
    sigma_cds_v: np.ndarray
    line_coeffs: np.ndarray
    v_col_reset_v: float
    sigma_col_reset_v: float
    sf_gain: float

    @classmethod
    def from_arrays(cls, a: dict) -> "PixelLut":
        def vec(key):
            return np.ascontiguousarray(a[key], float)

        return cls(vec("lut_electrons_e"), vec("lut_cds_V"), vec("lut_fd_signal_V"), vec("lut_energy_J"),
                   vec("sigma_electrons_e"), vec("sigma_cds_V"), vec("line_coeffs"), float(a["v_col_reset_V"]),
                   float(a["sigma_col_reset_V"]), float(a["sf_gain"]))


@dataclass(frozen=True)
class FixedPattern:
    """Per-pixel fixed-pattern maps: gain factor 1 + PRNU_i, dark factor 1 + DSNU_i, the standard normal
    z_i of the CDS output's mismatch (σ_mm(N)·z_i) and the column reset offset (V, non-CDS)."""

    gain: np.ndarray
    dark: np.ndarray
    cds_z: np.ndarray
    sf_offset_v: np.ndarray


#: Counter-based streams (circuitsim.rng): the fixed pattern is an instance of the sensor (the same in every
#: frame of a seed), the temporal terms are keyed by the frame; counters are the flat (C-order) element index.
PATTERN_STREAMS = ("pixel_4t.prnu", "pixel_4t.dsnu", "pixel_4t.cds_mismatch", "pixel_4t.sf_offset")
TEMPORAL_STREAMS = ("pixel_4t.photo", "pixel_4t.dark", "pixel_4t.ktc", "pixel_4t.read")


def fixed_pattern(shape, params: Pixel4tParams, lut: PixelLut, rng) -> FixedPattern:
    """Draw PRNU, DSNU, the CDS mismatch normal and the reset-level offset maps once per sensor (the dark
    factor is clipped at 0): 1 + σ_PRNU·z₁, max(0, 1 + σ_DSNU·z₂), z₃, σ_reset·z₄, with z_j the normals of
    the instance streams :data:`PATTERN_STREAMS` of ``rng`` (a Generator, one ``integers`` call, or an integer
    seed) at each pixel's flat index."""
    seed = rng_mod.seed_of(rng)
    z = [rng_mod.normals(rng_mod.stream_key(seed, name), shape) for name in PATTERN_STREAMS]
    gain = 1.0 + params.prnu_fraction * z[0]
    dark = np.maximum(0.0, 1.0 + params.dsnu_fraction * z[1])
    return FixedPattern(gain, dark, z[2], lut.sigma_col_reset_v * z[3])


def load_lut(point: OperatingPoint = NOMINAL, store: ArtifactStore | None = None,
             block: str = CORE.block) -> PixelLut:
    """The committed pixel tables at ``point`` from the artifact store (hash-checked); ``block``:
    ``pixel_4t`` (1.8 V) or ``pixel_4t_3v3``."""
    return PixelLut.from_arrays((store or ArtifactStore()).model_arrays(block, point))


def params_from_artifact(point: OperatingPoint = NOMINAL, store: ArtifactStore | None = None,
                         block: str = CORE.block, **overrides) -> Pixel4tParams:
    """Pixel parameters whose circuit values (q/C_FD, C_FD, reset level, knee, transfer efficiency) come
    from the calibration of ``block`` at ``point``."""
    a = (store or ArtifactStore()).model_arrays(block, point)
    base = Pixel4tParams(conversion_gain_v_per_e=float(a["cg_fd_V_per_e"]), full_well_e=float(a["full_well_e"]),
                         v_fd_reset_v=float(a["v_fd_reset_V"]), c_fd_f=float(a["c_fd_F"]),
                         transfer_efficiency=float(a["transfer_efficiency"]),
                         temperature_k=float(a["temperature_K"]))
    return replace(base, **overrides)


def output_conversion_gain_v_per_e(params: Pixel4tParams, lut: PixelLut) -> float:
    """Output-referred conversion gain K [V/e⁻]: the ideal line's slope (the PTC slope in ``ideal`` mode)."""
    return float(lut.line_coeffs[1])


def expected_output_v(electrons, lut: PixelLut, params: Pixel4tParams) -> np.ndarray:
    """Noise-free CDS output (V) for ``electrons`` collected: the line (ideal) or the LUT (hard)."""
    n = np.asarray(electrons, float)
    if params.sf_mode == Mode.IDEAL:
        return lut.line_coeffs[0] + lut.line_coeffs[1] * n
    return np.interp(n, lut.electrons_e, lut.cds_v)


def fd_signal_v(electrons, lut: PixelLut) -> np.ndarray:
    """FD level at the signal sample (V) for ``electrons`` collected (SPICE LUT; held beyond the grid)."""
    return np.interp(np.asarray(electrons, float), lut.electrons_e, lut.fd_signal_v)


# -- kernel and reference ---------------------------------------------------------------------------
@njit(parallel=True, fastmath=config.FASTMATH, cache=True)
def _pixel_kernel(mu_e, mu_d, keys, cds_z, sf_offset_v, e_grid, cds_lut_v, sig_e, sig_v, line_offset_v, line_k,
                  v_col_rst_v, ktc_col_sigma_v, read_sigma_v, sf_mode, cds, out_v):
    """One exposure per element i, drawing its own numbers at counter i of the four temporal streams
    (``keys``: photo, dark, kTC, read); the pattern maps repeat over leading axes (element i % their size)."""
    n_pat = cds_z.size
    for i in prange(mu_e.size):
        n_e = float(rng_mod.poisson(keys[0], i, mu_e[i])) + float(rng_mod.poisson(keys[1], i, mu_d[i]))
        j = i % n_pat
        if sf_mode == IDEAL_CODE:
            y = line_offset_v + line_k * n_e
        else:
            y = interp_linear(n_e, e_grid, cds_lut_v) + interp_linear(n_e, sig_e, sig_v) * cds_z[j]
        z_read = rng_mod.normal(keys[3], i)
        if cds:
            out_v[i] = y + read_sigma_v * z_read
        else:
            z_ktc = rng_mod.normal(keys[2], i)
            out_v[i] = v_col_rst_v - y + ktc_col_sigma_v * z_ktc + sf_offset_v[j] + read_sigma_v * z_read


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


def _means(flux, t, params: Pixel4tParams, pattern: FixedPattern | None):
    """Poisson means (e⁻) of the photo and dark electrons, μ_e = QE·Φ·t·(1 + PRNU_i), μ_d = I_dark·t·(1 + DSNU_i),
    capped at 1000 full wells (beyond ~1e15 a Poisson draw overflows; anything past the LUT's last point is
    held there anyway)."""
    gain = 1.0 if pattern is None else pattern.gain
    dark = 1.0 if pattern is None else pattern.dark
    cap = 1e3 * params.full_well_e
    mu_e = np.minimum(params.quantum_efficiency * flux * t * gain, cap)
    mu_d = np.minimum(np.broadcast_to(params.dark_current_e_per_s * t * dark, flux.shape), cap)
    return np.ascontiguousarray(mu_e, dtype=float), np.ascontiguousarray(mu_d, dtype=float)


def _keys(rng, frame) -> np.ndarray:
    """The temporal stream keys (photo, dark, kTC, read) of ``rng`` (Generator or integer seed) and frame."""
    seed = rng_mod.seed_of(rng)  # raises ValueError without a Generator or seed
    return np.array([rng_mod.stream_key(seed, name, frame) for name in TEMPORAL_STREAMS], dtype=np.uint64)


def _pattern_maps(shape, pattern: FixedPattern | None):
    """(cds_z, sf_offset_v) flattened: the pattern's own maps when they are the trailing shape of ``shape``
    (the kernel repeats them over the leading axes), else broadcast to ``shape``; one zero without a pattern."""
    if pattern is None:
        return np.zeros(1), np.zeros(1)
    maps = [np.ascontiguousarray(getattr(pattern, n), dtype=float) for n in ("cds_z", "sf_offset_v")]
    if maps[0].shape != maps[1].shape or tuple(shape[len(shape) - maps[0].ndim:]) != maps[0].shape:
        maps = [np.ascontiguousarray(np.broadcast_to(m, shape)) for m in maps]
    return maps[0].ravel(), maps[1].ravel()


def pixel_4t(photon_flux_per_s, exposure_s: float, lut: PixelLut, params: Pixel4tParams = Pixel4tParams(),
             rng=None, pattern: FixedPattern | None = None, *, frame: int = 0) -> np.ndarray:
    """Pixel output (V) for each pixel's photon flux (photons/s) over one exposure (s); numba kernel, parallel
    over pixels, each drawing its own numbers (circuitsim.rng) at its flat index in the streams of ``rng`` (a
    Generator: one ``integers`` call; or an integer seed) and ``frame``.

    With CDS the output is the column-voltage drop from reset to signal level (V; the dark offset at zero
    light); without, the column voltage at the signal level. Beyond the LUT's last electron count the
    output is held there (soft saturation ends in the photodiode model's limit)."""
    flux, t = _check_inputs(photon_flux_per_s, exposure_s, params)
    keys = _keys(rng, frame)
    mu_e, mu_d = _means(flux, t, params, pattern)
    cds_z, offset = _pattern_maps(flux.shape, pattern)
    out = np.empty_like(flux)
    _pixel_kernel(mu_e.ravel(), mu_d.ravel(), keys, cds_z, offset,
                  lut.electrons_e, lut.cds_v, lut.sigma_e, lut.sigma_cds_v, float(lut.line_coeffs[0]),
                  float(lut.line_coeffs[1]), lut.v_col_reset_v, lut.sf_gain * params.ktc_sigma_v,
                  float(params.read_noise_v), params.sf_mode.code, bool(params.cds), out.ravel())
    return out


def pixel_4t_reference(photon_flux_per_s, exposure_s: float, lut: PixelLut,
                       params: Pixel4tParams = Pixel4tParams(), rng=None,
                       pattern: FixedPattern | None = None, *, frame: int = 0) -> np.ndarray:
    """Plain NumPy oracle of :func:`pixel_4t`: the same numbers from the same counters (circuitsim.rng's
    vectorised references), then N = N_photo + N_dark through the transfer."""
    flux, t = _check_inputs(photon_flux_per_s, exposure_s, params)
    keys = _keys(rng, frame)
    mu_e, mu_d = _means(flux, t, params, pattern)
    i = np.arange(flux.size).reshape(flux.shape)
    n_e = rng_mod.poisson_array(keys[0], i, mu_e).astype(float) + rng_mod.poisson_array(keys[1], i, mu_d).astype(float)
    y = expected_output_v(n_e, lut, params)
    if params.sf_mode != Mode.IDEAL and pattern is not None:
        y = y + np.interp(n_e, lut.sigma_e, lut.sigma_cds_v) * np.broadcast_to(pattern.cds_z, flux.shape)
    read = params.read_noise_v * rng_mod.normal_array(keys[3], i)
    if params.cds:
        return y + read
    offset = 0.0 if pattern is None else np.broadcast_to(pattern.sf_offset_v, flux.shape)
    return lut.v_col_reset_v - y + lut.sf_gain * params.ktc_sigma_v * rng_mod.normal_array(keys[2], i) + offset + read


def photon_transfer(photon_flux_per_s, exposure_s: float, lut: PixelLut, params: Pixel4tParams,
                    rng, frames: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Simulated photon-transfer curve of one pixel: (mean, temporal variance) of the output at each
    flux over ``frames`` exposures (V, V²). Without fixed pattern, so the variance is temporal only."""
    flux = np.asarray(photon_flux_per_s, float)
    out = pixel_4t(np.broadcast_to(flux, (frames, flux.size)).copy(), exposure_s, lut, params, rng)
    return out.mean(axis=0), out.var(axis=0, ddof=1)


def expected_ptc(electrons, lut: PixelLut, params: Pixel4tParams) -> tuple[np.ndarray, np.ndarray]:
    """Shot noise propagated through the transfer's local slope (first order), for comparison with
    :func:`photon_transfer`: mean = out(N), var = (d out/dN)²·N + σ_read²  (V, V²). ``ideal``: the line,
    slope K; ``hard``: the LUT's local slope."""
    n = np.asarray(electrons, float)
    mean = expected_output_v(n, lut, params)
    if params.sf_mode == Mode.IDEAL:
        slope = np.full_like(n, lut.line_coeffs[1])
    else:
        h = 1.0
        slope = (np.interp(n + h, lut.electrons_e, lut.cds_v) - np.interp(n - h, lut.electrons_e, lut.cds_v)) / (2 * h)
    return mean, slope**2 * n + params.read_noise_v**2


def ptc_slope_v_per_e(mean_v, var_v2, max_fraction_of_full_well: float = 0.7, params=None, lut=None) -> float:
    """Least-squares slope of variance vs mean (V²/V = V/e⁻) over the points below a fraction of the
    saturation mean (the linear part of the curve)."""
    mean_v, var_v2 = np.asarray(mean_v, float), np.asarray(var_v2, float)
    keep = mean_v < max_fraction_of_full_well * mean_v.max()
    return float(np.polyfit(mean_v[keep], var_v2[keep], 1)[0])


def pixel_energy_per_readout_J(electrons, lut: PixelLut) -> np.ndarray:
    """Energy per pixel and frame (J) for ``electrons`` collected: the SPICE cycle energy, interpolated."""
    return np.interp(np.asarray(electrons, float), lut.electrons_e, lut.energy_J)


# -- calibration (the block contract) ---------------------------------------------------------------
def _iph_a(electrons: float) -> float:
    """Photocurrent (A) that collects ``electrons`` over the deck's compressed exposure."""
    return float(electrons) * constants.e / T_EXPOSURE_S


def _cycle_times(t_half_s: float) -> dict:
    """Edges and samples of a cycle whose reset-to-TX and TX-to-RS-off interval is ``t_half_s`` (s)."""
    tx = T_READ_START_S + t_half_s
    rs_off = T_READ_START_S + 2 * t_half_s
    return {"tx": tx, "reset_sample": tx - T_SAMPLE_LEAD_S, "signal_sample": rs_off - T_SAMPLE_LEAD_S,
            "stop": rs_off + T_AFTER_READ_S}


def _cycle(session, electrons: float, label: str, seed: int | None = None, t_half_s: float = T_HALF_S,
           **params) -> dict:
    """One pixel cycle (transient) at ``electrons``: levels at the reset and signal samples, the FD and
    column waveforms, energy from VDD over the cycle (the standard cycle only)."""
    times = _cycle_times(t_half_s)
    apply_point(session, seed, rforce_ohm=1e15, iph_a=_iph_a(electrons), t_half_s=t_half_s, **params)
    w = transient(session, TRAN_STEP_S, times["stop"], ["fd", "col", "vdd#branch"], point=label)
    t = w["time_s"].to_numpy()
    col = w["v_col_V"].to_numpy()
    fd = w["v_fd_V"].to_numpy()
    standard = seed is None and t_half_s == T_HALF_S
    return {"t": t, "col": col, "fd": fd, "times": times,
            "col_reset": float(np.interp(times["reset_sample"], t, col)),
            "col_signal": float(np.interp(times["signal_sample"], t, col)),
            "fd_reset": float(np.interp(times["reset_sample"], t, fd)),
            "fd_signal": float(np.interp(times["signal_sample"], t, fd)),
            "energy": (supply_energy_J(t, w["i_vdd_A"].to_numpy(), session.deck_param("vdd_v"), (0.0, times["stop"]))
                       if standard else float("nan"))}


def _settling(cycle: dict, tol_v: float, follower=None) -> tuple[float, float]:
    """(reset level settled after RS on, signal level settled after TX) at tolerance ``tol_v`` (s; NaN: not
    within the window).

    With ``follower`` (the SF's DC transfer v_col = g(v_FD)), the settling error is the column's distance
    from the follower's static image of the FD, e(t) = v_col(t) − g(v_FD(t)), judged against its value at
    the sample: the column's own dynamics, not the slow drift of the FD itself (its leakage moves both
    samples' FD, a signal error, not a settling one). Without, v_col(t) against its value at the sample."""
    t, col, times = cycle["t"], cycle["col"], cycle["times"]
    err = col if follower is None else col - follower(cycle["fd"])
    return (settling_time_s(t, err, T_READ_START_S, tol_v, t_end_s=times["reset_sample"]),
            settling_time_s(t, err, times["tx"], tol_v, t_end_s=times["signal_sample"]))


def _c_fd_f(session, v_fd_reset_v: float) -> float:
    """FD capacitance (F) at its reset level, row selected: C = Im(1/Z_fd) / ω from a 1 A AC current into
    the FD (``iac``), the FD's DC level set through the 1 GOhm force resistor."""
    apply_point(session, rforce_ohm=AC_RFORCE_OHM, vfd_v=v_fd_reset_v)
    z = ac_point(session, AC_FREQUENCY_HZ, ["fd"], point="C_FD (AC)")["v_fd_V"]
    return float((1.0 / z).imag / (2 * np.pi * AC_FREQUENCY_HZ))


def simulate(session, task) -> dict:
    """SPICE task of the 1.8 V pixel (:func:`simulate_design` with :data:`CORE`)."""
    return simulate_design(session, task, CORE)


def simulate_3v3(session, task) -> dict:
    """SPICE task of the 3.3 V pixel (:func:`simulate_design` with :data:`PIXEL_3V3`)."""
    return simulate_design(session, task, PIXEL_3V3)


def simulate_design(session, task, design: PixelDesign) -> dict:
    """SPICE task; ``task.inputs`` are electron counts. Monte Carlo: one pixel cycle per electron count and
    mismatch draw (CDS output and column reset level). Nominal: the cycle at each electron count, plus the
    SF's DC sweep, C_FD by AC, and the settling against the column capacitance."""
    x = np.asarray(task.inputs, float).ravel()
    if task.seeds:
        out = np.empty((len(task.seeds), x.size))
        reset = np.empty_like(out)
        for s, seed in enumerate(task.seeds):
            for j, n in enumerate(x):
                c = _cycle(session, n, f"{n:g} e seed={seed}", seed)
                out[s, j], reset[s, j] = c["col_reset"] - c["col_signal"], c["col_reset"]
        return {"out_V": out, "col_reset_V": reset}
    cycles = [_cycle(session, n, f"{n:g} e") for n in x]
    apply_point(session, rforce_ohm=1.0)
    sf_out, _ = buffers.dc_transfer(session, np.asarray(design.sf_sweep_v), "vfd", "col")
    follower = CubicSpline(np.asarray(design.sf_sweep_v), sf_out)  # the SF's static v_col(v_FD) (the DC sweep)
    v_fd_reset = cycles[int(np.argmin(x))]["fd_reset"]
    c_fd = _c_fd_f(session, v_fd_reset)
    settle = np.full((len(SETTLE_CCOL_F), len(SETTLE_BITS), 2), np.nan)
    for i, c_col in enumerate(SETTLE_CCOL_F):
        cycle = _cycle(session, design.settle_electrons, f"settling, C_col {c_col * 1e12:g} pF",
                       t_half_s=SETTLE_HALF_WINDOW_S, ccol_f=c_col)
        for j, bits in enumerate(SETTLE_BITS):
            settle[i, j] = _settling(cycle, 0.5 * 1.8 / 2**bits, follower)
    apply_point(session, ccol_f=C_COLUMN_F, t_half_s=T_HALF_S)
    n = x.size

    def per_point(value):  # the runner splits per-point arrays into fit / held-out
        return np.broadcast_to(np.asarray(value, float), (n, *np.shape(value))).copy()

    settled = np.array([_settling(c, SETTLE_TOL_V, follower) for c in cycles])  # (points, reset / signal)
    return {
        "out_V": np.array([c["col_reset"] - c["col_signal"] for c in cycles]),
        "energy_J": np.array([c["energy"] for c in cycles]),
        "latency_s": T_TX_START_S - T_READ_START_S + settled[:, 1],
        "col_reset_V": np.array([c["col_reset"] for c in cycles]),
        "fd_reset_V": np.array([c["fd_reset"] for c in cycles]),
        "fd_signal_V": np.array([c["fd_signal"] for c in cycles]),
        "c_fd_F": per_point(c_fd),
        "sf_out_V": per_point(sf_out),
        "settle_s": per_point(settle),
    }


def _knee_e(e, cds, k) -> float:
    """Electrons at which the incremental gain d(out)/dN first falls to half the line's slope ``k``."""
    mid = 0.5 * (e[1:] + e[:-1])
    slope = np.diff(cds) / np.diff(e)
    below = np.nonzero(slope < 0.5 * k)[0]
    if below.size == 0:
        return float(e[-1])
    i = below[0]
    if i == 0:
        return float(mid[0])
    return float(np.interp(0.5 * k, [slope[i], slope[i - 1]], [mid[i], mid[i - 1]]))


def fit(data) -> Fit:
    """The fit of the 1.8 V pixel (:func:`fit_design` with :data:`CORE`)."""
    return fit_design(data, CORE)


def fit_3v3(data) -> Fit:
    """The fit of the 3.3 V pixel (:func:`fit_design` with :data:`PIXEL_3V3`)."""
    return fit_design(data, PIXEL_3V3)


def fit_design(data, design: PixelDesign) -> Fit:
    """The electron LUTs, the Monte Carlo σ, the ideal line, and the pixel's circuit figures."""
    e = np.asarray(data.fit_x, float).ravel()
    nom = data.nominal_fit
    cds = nom["out_V"]
    lin = e <= design.linear_max_e
    k, offset = np.polyfit(e[lin], cds[lin], 1)
    c_fd = float(nom["c_fd_F"][0])
    cg_fd = constants.e / c_fd
    fd_swing = nom["fd_reset_V"] - nom["fd_signal_V"]
    near = e <= design.cte_max_e
    cte = float(np.polyfit(e[near], fd_swing[near], 1)[0] / cg_fd)
    sf_x = np.asarray(design.sf_sweep_v)
    sf_out = nom["sf_out_V"][0]
    v_fd_reset = float(nom["fd_reset_V"][int(np.argmin(e))])
    # the slope of a cubic spline through the DC sweep: near the reset level (~1.92 V) the SF's gain falls by
    # 8 % per 25 mV step, so a chord or nodal-gradient slope is off by ~3 %
    sf_gain = float(CubicSpline(sf_x, sf_out)(v_fd_reset, 1))
    sigma_e = np.asarray(data.mc_fit_x if data.mc_fit_x is not None else data.fit_x, float).ravel()
    if data.mc_fit:
        sigma_cds = data.mc_fit["out_V"].std(axis=0, ddof=1)
        sigma_reset = float(np.sqrt(np.mean(data.mc_fit["col_reset_V"].var(axis=0, ddof=1))))
    else:
        sigma_cds, sigma_reset = np.zeros_like(sigma_e), 0.0
    knee = _knee_e(e, cds, k)
    energy_knee = float(np.interp(knee, e, nom["energy_J"]))
    energy_dark = float(np.interp(0.0, e, nom["energy_J"]))
    settle = nom["settle_s"][0]
    arrays = {
        "lut_electrons_e": e, "lut_cds_V": cds, "lut_fd_signal_V": nom["fd_signal_V"],
        "lut_energy_J": nom["energy_J"], "sigma_electrons_e": sigma_e, "sigma_cds_V": sigma_cds,
        "line_coeffs": np.array([offset, k]), "v_col_reset_V": np.array(float(nom["col_reset_V"][0])),
        "sigma_col_reset_V": np.array(sigma_reset), "sf_gain": np.array(sf_gain),
        "cg_fd_V_per_e": np.array(cg_fd), "c_fd_F": np.array(c_fd), "v_fd_reset_V": np.array(v_fd_reset),
        "full_well_e": np.array(knee), "transfer_efficiency": np.array(cte),
        "temperature_K": np.array(data.temp_c + constants.zero_Celsius),
        "sf_x_V": sf_x, "sf_out_V": sf_out,
        "settle_ccol_F": np.asarray(SETTLE_CCOL_F), "settle_bits": np.asarray(SETTLE_BITS, float),
        "settle_reset_s": settle[..., 0], "settle_signal_s": settle[..., 1],
    }
    latency = nom["latency_s"]
    notes = {
        "energy": ("energy_J: the dark readout (0 e), integral of VDD * I_VDD over the whole transient pixel cycle "
                   f"(reset, exposure, {T_READ_S * 1e6:g} us readout window with the 5 uA column load on "
                   f"{C_COLUMN_F * 1e12:g} pF, the column charged from 0 V as after a deselected row); per electron "
                   "count in lut_energy_J"),
        "energy_dark_J": energy_dark,
        "energy_full_well_J": energy_knee,
        "latency": (f"RS on -> TX at {(T_TX_START_S - T_READ_START_S) * 1e9:.0f} ns -> signal level settled to "
                    f"{SETTLE_TOL_V * 1e3:.2f} mV, worst over the fit grid; settle_* arrays: vs column capacitance"),
        "conversion_gain_fd_uV_per_e": cg_fd * 1e6,
        "c_fd_fF": c_fd * 1e15,
        "transfer_efficiency": cte,
        "output_gain_uV_per_e": float(k) * 1e6,
        "dark_offset_mV": float(np.interp(0.0, e, cds)) * 1e3,
        "full_well_knee_e": knee,
        "sigma": f"mismatch sigma of the CDS output from Monte Carlo at {data.mc_point}" if data.mc_fit else "none",
        "photodiode": "modelled as an 8 fF junction capacitance + photocurrent source (no pinned diode in sky130)",
    }
    return Fit(arrays, energy_dark, float("nan") if np.isnan(latency).any() else float(latency.max()), notes)


def validation_model(arrays, x, rng, n_samples) -> Prediction:
    """The model at electron counts ``x``: the LUT (hard) as the mean; samples with the per-pixel mismatch
    σ_mm(N)·z (the temporal terms are not in SPICE's Monte Carlo); energy from the energy LUT."""
    lut = PixelLut.from_arrays(arrays)
    n = np.asarray(x, float).ravel()
    mean = np.interp(n, lut.electrons_e, lut.cds_v)
    sigma = np.interp(n, lut.sigma_e, lut.sigma_cds_v)
    samples = mean + sigma * rng.standard_normal((n_samples, n.size)) if n_samples else None
    return Prediction(mean, samples, pixel_energy_per_readout_J(n, lut))


#: Electron counts (e⁻): fit grid 1000 e apart through the knee of the response (15 000 .. 30 000 e at tt),
#: where the incremental gain falls steeply; held-out points between fit points; the Monte Carlo grids
#: dense there too, as the σ of the output peaks where each pixel's own knee falls.
FIT_GRID = (0.0, 1000.0, 2500.0, 5000.0, 7500.0, 10000.0, 12500.0, *np.arange(15000.0, 30001.0, 1000.0).tolist(),
            32500.0, 35000.0, 37500.0, 40000.0, 45000.0, 50000.0, 55000.0, 60000.0)
HOLDOUT_GRID = (500.0, 1750.0, 3750.0, 6250.0, 8750.0, 11250.0, 13750.0, 15500.0, 17500.0, 19500.0, 20500.0,
                21500.0, 22500.0, 23500.0, 25500.0, 27500.0, 29500.0, 31250.0, 33750.0, 36250.0, 38750.0, 42500.0,
                47500.0, 52500.0, 57500.0)
#: (1000 e apart from 18 000 to 22 000 e: at tt the σ rises from 2.5 to 7 mV between 18 000 and 21 000 e, and a
#: 3000 e step there put the interpolated σ 25 % above SPICE's at 19 500 e.)
MC_FIT_GRID = (0.0, 7500.0, 15000.0, 18000.0, 19000.0, 20000.0, 21000.0, 22000.0, 24000.0, 27000.0, 35000.0,
               47500.0, 60000.0)
MC_HOLDOUT_GRID = (3750.0, 12000.0, 19500.0, 22500.0, 25500.0, 31000.0, 41000.0, 53750.0)



def static_note(design: PixelDesign) -> str:
    """What the static figures of ``design`` are."""
    rs = "VDD" if design.rs_high_param == "vdd_v" else f"the deck's {design.rs_high_param}"
    return (f"static_W: VDD x I_VDD at the DC operating point with the row selected (RS at {rs}), RST and TX off, "
            f"FD held at its reset level {design.v_fd_static_v:g} V and the 5 uA column load on (the source "
            "follower's bias current); leakage_W: the same with the row deselected (RS at 0 V, rs_on_v = 0), the "
            "column load still on for the other rows. The column load's reference branch on vddb is shared by "
            "all columns, not included.")


STATIC_NOTE = static_note(CORE)


def static(session, task) -> dict:
    """Static power and leakage of the 1.8 V pixel (:func:`static_design` with :data:`CORE`)."""
    return static_design(session, task, CORE)


def static_3v3(session, task) -> dict:
    """Static power and leakage of the 3.3 V pixel (:func:`static_design` with :data:`PIXEL_3V3`)."""
    return static_design(session, task, PIXEL_3V3)


def static_design(session, task, design: PixelDesign) -> dict:
    """Static power and leakage of one pixel (W), DC operating points of ``netlists/pixel_4t.cir`` with the
    FD forced (``rforce_ohm`` = 1) to ``task.inputs[0]``. On: row selected (``rs_on_v`` = the RS gate's
    on level, VDD or the deck's boosted ``rs_high_v``), RST and TX at their DC (off) levels: P = VDD·I_VDD, the column load's 5 µA through the
    source follower. Off: row deselected (``rs_on_v`` = 0), so only leakage reaches the column. The load's
    reference supply ``vddb`` (shared by all columns) is recorded, not summed."""
    v = float(np.ravel(task.inputs)[0])
    high = session.deck_param(design.rs_high_param)
    params = {"rforce_ohm": 1.0, "vfd_v": v}
    return static_power.measure(session, ("vdd", "vddb"), charged=("vdd",),
                                on={"params": {**params, "rs_on_v": high}}, off={"params": {**params, "rs_on_v": 0.0}})


SPEC = BlockSpec(
    name="pixel_4t",
    netlist="pixel_4t",
    summary="4T pixel: 8 fF photodiode model, low-Vt TX, ~5.3 fF FD, PMOS reset, NMOS SF, RS, 5 uA load on 1 pF",
    input_label="electrons",
    fit_grid=FIT_GRID,
    holdout_grid=HOLDOUT_GRID,
    simulate=simulate,
    fit=fit,
    model=validation_model,
    output_bits=8,
    full_scale_v=(0.0, 1.8),
    resolution_note="electrons -> CDS column output, 8-bit imaging path over 0..1.8 V (LSB 7.03 mV)",
    mc_batch=50,
    action="readout",
    mc_fit_factor=2,
    mc_fit_grid=MC_FIT_GRID,
    mc_holdout_grid=MC_HOLDOUT_GRID,
    static=static,
    static_inputs=(V_FD_STATIC_V,),
    static_note=STATIC_NOTE,
)

#: The 3.3 V pixel's electron grids: the core's, twice as far (its swing reaches about twice the charge),
#: up to 100 000 e: the photodiode model resets to ~2.23 V on 8 fF (~111 000 e at tt 27 C) and empties
#: beyond. The first calibration took the core's grids to 120 000 e: held-out points at 95 000 and 115 000 e
#: between fit points 10 000 e apart, where the response bends as the photodiode empties, were 0.47-0.64 LSB
#: off; so 87 500, 92 500 and 97 500 e are fit points too.
_LIMIT_3V3_E = 100_000.0
FIT_GRID_3V3 = tuple(sorted({2 * n for n in FIT_GRID if 2 * n <= _LIMIT_3V3_E} | {87_500.0, 92_500.0, 97_500.0}))
HOLDOUT_GRID_3V3 = tuple(2 * n for n in HOLDOUT_GRID if 2 * n < _LIMIT_3V3_E)
MC_FIT_GRID_3V3 = tuple(2 * n for n in MC_FIT_GRID if 2 * n < _LIMIT_3V3_E) + (_LIMIT_3V3_E,)
MC_HOLDOUT_GRID_3V3 = tuple(2 * n for n in MC_HOLDOUT_GRID if 2 * n < _LIMIT_3V3_E) + (97_000.0,)

SPEC_3V3 = replace(
    SPEC,
    name=PIXEL_3V3.block,
    netlist=PIXEL_3V3.netlist,
    summary="4T pixel on the 3.3 V supply domain: thick-oxide (g5v0d10v5) TX, PMOS reset, SF and RS, 5 uA load",
    fit_grid=FIT_GRID_3V3,
    holdout_grid=HOLDOUT_GRID_3V3,
    simulate=simulate_3v3,
    fit=fit_3v3,
    static=static_3v3,
    mc_fit_grid=MC_FIT_GRID_3V3,
    mc_holdout_grid=MC_HOLDOUT_GRID_3V3,
    static_inputs=(PIXEL_3V3.v_fd_static_v,),
    static_note=static_note(PIXEL_3V3),
)

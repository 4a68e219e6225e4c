"""LeCA switched-capacitor multiplier (SCM) with differential o-buffers (``netlists/scm.cir``, SPEC 4.4).

One MAC (cycle i) of the 5-bit weight word w = [sign, m3..m0] on the input v_in (the PSF output), V
and F in SI units. The sampling array is binary weighted, C_s(m) = m·C_u (C_u = 9.245 fF, 15 C_u = 139 fF);
the sign bit steers the sampled charge to the positive (sign 0) or negative (sign 1) o-buffer, C_out each.
Ideal charge sharing (LeCA Eq. 3) on the receiving buffer, the other one unchanged:

    V_out[i] = (C_s·(2·V_CM − v_in) + C_out·V_out[i−1]) / (C_out + C_s)

The block's output is the differential o-buffer voltage v_d = V_outp − V_outn (what the ADC converts).
Calibrated model of a single MAC from reset (both buffers at V_CM):

    v_d = Eq3_d(v_in, w) + ε(v_in, w) + σ(v_in, w)·z,    z ~ N(0, 1)

ε (incomplete transfer, charge injection and clock feed-through of the transistor switches, parasitic
capacitance) and σ (capacitor and switch mismatch) are LUTs on the grid v_in × all 32 weight words,
from nominal SPICE and Monte Carlo; linear interpolation in v_in, exact in w. Modes: ``ideal`` (Eq. 3),
``hard`` (+ ε), ``noisy`` (+ ε + σ·z and kT/C: each o-buffer's reset kT/C_out, then the sampling and
transfer noise of every MAC on the receiving buffer, :func:`thermal_sigma_v`).
For a sequence of MACs (one PE row) :func:`scm_accumulate` applies Eq. 3 per buffer, starts from the reset
pedestal and adds each MAC's own injection (from the single-ended LUTs ε_p, ε_n), assuming the injected
charge does not depend on the buffer's previous voltage.

Energy per MAC (J): ∫VDD·I_VDD dt (switch drivers) + VDD·max(Q_CM, 0), Q_CM the net charge the V_CM
reference delivers (a buffer on VDD behind a decoupling capacitor replenishes the net charge; sinking
costs VDD nothing), over one 15 ns MAC cycle; a LUT on the same grid, linear in
v_in. Latency per MAC 15 ns (6 cycles at 400 MHz).

The SPICE driver of ``netlists/scm.cir``, the fit of these tables and the block's ``SPEC`` are in
:mod:`circuitsim.blocks.scm_calibration` (which imports this module, never the reverse).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy import constants

from circuitsim import config
from circuitsim.blocks.kernels import check_range, interp_linear_column
from circuitsim.blocks.modes import HARD_CODE, NOISY_CODE, Mode, parse_field
from circuitsim.errors import InputRangeError
from circuitsim.store import NOMINAL, ArtifactStore, OperatingPoint

N_BITS = 4
N_WORDS = 32


def word_parts(w):
    """(sign, magnitude) of 5-bit weight words: bit 4 is the sign (1 = negative), bits 3..0 the magnitude."""
    w = np.asarray(w).astype(np.int64)
    return (w >> 4) & 1, w & 15


def signed_weight(w):
    """The signed integer weight of 5-bit words: −15 … +15 (words 0 and 16 are both 0)."""
    sign, mag = word_parts(w)
    return np.where(sign == 1, -mag, mag)


@dataclass(frozen=True)
class ScmParams:
    """Capacitances (F), V_CM (V), temperature (K) for kT/C, ``mode`` (a :class:`~circuitsim.blocks.modes.Mode`
    or its name: ideal | hard | noisy), thermal noise on/off.

    ``c_unit_f`` = 2 fF/µm²·(2.15 µm)² (the 2 µm MIM of bit 0), ``c_out_f`` = 2 fF/µm²·(8.22 µm)².
    """

    c_unit_f: float = 2e-15 * (2.0 + 0.15) ** 2
    c_out_f: float = 2e-15 * (8.07 + 0.15) ** 2
    v_cm_v: float = 0.8
    temperature_k: float = 300.15
    mode: Mode | str = Mode.NOISY
    thermal_noise: bool = True

    def __post_init__(self):
        parse_field(self)


@dataclass(frozen=True)
class ScmLut:
    """Calibrated tables on v_in (V) × 32 words: differential error ε, single-ended errors ε_p, ε_n
    (V, shape (n_v, 32)), energy per MAC (J, shape (n_v, 32)), latency per MAC (s); the mismatch σ (V) on
    its own, coarser Monte Carlo axis ``sigma_x_v`` (shape (n_σ, 32); ``None`` = the same axis ``x_v``)."""

    x_v: np.ndarray
    error_v: np.ndarray
    sigma_v: np.ndarray
    error_p_v: np.ndarray
    error_n_v: np.ndarray
    energy_J: np.ndarray
    latency_s: float
    sigma_x_v: np.ndarray | None = None

    @property
    def sigma_axis(self) -> np.ndarray:
        """The v_in axis (V) of ``sigma_v``."""
        return self.x_v if self.sigma_x_v is None else self.sigma_x_v

    @classmethod
    def from_arrays(cls, arrays: dict) -> "ScmLut":
        def a(key):
            return np.ascontiguousarray(arrays[key], float)

        return cls(a("lut_x_V"), a("lut_error_V"), a("lut_sigma_V"), a("lut_error_p_V"), a("lut_error_n_V"),
                   a("lut_energy_J"), float(arrays["latency_s"]),
                   a("lut_sigma_x_V") if "lut_sigma_x_V" in arrays else None)


def load_lut(point: OperatingPoint = NOMINAL, store: ArtifactStore | None = None) -> ScmLut:
    """The committed calibration of this block at ``point`` from the artifact store (hash-checked; an
    uncalibrated point is refused with the calibrated ones)."""
    return ScmLut.from_arrays((store or ArtifactStore()).model_arrays("scm", point))


# -- Eq. 3 and the kernels --------------------------------------------------------------------------
def eq3(v_in_v, c_s_f, v_prev_v, c_out_f, v_cm_v):
    """LeCA Eq. 3: (C_s·(2·V_CM − v_in) + C_out·V_prev) / (C_out + C_s)  [V]."""
    return (c_s_f * (2 * v_cm_v - v_in_v) + c_out_f * v_prev_v) / (c_out_f + c_s_f)


@njit(fastmath=config.FASTMATH, cache=True)
def _scm_mac_kernel(v_in_v, words, x_v, error_v, sigma_x_v, sigma_v, c_unit_f, c_out_f, v_cm_v, thermal_v, z_mm, z_th,
                    mode, out_v):
    """Single MAC from reset: differential output v_p − v_n per (v_in, word)."""
    for i in range(v_in_v.size):
        w = words[i]
        mag = w & 15
        sign = 1.0 - 2.0 * ((w >> 4) & 1)
        c_s = mag * c_unit_f
        y = sign * (c_s * (2.0 * v_cm_v - v_in_v[i]) + c_out_f * v_cm_v) / (c_out_f + c_s) - sign * v_cm_v
        if mode >= HARD_CODE:
            y += interp_linear_column(v_in_v[i], x_v, error_v, w)
        if mode == NOISY_CODE:
            y += interp_linear_column(v_in_v[i], sigma_x_v, sigma_v, w) * z_mm[i] + thermal_v[i] * z_th[i]
        out_v[i] = y


def reset_sigma_v(params: ScmParams) -> float:
    """kT/C of an o-buffer after its reset switch opens (V rms): σ_r = sqrt(kT/C_out); 0 with the thermal
    noise off. Each buffer carries it into every MAC of its row (Eq. 3 keeps the share C_out/(C_s + C_out))."""
    return float(np.sqrt(constants.k * params.temperature_k / params.c_out_f)) if params.thermal_noise else 0.0


def thermal_sigma_v(words, params: ScmParams) -> np.ndarray:
    """kT/C a MAC adds to the receiving o-buffer per 5-bit weight word (V rms), beyond what Eq. 3 carries over
    from the buffer's previous voltage. Charge conservation on the island of C_s's top plate and C_out
    (C_t = C_s + C_out, C_s = |w|·C_u): the charge sampled on C_s has variance kT·C_s and reaches the buffer
    as kT/C_s·(C_s/C_t)²; opening the transfer switch freezes the loop charge through C_s in series with
    C_out (variance kT·C_s·C_out/C_t by equipartition), which leaves kT·C_s/(C_out·C_t) on C_out:

        σ_th² = kT·C_s/C_t² + kT·C_s/(C_out·C_t);    0 for a zero weight (never connected).

    With the buffer's reset kT/C_out carried as (C_out/C_t)², the buffer holds kT/C_out after every MAC
    (the two terms above sum with it to kT/C_out exactly). Temporal: drawn per MAC in the noisy mode when
    ``params.thermal_noise`` is on."""
    _, mag = word_parts(words)
    c_s = mag * params.c_unit_f
    c_t = c_s + params.c_out_f
    kt = constants.k * params.temperature_k
    return np.sqrt(kt * c_s / c_t**2 + kt * c_s / (params.c_out_f * c_t))


def mac_thermal_sigma_v(words, params: ScmParams) -> np.ndarray:
    """Temporal σ of the differential output after one MAC from reset (V rms): the receiving buffer holds
    kT/C_out (its reset noise carried plus :func:`thermal_sigma_v`), the other one its reset kT/C_out, so
    σ_d² = 2·kT/C_out for every word, zero weights included."""
    fresh = thermal_sigma_v(words, params)
    _, mag = word_parts(words)
    carried = reset_sigma_v(params) * params.c_out_f / (mag * params.c_unit_f + params.c_out_f)
    return np.sqrt(fresh**2 + carried**2 + reset_sigma_v(params) ** 2)


def _validated(v_in_v, words, lut: ScmLut, params: ScmParams):
    v = np.ascontiguousarray(v_in_v, dtype=float)
    w_arr = np.asarray(words)
    if not np.issubdtype(w_arr.dtype, np.integer) and not np.all(np.mod(w_arr, 1) == 0):
        raise InputRangeError(f"weight words must be integers 0..{N_WORDS - 1}, got {w_arr.ravel()[0]!r}")
    w = np.ascontiguousarray(np.broadcast_to(w_arr, v.shape), dtype=np.int64)
    check_range("v_in", v, lut.x_v[0], lut.x_v[-1], "V")
    check_range("weight word", w, 0, N_WORDS - 1, "(5-bit: sign, 4-bit magnitude)")
    return v, w


def _draws(shape, params: ScmParams, rng):
    if params.mode != Mode.NOISY:
        return np.zeros(shape), np.zeros(shape)
    if rng is None:
        raise ValueError("noisy mode needs a numpy.random.Generator (rng=np.random.default_rng(seed))")
    z_mm = rng.standard_normal(shape)
    z_th = rng.standard_normal(shape) if params.thermal_noise else np.zeros(shape)
    return z_mm, z_th


def scm_mac(v_in_v, words, lut: ScmLut, params: ScmParams = ScmParams(), rng=None) -> np.ndarray:
    """Differential o-buffer voltage after one MAC from reset (V), per (v_in, 5-bit word); numba kernel."""
    v, w = _validated(v_in_v, words, lut, params)
    z_mm, z_th = _draws(v.shape, params, rng)
    thermal = mac_thermal_sigma_v(w, params) if params.thermal_noise else np.zeros(v.shape)
    out = np.empty_like(v)
    _scm_mac_kernel(v.ravel(), w.ravel(), lut.x_v, lut.error_v, np.ascontiguousarray(lut.sigma_axis, float),
                    lut.sigma_v, params.c_unit_f, params.c_out_f,
                    params.v_cm_v, np.ascontiguousarray(thermal, float).ravel(), z_mm.ravel(), z_th.ravel(),
                    params.mode.code, out.ravel())
    return out


def _interp_columns(v, w, x_v, table):
    out = np.empty(v.shape)
    for word in np.unique(w):
        sel = w == word
        out[sel] = np.interp(v[sel], x_v, table[:, word])
    return out


def scm_mac_reference(v_in_v, words, lut: ScmLut, params: ScmParams = ScmParams(), rng=None) -> np.ndarray:
    """Plain NumPy oracle of :func:`scm_mac` (same draws for the same ``rng`` state)."""
    v, w = _validated(v_in_v, words, lut, params)
    z_mm, z_th = _draws(v.shape, params, rng)
    sign, mag = word_parts(w)
    c_s = mag * params.c_unit_f
    s = np.where(sign == 1, -1.0, 1.0)
    out = s * (eq3(v, c_s, params.v_cm_v, params.c_out_f, params.v_cm_v) - params.v_cm_v)
    if params.mode == Mode.IDEAL:
        return out
    out = out + _interp_columns(v, w, lut.x_v, lut.error_v)
    if params.mode == Mode.NOISY:
        thermal = mac_thermal_sigma_v(w, params) if params.thermal_noise else 0.0
        out = out + _interp_columns(v, w, lut.sigma_axis, lut.sigma_v) * z_mm + thermal * z_th
    return out


def scm_accumulate(v_in_v, words, lut: ScmLut, params: ScmParams = ScmParams(), rng=None, draws=None):
    """A sequence of MACs (one PE row) from reset: (v_p, v_n) after each MAC, arrays of shape (..., n_macs).

    Each MAC applies Eq. 3 to the receiving buffer. Hard/noisy modes: the reset leaves each buffer at
    V_CM + ρ (ρ_p, ρ_n: the reset switch's pedestal, the single-ended error of the zero word); each MAC
    then adds its own injection δ = ε(v_in, w) − ρ·k, where ε is the single-ended error of that MAC from
    reset and k = C_out/(C_out + C_s) on the receiving buffer (the share of ρ that Eq. 3 already carries
    over), 1 on the other one. δ is assumed independent of the buffer's previous voltage. Noisy mode adds
    the mismatch σ of the differential LUT, each buffer's reset kT/C_out (:func:`reset_sigma_v`) and every
    MAC's kT/C on the receiving buffer (:func:`thermal_sigma_v`). ``draws`` = (z_mm, z_th, z_reset): standard
    normals, z_mm and z_th broadcastable to the input's shape, z_reset to ``shape[:-1] + (2,)`` (buffer p,
    n); replaces drawing them from ``rng`` (a frame simulation draws the mismatch once per PE instance).
    """
    v, w = _validated(v_in_v, words, lut, params)
    if draws is None:
        z_mm, z_th = _draws(v.shape, params, rng)
        reset_shape = v.shape[:-1] + (2,)
        noisy = params.mode == Mode.NOISY and params.thermal_noise
        z_reset = rng.standard_normal(reset_shape) if noisy else np.zeros(reset_shape)
    else:
        if len(draws) != 3:
            raise ValueError("draws must be (z_mm, z_th, z_reset): the reset kT/C of both o-buffers too")
        z_mm, z_th = (np.broadcast_to(d, v.shape) for d in draws[:2])
        z_reset = np.broadcast_to(draws[2], v.shape[:-1] + (2,))
    sign, mag = word_parts(w)
    c_s = mag * params.c_unit_f
    hard = params.mode != Mode.IDEAL
    rho_p = float(np.mean(lut.error_p_v[:, [0, 16]])) if hard else 0.0
    rho_n = float(np.mean(lut.error_n_v[:, [0, 16]])) if hard else 0.0
    vp = np.full(v.shape[:-1], params.v_cm_v + rho_p)
    vn = np.full(v.shape[:-1], params.v_cm_v + rho_n)
    if params.mode == Mode.NOISY:
        vp = vp + reset_sigma_v(params) * z_reset[..., 0]
        vn = vn + reset_sigma_v(params) * z_reset[..., 1]
    out_p, out_n = np.empty(v.shape), np.empty(v.shape)
    for k in range(v.shape[-1]):
        neg = sign[..., k] == 1
        recv = np.where(neg, vn, vp)
        new = eq3(v[..., k], c_s[..., k], recv, params.c_out_f, params.v_cm_v)
        vp = np.where(neg, vp, new)
        vn = np.where(neg, new, vn)
        if hard:
            vk, wk = v[..., k], w[..., k]
            share = params.c_out_f / (params.c_out_f + c_s[..., k])
            vp = vp + _interp_columns(vk, wk, lut.x_v, lut.error_p_v) - rho_p * np.where(neg, 1.0, share)
            vn = vn + _interp_columns(vk, wk, lut.x_v, lut.error_n_v) - rho_n * np.where(neg, share, 1.0)
            if params.mode == Mode.NOISY:
                thermal = thermal_sigma_v(wk, params) if params.thermal_noise else 0.0
                d = _interp_columns(vk, wk, lut.sigma_axis, lut.sigma_v) * z_mm[..., k] + thermal * z_th[..., k]
                vp = vp + np.where(neg, 0.0, d)
                vn = vn + np.where(neg, d, 0.0)
        out_p[..., k], out_n[..., k] = vp, vn
    return out_p, out_n


def scm_energy_per_mac_J(v_in_v, words, lut: ScmLut) -> np.ndarray:
    """Energy per MAC (J): the energy LUT of the word, linear in v_in (drivers + V_CM reference)."""
    v, w = _validated(v_in_v, words, lut, ScmParams(mode=Mode.HARD))
    return _interp_columns(v, w, lut.x_v, lut.energy_J)

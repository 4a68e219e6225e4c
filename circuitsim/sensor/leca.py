"""Frame-level simulation of the LeCA compressive sensor (SPEC 5.2) from the calibrated block models:

    raw Bayer image (448 x 448, RGGB) -> 4T pixel (photon / dark / read noise, CDS)
      -> i-buffer + PSF -> 16 SCM MACs per output (one 4 x 4 Bayer block, Eq. 3 on the o-buffer pair)
      -> FVF on each o-buffer -> differential ADC (Q_bit)

Array mapping: 112 column-parallel PEs, PE ``bx`` serves Bayer columns 4·bx .. 4·bx+3 and processes the
112 block rows one after the other; a PE makes 4 outputs per pass, so N_ch > 4 reads the pixel rows again
(repetitive readout: new temporal noise, same fixed pattern). Each output accumulates its 16 MACs in
row order, then column order (the input-stationary dataflow: per pixel row, 4 inputs x 4 kernels).

Noise: the instance-to-instance σ of each block (Monte Carlo LUTs; the SCM's on its own Monte Carlo grid)
is drawn once per PE (the PEs are
column-parallel, so it is column fixed-pattern noise shared by all block rows); kT/C noise is drawn per
operation. The pixel's PRNU/DSNU/SF offset are drawn once per pixel. Every number comes from circuitsim.rng,
a function of (seed, stream, frame, element index): the kernels draw their own inside the prange loops and
the references the same from the same counters (:class:`Draws` gives the layout). Modes
(:class:`~circuitsim.blocks.modes.Mode`): ``ideal`` (buffer lines, Eq. 3, no noise), ``hard`` (calibrated
LUTs, no noise), ``noisy`` (LUTs + all noise).

Interface choices (V): the CDS output ΔV ≥ 0 is written to the i-buffer as v_pix = V_PIX_DARK − ΔV, so a
dark pixel sits at the top of the PSF's input range and the PSF output stays inside the SCM's range; the
ADC converts FVF(v_p) − FVF(v_n) over ±``adc_full_scale_v``.

Why one module of ~425 lines: the PE chain's numba kernel, its NumPy reference and the frame driver must
change together (the tests hold them equal).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from numba import njit, prange

from circuitsim import config
from circuitsim import rng as rng_mod
from circuitsim.blocks import fvf as fvf_block
from circuitsim.blocks import pixel_4t as pixel_block
from circuitsim.blocks import psf as psf_block
from circuitsim.blocks import scm as scm_block
from circuitsim.blocks.kernels import at_segment, at_segment_row, segment
from circuitsim.blocks.modes import HARD_CODE, IDEAL_CODE, NOISY_CODE, Mode, parse_field
from circuitsim.errors import InputRangeError
from circuitsim.store import NOMINAL, ArtifactStore, OperatingPoint

ARRAY_ROWS = ARRAY_COLS = 448
BLOCK = 4
OUTPUTS_PER_PASS = 4
MACS = BLOCK * BLOCK
#: i-buffer level of a dark pixel (V), fixed at the tt design point: the PSF maps 0.945 V to 1.367 V,
#: 5 σ of PSF mismatch (6 mV) below the top of the SCM's calibrated input range (1.4 V).
V_PIX_DARK_V = 0.945
#: Mismatch margin (in σ of the PSF) kept between the PSF output and the SCM's calibrated range.
PSF_MARGIN_SIGMA = 5.0
Q_BITS = (1.5, 2, 3, 4)
#: Most output channels one simulated frame may have: 16 passes of repetitive readout. A frame holds
#: ~3 MB and takes ~0.15 s per channel (448 x 448 array); the accounting engine (``circuitsim report`` /
#: ``circuitsim sweep``) prices larger N_ch without simulating them.
MAX_CHANNELS = 64


def check_channels(n_ch) -> int:
    """``n_ch`` as an int in 1..MAX_CHANNELS, else :class:`InputRangeError` saying what to do."""
    if isinstance(n_ch, bool) or not isinstance(n_ch, (int, np.integer)) or n_ch < 1:
        raise InputRangeError(f"N_ch must be an integer >= 1 (output channels), got {n_ch!r}")
    if n_ch > MAX_CHANNELS:
        raise InputRangeError(f"N_ch = {n_ch} is above the {MAX_CHANNELS} channels a simulated LeCA frame may have "
                              "(16 passes of repetitive readout; ~3 MB and ~0.15 s per channel); simulate at most "
                              f"{MAX_CHANNELS}, or price larger N_ch without simulating: circuitsim sweep leca-4x4 "
                              "--param N_ch=...")
    return int(n_ch)


@dataclass(frozen=True)
class LecaConfig:
    """One LeCA encoder configuration. ``weights``: signed Bayer-domain kernels (N_ch, 4, 4), integers in
    −15..15 (sign + 4-bit magnitude); ``q_bits`` in 1.5, 2, 3, 4; exposure (s) and the photon flux (photons/s)
    of a pixel at image value 1.0; ADC full scale ±``adc_full_scale_v`` (V) on the differential output."""

    weights: np.ndarray
    q_bits: float = 4
    exposure_s: float = 10e-3
    max_flux_per_s: float = 2.0e6
    adc_full_scale_v: float = 0.5
    mode: Mode | str = Mode.NOISY
    point: OperatingPoint = NOMINAL

    def __post_init__(self):
        w = np.asarray(self.weights)
        if w.ndim != 3 or w.shape[1:] != (BLOCK, BLOCK) or w.shape[0] < 1:
            raise InputRangeError(f"weights must have shape (N_ch, 4, 4), got {w.shape}")
        check_channels(w.shape[0])
        if not np.issubdtype(w.dtype, np.integer) or np.abs(w).max() > 15:
            raise InputRangeError("weights must be integers in -15..15 (sign + 4-bit magnitude)")
        if self.q_bits not in Q_BITS:
            raise InputRangeError(f"q_bits must be one of {', '.join(map(str, Q_BITS))}, got {self.q_bits}")
        parse_field(self)
        if self.exposure_s <= 0 or self.max_flux_per_s < 0 or self.adc_full_scale_v <= 0:
            raise InputRangeError("exposure_s and adc_full_scale_v must be > 0 and max_flux_per_s >= 0")

    @property
    def n_ch(self) -> int:
        return int(np.asarray(self.weights).shape[0])

    @property
    def passes(self) -> int:
        """Pixel readouts per frame: ceil(N_ch / 4)."""
        return -(-self.n_ch // OUTPUTS_PER_PASS)

    @property
    def levels(self) -> int:
        return 3 if self.q_bits == 1.5 else 2 ** int(self.q_bits)


def rgb_kernel_to_bayer(kernel_rgb: np.ndarray) -> np.ndarray:
    """(N_ch, 3, 2, 2) RGB kernels (stride-2 conv on the 224 x 224 x 3 image) -> (N_ch, 4, 4) Bayer kernels:
    quad (i, j) of the 4 x 4 RGGB block gets R at (2i, 2j), G halved at (2i, 2j+1) and (2i+1, 2j), B at
    (2i+1, 2j+1), as LeCA maps its 2 x 2 x 3 kernel onto raw pixels. Rounded to integers."""
    k = np.asarray(kernel_rgb, float)
    if k.ndim != 4 or k.shape[1:] != (3, 2, 2):
        raise InputRangeError(f"RGB kernels must have shape (N_ch, 3, 2, 2), got {k.shape}")
    out = np.zeros((k.shape[0], BLOCK, BLOCK))
    out[:, 0::2, 0::2] = k[:, 0]
    out[:, 0::2, 1::2] = k[:, 1] / 2
    out[:, 1::2, 0::2] = k[:, 1] / 2
    out[:, 1::2, 1::2] = k[:, 2]
    return np.rint(out).astype(np.int64)


def rgb_to_bayer(image_rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) image in [0, 1] -> (H, W) RGGB mosaic (what the sensor's colour filters pass)."""
    img = np.asarray(image_rgb, float)
    mosaic = np.empty(img.shape[:2])
    mosaic[0::2, 0::2] = img[0::2, 0::2, 0]
    mosaic[0::2, 1::2] = img[0::2, 1::2, 1]
    mosaic[1::2, 0::2] = img[1::2, 0::2, 1]
    mosaic[1::2, 1::2] = img[1::2, 1::2, 2]
    return mosaic


def _words(weights: np.ndarray, passes: int) -> np.ndarray:
    """5-bit words per (pass, kernel slot, MAC); unused slots of the last pass get weight 0."""
    w = np.zeros((passes * OUTPUTS_PER_PASS, MACS), np.int64)
    flat = np.asarray(weights).reshape(len(weights), MACS)
    w[: len(flat)] = np.where(flat < 0, 16 + np.abs(flat), flat)
    return np.ascontiguousarray(w.reshape(passes, OUTPUTS_PER_PASS, MACS))


@dataclass
class Models:
    """The calibrated tables the chain uses, loaded once (hash-checked artifacts)."""

    pixel_lut: object
    pixel_params: object
    psf_lut: object
    psf_params: object
    scm_lut: object
    scm_params: object
    fvf_lut: object
    extra: dict = field(default_factory=dict)

    @classmethod
    def load(cls, point: OperatingPoint = NOMINAL, store: ArtifactStore | None = None) -> "Models":
        """Every block's calibration at ``point`` from one store."""
        store = store or ArtifactStore()
        return cls(pixel_block.load_lut(point, store), pixel_block.params_from_artifact(point, store),
                   psf_block.load_lut(point, store), psf_block.PsfParams(),
                   scm_block.load_lut(point, store), scm_block.ScmParams(), fvf_block.load_lut(point, store))


#: Counter-based streams of the chain (circuitsim.rng). Mismatch is an instance of the sensor (per PE, the same
#: in every frame of a seed; counters: the flat index over (PE, ...)); kT/C is temporal (keyed by the frame;
#: counters: the flat index over (pass, block row, PE, ...)).
MISMATCH_STREAMS = ("leca.psf.mismatch", "leca.scm.mismatch", "leca.fvf.mismatch")
THERMAL_STREAMS = ("leca.psf.ktc", "leca.scm.ktc", "leca.scm.reset")


@dataclass(frozen=True)
class Draws:
    """Where the random numbers of one frame's PE chain come from: the per-PE mismatch normals (small arrays,
    drawn up front from their counters) and the keys of the kT/C streams, whose normals the kernel draws
    inside its loops (and the reference from the same counters): the i-buffer write of pixel (r, c) of block
    (p, by, bx) at counter ((p·nby + by)·nbx + bx)·16 + 4·r + c, MAC m of kernel slot k at
    (((p·nby + by)·nbx + bx)·4 + k)·16 + m, the reset of o-buffer s (0 = p, 1 = n) of slot k at
    (((p·nby + by)·nbx + bx)·4 + k)·2 + s. ``temporal=False`` switches the kT/C draws off (one instance
    without temporal noise)."""

    z_psf_mm: np.ndarray  # (n_pe, 4): i-buffer + PSF instance, per PE
    z_scm_mm: np.ndarray  # (n_pe, 4, 16): per PE, kernel slot and MAC position
    z_fvf_mm: np.ndarray  # (n_pe, 4, 2): the FVF of each o-buffer
    psf_th_key: int = 0
    scm_th_key: int = 0
    scm_reset_key: int = 0
    temporal: bool = True


def draw_chain(config_: LecaConfig, nby: int, nbx: int, rng, frame: int = 0) -> Draws:
    """The chain's draws of ``rng`` (a Generator: one ``integers`` call; or an integer seed) and ``frame``:
    mismatch normals z = Φ⁻¹(u) of the instance streams at their flat index; kT/C keys of the frame."""
    if config_.mode != Mode.NOISY:
        zeros = np.zeros
        return Draws(zeros((nbx, 4)), zeros((nbx, 4, MACS)), zeros((nbx, 4, 2)), temporal=False)
    seed = rng_mod.seed_of(rng)
    mm = [rng_mod.normals(rng_mod.stream_key(seed, name), shape)
          for name, shape in zip(MISMATCH_STREAMS, ((nbx, 4), (nbx, 4, MACS), (nbx, 4, 2)))]
    keys = [int(rng_mod.stream_key(seed, name, frame)) for name in THERMAL_STREAMS]
    return Draws(*mm, *keys)


def pixel_voltages(raw: np.ndarray, cfg: LecaConfig, models: Models, rng, frame: int = 0,
                   reference: bool = False) -> np.ndarray:
    """i-buffer voltages (passes, nby, nbx, 4, 4) from the raw image: one pixel readout per pass, all passes in
    one call of the pixel block (its temporal counters run over (pass, row, column); the fixed pattern is
    drawn once). ``rng``: Generator or integer seed (unused unless noisy); ``reference``: the pixel's NumPy
    oracle."""
    raw = np.asarray(raw, float)
    if raw.ndim != 2 or raw.shape[0] % BLOCK or raw.shape[1] % BLOCK:
        raise InputRangeError(f"raw image must be 2-D with sides divisible by 4, got {raw.shape}")
    if not np.all(np.isfinite(raw)) or raw.min() < 0:
        raise InputRangeError("raw image values must be finite and >= 0 (1.0 = max_flux_per_s)")
    flux = raw * cfg.max_flux_per_s
    params = models.pixel_params
    if cfg.mode == Mode.NOISY:
        seed = rng_mod.seed_of(rng)
        pattern = pixel_block.fixed_pattern(raw.shape, params, models.pixel_lut, seed)
        pixel = pixel_block.pixel_4t_reference if reference else pixel_block.pixel_4t
        flux_passes = np.broadcast_to(flux, (cfg.passes,) + raw.shape)
        dv = pixel(flux_passes, cfg.exposure_s, models.pixel_lut, params, seed, pattern, frame=frame)
    else:  # noise-free: the expected signal (no Poisson draw)
        params = replace(params, read_noise_v=0.0, prnu_fraction=0.0, dsnu_fraction=0.0, dark_current_e_per_s=0.0)
        dv = np.broadcast_to(expected_cds_v(flux, cfg.exposure_s, models, params), (cfg.passes,) + raw.shape)
    reads = np.clip(V_PIX_DARK_V - dv, psf_block.V_PIX_RANGE_V[0], V_PIX_DARK_V)
    nby, nbx = raw.shape[0] // BLOCK, raw.shape[1] // BLOCK
    v = reads.reshape(cfg.passes, nby, BLOCK, nbx, BLOCK).transpose(0, 1, 3, 2, 4)
    return np.ascontiguousarray(v)


def expected_cds_v(flux, exposure_s, models: Models, params) -> np.ndarray:
    """Noise-free CDS output (V) of QE·Φ·t electrons through the calibrated pixel transfer (the SPICE LUT over
    electrons with its dark offset and compression, or its straight line in ``ideal`` mode)."""
    electrons = params.quantum_efficiency * np.asarray(flux, float) * exposure_s
    return pixel_block.expected_output_v(electrons, models.pixel_lut, params)


@njit(fastmath=config.FASTMATH, cache=True)
def _psf_inputs(v_pix, p, by, bx, psf_x, psf_out, psf_sig, psf_line, psf_th, z_psf_mm, psf_key, temporal, mode,
                base, vin):
    """The 16 SCM inputs (V) of block (p, by, bx): PSF(v_pix) [+ σ_PSF(v)·z_mm + σ_kTC·z_th, z_th the normal
    of counter base·16 + m], shared by the 4 kernel slots."""
    for m in range(MACS):
        r = m // BLOCK
        c = m % BLOCK
        v = v_pix[p, by, bx, r, c]
        if mode == IDEAL_CODE:
            vin[m] = psf_line[0] + psf_line[1] * v
        else:
            lo, hi, t = segment(v, psf_x)  # the mean and σ tables share the grid
            vin[m] = at_segment(psf_out, lo, hi, t)
            if mode == NOISY_CODE:
                z_th = rng_mod.normal(psf_key, base * MACS + m) if temporal else 0.0
                vin[m] += at_segment(psf_sig, lo, hi, t) * z_psf_mm[bx, c] + psf_th * z_th


@njit(parallel=True, fastmath=config.FASTMATH, cache=True)
def _pe_chain_kernel(v_pix, words, c_s, th_scm, th_reset, psf_x, psf_out, psf_sig, psf_line, psf_th, scm_x, scm_ep, scm_en,
                     scm_sig, scm_sx, rho_p, rho_n, c_out, v_cm, fvf_x, fvf_out, fvf_sig, fvf_line, z_psf_mm,
                     z_scm_mm, z_fvf_mm, psf_key, scm_key, reset_key, temporal, mode, out_d):
    passes, nby, nbx = v_pix.shape[0], v_pix.shape[1], v_pix.shape[2]
    for job in prange(passes * nby):
        p = job // nby
        by = job % nby
        vin = np.empty(MACS)
        # where each of the 16 inputs sits on the SCM's grids, found once per block for the 4 kernel slots
        # (the error tables share scm_x, σ has its own axis scm_sx)
        e_lo, e_hi, e_t = np.empty(MACS, np.int64), np.empty(MACS, np.int64), np.empty(MACS)
        s_lo, s_hi, s_t = np.empty(MACS, np.int64), np.empty(MACS, np.int64), np.empty(MACS)
        for bx in range(nbx):
            base = job * nbx + bx  # flat index of (p, by, bx): the counters of its draws
            _psf_inputs(v_pix, p, by, bx, psf_x, psf_out, psf_sig, psf_line, psf_th, z_psf_mm, psf_key, temporal,
                        mode, base, vin)
            if mode >= HARD_CODE:
                for m in range(MACS):
                    e_lo[m], e_hi[m], e_t[m] = segment(vin[m], scm_x)
                    s_lo[m], s_hi[m], s_t[m] = segment(vin[m], scm_sx)
            for k in range(OUTPUTS_PER_PASS):
                vp = v_cm + rho_p  # the reset pedestal (zero in ideal mode), as in scm_accumulate
                vn = v_cm + rho_n
                if mode == NOISY_CODE and temporal:  # kT/C_out of each o-buffer's reset
                    slot = base * OUTPUTS_PER_PASS + k
                    vp += th_reset * rng_mod.normal(reset_key, 2 * slot)
                    vn += th_reset * rng_mod.normal(reset_key, 2 * slot + 1)
                for m in range(MACS):
                    w = words[p, k, m]
                    neg = (w >> 4) & 1
                    cs = c_s[p, k, m]
                    recv = vn if neg == 1 else vp
                    new = (cs * (2.0 * v_cm - vin[m]) + c_out * recv) / (c_out + cs)
                    if neg == 1:
                        vn = new
                    else:
                        vp = new
                    if mode >= HARD_CODE:
                        share = c_out / (c_out + cs)  # the part of the pedestal Eq. 3 already carries over
                        vp += at_segment_row(scm_ep, w, e_lo[m], e_hi[m], e_t[m]) - rho_p * (1.0 if neg == 1 else share)
                        vn += at_segment_row(scm_en, w, e_lo[m], e_hi[m], e_t[m]) - rho_n * (share if neg == 1 else 1.0)
                        if mode == NOISY_CODE:
                            z_th = rng_mod.normal(scm_key, (base * OUTPUTS_PER_PASS + k) * MACS + m) if temporal else 0.0
                            d = (at_segment_row(scm_sig, w, s_lo[m], s_hi[m], s_t[m]) * z_scm_mm[bx, k, m]
                                 + th_scm[p, k, m] * z_th)
                            if neg == 1:
                                vn += d
                            else:
                                vp += d
                if mode == IDEAL_CODE:
                    fp = fvf_line[0] + fvf_line[1] * vp
                    fn = fvf_line[0] + fvf_line[1] * vn
                else:
                    plo, phi, pt = segment(vp, fvf_x)  # the FVF's mean and σ share its grid
                    nlo, nhi, nt = segment(vn, fvf_x)
                    fp = at_segment(fvf_out, plo, phi, pt)
                    fn = at_segment(fvf_out, nlo, nhi, nt)
                    if mode == NOISY_CODE:
                        fp += at_segment(fvf_sig, plo, phi, pt) * z_fvf_mm[bx, k, 0]
                        fn += at_segment(fvf_sig, nlo, nhi, nt) * z_fvf_mm[bx, k, 1]
                out_d[p, by, bx, k] = fp - fn


def _chain_arrays(cfg: LecaConfig, models: Models):
    words = _words(cfg.weights, cfg.passes)
    _, mag = scm_block.word_parts(words)
    c_s = mag * models.scm_params.c_unit_f
    noisy = cfg.mode == Mode.NOISY
    th = scm_block.thermal_sigma_v(words, models.scm_params) if noisy else np.zeros(words.shape)
    th_reset = scm_block.reset_sigma_v(models.scm_params) if noisy else 0.0
    psf_th = models.psf_params.applied_thermal_sigma_v if noisy else 0.0
    return words, np.ascontiguousarray(c_s, float), np.ascontiguousarray(th, float), th_reset, float(psf_th)


def _pedestals(cfg: LecaConfig, models: Models) -> tuple[float, float]:
    """Reset pedestals (V) of the o-buffers: the single-ended error of the zero word (see scm_accumulate)."""
    if cfg.mode == Mode.IDEAL:
        return 0.0, 0.0
    s = models.scm_lut
    return float(np.mean(s.error_p_v[:, [0, 16]])), float(np.mean(s.error_n_v[:, [0, 16]]))


def check_interface(v_pix: np.ndarray, cfg: LecaConfig, models: Models) -> None:
    """Refuse a chain whose PSF output (plus a 5 σ mismatch margin) leaves the SCM's calibrated input range:
    the SCM tables would be extrapolated there. The PSF's output level moves with the corner (PMOS Vth)."""
    if cfg.mode == Mode.IDEAL:
        return
    p, lo, hi = models.psf_lut, models.scm_lut.x_v[0], models.scm_lut.x_v[-1]
    v = np.array([v_pix.min(), v_pix.max()])
    out = np.interp(v, p.x_v, p.out_v)
    margin = PSF_MARGIN_SIGMA * np.interp(v, p.x_v, p.sigma_v) if cfg.mode == Mode.NOISY else 0.0
    if out[0] - np.atleast_1d(margin)[0] < lo or out[1] + np.atleast_1d(margin)[-1] > hi:
        raise InputRangeError(
            f"at {cfg.point} the PSF output spans {out[0]:.3f}..{out[1]:.3f} V (pixel levels "
            f"{v[0]:.3f}..{v[1]:.3f} V), outside the SCM's calibrated input range {lo:g}..{hi:g} V with a "
            f"{PSF_MARGIN_SIGMA:g} sigma margin: the PSF level shifts with the corner; the SCM must be "
            "calibrated over a wider input range before this corner can be simulated"
        )


def _mismatch(draws: Draws, nbx: int):
    """The mismatch arrays as contiguous floats of the PE count ``nbx``."""
    shapes = ((nbx, 4), (nbx, 4, MACS), (nbx, 4, 2))
    arrays = (draws.z_psf_mm, draws.z_scm_mm, draws.z_fvf_mm)
    return tuple(np.ascontiguousarray(np.broadcast_to(a, s), dtype=float) for a, s in zip(arrays, shapes))


def _thermal_normals(draws: Draws, key: int, shape) -> np.ndarray:
    """The kT/C normals of one stream over ``shape`` (counters: the flat index), zeros when temporal is off."""
    if not draws.temporal:
        return np.zeros(shape)
    return rng_mod.normal_array(np.uint64(key), np.arange(int(np.prod(shape))).reshape(shape))


def pe_chain(v_pix: np.ndarray, cfg: LecaConfig, models: Models, draws: Draws) -> np.ndarray:
    """Differential ADC input (passes, nby, nbx, 4) in V, numba-parallel over block rows; the kT/C normals are
    drawn inside the loops from their counters (see :class:`Draws`), so any thread count gives the same."""
    check_interface(v_pix, cfg, models)
    words, c_s, th, th_reset, psf_th = _chain_arrays(cfg, models)
    out = np.empty(v_pix.shape[:3] + (OUTPUTS_PER_PASS,))
    s, p, f = models.scm_lut, models.psf_lut, models.fvf_lut
    rho_p, rho_n = _pedestals(cfg, models)
    # word-major copies of the SCM tables: each MAC then reads one contiguous row
    word_major = [np.ascontiguousarray(t.T) for t in (s.error_p_v, s.error_n_v, s.sigma_v)]
    sigma_axis = np.ascontiguousarray(s.sigma_axis, float)  # σ's own v_in axis (the coarser Monte Carlo grid)
    _pe_chain_kernel(v_pix, words, c_s, th, th_reset, p.x_v, p.out_v, p.sigma_v, p.line_coeffs, psf_th, s.x_v, *word_major,
                     sigma_axis, rho_p, rho_n, models.scm_params.c_out_f, models.scm_params.v_cm_v,
                     f.x_v, f.out_v,
                     f.sigma_v, f.line_coeffs, *_mismatch(draws, v_pix.shape[2]), np.uint64(draws.psf_th_key),
                     np.uint64(draws.scm_th_key), np.uint64(draws.scm_reset_key), bool(draws.temporal), cfg.mode.code,
                     out)
    return out


def pe_chain_reference(v_pix: np.ndarray, cfg: LecaConfig, models: Models, draws: Draws) -> np.ndarray:
    """Plain NumPy oracle of :func:`pe_chain`: the PSF and FVF LUTs with ``numpy.interp`` and the SCM
    through the block's own :func:`circuitsim.blocks.scm.scm_accumulate`, fed the same numbers (the kT/C
    normals from the same counters by circuitsim.rng's vectorised reference)."""
    check_interface(v_pix, cfg, models)
    psf_th = _chain_arrays(cfg, models)[-1]
    words = _words(cfg.weights, cfg.passes)
    mode = cfg.mode.code
    p, f = models.psf_lut, models.fvf_lut
    if mode == IDEAL_CODE:
        vin = p.line_coeffs[0] + p.line_coeffs[1] * v_pix
    else:
        vin = np.interp(v_pix, p.x_v, p.out_v)
        if mode == NOISY_CODE:
            z_psf_mm, _, _ = _mismatch(draws, v_pix.shape[2])
            vin = vin + np.interp(v_pix, p.x_v, p.sigma_v) * z_psf_mm[None, None, :, None, :] \
                + psf_th * _thermal_normals(draws, draws.psf_th_key, v_pix.shape)
    passes, nby, nbx = v_pix.shape[:3]
    shape = (passes, nby, nbx, OUTPUTS_PER_PASS, MACS)
    x = np.broadcast_to(vin.reshape(passes, nby, nbx, 1, MACS), shape)      # the same inputs for the 4 kernels
    w = np.broadcast_to(words[:, None, None, :, :], shape)
    _, z_scm_mm, z_fvf_mm = _mismatch(draws, nbx)
    z = (z_scm_mm[None, None], _thermal_normals(draws, draws.scm_th_key, shape),
         _thermal_normals(draws, draws.scm_reset_key, shape[:-1] + (2,)))
    params = replace(models.scm_params, mode=cfg.mode)
    vp_all, vn_all = scm_block.scm_accumulate(x, w, models.scm_lut, params, draws=z)
    vp, vn = vp_all[..., -1], vn_all[..., -1]
    if mode == IDEAL_CODE:
        return f.line_coeffs[1] * (vp - vn)
    fp, fn = np.interp(vp, f.x_v, f.out_v), np.interp(vn, f.x_v, f.out_v)
    if mode == NOISY_CODE:
        fp = fp + np.interp(vp, f.x_v, f.sigma_v) * z_fvf_mm[None, None, :, :, 0]
        fn = fn + np.interp(vn, f.x_v, f.sigma_v) * z_fvf_mm[None, None, :, :, 1]
    return fp - fn


def quantize(v_d: np.ndarray, cfg: LecaConfig) -> np.ndarray:
    """ADC codes 0 .. levels−1 of the differential input over ±full scale (uniform; 1.5 bit = 3 levels)."""
    fs = cfg.adc_full_scale_v
    lsb = 2 * fs / cfg.levels
    return np.clip(np.floor((v_d + fs) / lsb), 0, cfg.levels - 1).astype(np.int16)


@dataclass
class FrameResult:
    """Feature map (N_ch, 112, 112) as ADC codes and as the analog differential voltage (V)."""

    codes: np.ndarray
    analog_v: np.ndarray
    config: LecaConfig


def _to_feature_map(v_d: np.ndarray, cfg: LecaConfig) -> np.ndarray:
    passes, nby, nbx, _ = v_d.shape
    maps = v_d.transpose(0, 3, 1, 2).reshape(passes * OUTPUTS_PER_PASS, nby, nbx)
    return maps[: cfg.n_ch]


def simulate_frame(raw: np.ndarray, cfg: LecaConfig, rng, models: Models | None = None,
                   reference: bool = False, *, frame: int = 0) -> FrameResult:
    """One frame through the whole chain (numba; ``reference=True`` runs the NumPy oracle instead).

    ``rng``: an integer seed, or a :class:`numpy.random.Generator` from which one ``integers`` call takes the
    seed (so repeated calls with one Generator simulate new sensors); unused unless noisy. Every random number
    is a function of (seed, stream, frame, element index) (circuitsim.rng): the fixed pattern and mismatch
    (one fabricated sensor) depend on the seed only, the temporal noise also on ``frame``, so frames
    0, 1, 2 ... of one seed are a video from one sensor. Neither the thread count nor the path changes them."""
    models = models or Models.load(cfg.point)
    seed = rng_mod.seed_of(rng) if cfg.mode == Mode.NOISY else None
    v_pix = pixel_voltages(raw, cfg, models, seed, frame, reference)
    draws = draw_chain(cfg, v_pix.shape[1], v_pix.shape[2], seed, frame)
    v_d = (pe_chain_reference if reference else pe_chain)(v_pix, cfg, models, draws)
    analog = _to_feature_map(v_d, cfg)
    return FrameResult(quantize(analog, cfg), analog, cfg)


def default_weights(n_ch: int, seed: int = 0) -> np.ndarray:
    """A reproducible set of Bayer kernels for demos: a luminance sum, colour differences and oriented
    edges, then seeded random kernels for the remaining channels (integers in −15..15)."""
    n_ch = check_channels(n_ch)
    base = [
        rgb_kernel_to_bayer(np.array([[[[4, 4], [4, 4]], [[8, 8], [8, 8]], [[4, 4], [4, 4]]]])),   # luminance
        rgb_kernel_to_bayer(np.array([[[[8, 8], [8, 8]], [[0, 0], [0, 0]], [[-8, -8], [-8, -8]]]])),  # R − B
        rgb_kernel_to_bayer(np.array([[[[6, -6], [6, -6]], [[12, -12], [12, -12]], [[6, -6], [6, -6]]]])),  # |
        rgb_kernel_to_bayer(np.array([[[[6, 6], [-6, -6]], [[12, 12], [-12, -12]], [[6, 6], [-6, -6]]]])),  # —
    ]
    weights = np.concatenate(base)[:n_ch]
    if n_ch > len(base):
        rng = np.random.default_rng(seed)
        weights = np.concatenate([weights, rng.integers(-15, 16, size=(n_ch - len(base), BLOCK, BLOCK))])
    return weights.astype(np.int64)


def test_scene(size: int = ARRAY_ROWS) -> np.ndarray:
    """A deterministic RGB scene in [0, 1]: colour ramps, a bright disc and bars (no file needed)."""
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    r = 0.15 + 0.7 * x
    g = 0.15 + 0.7 * y
    b = 0.15 + 0.7 * (1 - x) * (1 - y)
    disc = ((x - 0.68) ** 2 + (y - 0.32) ** 2) < 0.04
    bars = (np.sin(2 * np.pi * 12 * x) > 0) & (y > 0.7)
    img = np.stack([r, g, b], axis=-1)
    img[disc] = 0.95
    img[bars] *= 0.3
    return np.clip(img, 0, 1)

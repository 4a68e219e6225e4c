"""Frame-level simulation of the in-sensor spiking first layer (SPEC 5.3) from the calibrated blocks:

    RGB photodiode planes -> floating-diffusion voltage (shot noise, dark electrons, kT/C reset noise)
      -> in-pixel convolution: weights = follower widths, positive and negative phases on the column
      -> analog CDS subtracts the two phases -> 2T comparator with the (BN-folded) per-channel threshold
      -> 1-bit spikes

One output is a 3 x 3 x 3 kernel (3 x 3 pixels, 3 colour planes: 27 taps, weight codes −3..3) at stride 2.
The comparator sees V_CMP_REF + CDS output: the CDS output is referred to a fixed level inside the
comparator's trip range, so a channel threshold θ on the CDS output (V) becomes the bias whose trip point
is V_CMP_REF + θ. Comparators are column-parallel: each output column's comparator keeps its offset draw.
CDS outputs beyond the CDS's calibrated range (−0.3..0.7 V) are clipped to it and counted (the report says
how many), never extrapolated. Modes (:class:`~circuitsim.blocks.modes.Mode`): ``hard`` (calibrated
transfers, no noise; the comparator's hard step), ``noisy`` (all noise); there is no ``ideal`` chain (the
in-pixel convolution has no ideal transfer).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numba import njit, prange

from circuitsim import config
from circuitsim import rng as rng_mod
from circuitsim.blocks import cds as cds_block
from circuitsim.blocks import comparator2t as cmp_block
from circuitsim.blocks import inpixel_conv as conv_block
from circuitsim.blocks import pixel_4t as pixel_block
from circuitsim.blocks.kernels import interp_linear
from circuitsim.blocks.modes import Mode, parse_field
from circuitsim.errors import InputRangeError
from circuitsim.store import NOMINAL, ArtifactStore, OperatingPoint

KERNEL = 3
STRIDE = 2
TAPS = KERNEL * KERNEL * 3
#: Level the CDS output is referred to at the comparator input (V): mid trip range of the 2T comparator.
V_CMP_REF_V = 0.88
#: The chain's modes.
MODES = (Mode.HARD, Mode.NOISY)
#: Most output channels one simulated frame may have: the width of VGG-11's first layer, ~0.4 s per channel.
MAX_CHANNELS = 64


def check_channels(c_out) -> int:
    """``c_out`` as an int in 1..MAX_CHANNELS, else :class:`InputRangeError` saying what to do."""
    if isinstance(c_out, bool) or not isinstance(c_out, (int, np.integer)) or c_out < 1:
        raise InputRangeError(f"--channels (output channels) must be an integer >= 1, got {c_out!r}")
    if c_out > MAX_CHANNELS:
        raise InputRangeError(f"--channels {c_out} is above the {MAX_CHANNELS} channels a simulated SNN frame may "
                              "have (the width of VGG-11's first layer; ~0.4 s per channel); simulate at most "
                              f"{MAX_CHANNELS}, or price more without simulating: circuitsim sweep snn --param N_ch=...")
    return int(c_out)


@dataclass(frozen=True)
class SnnConfig:
    """``weights``: (C_out, 3, 3, 3) integer codes −3..3 (channel, colour, row, column); ``thresholds_v``:
    per-channel threshold on the CDS output (V); exposure (s) and photon flux (photons/s) at image value 1."""

    weights: np.ndarray
    thresholds_v: np.ndarray
    exposure_s: float = 10e-3
    max_flux_per_s: float = 1.5e6
    mode: Mode | str = Mode.NOISY
    point: OperatingPoint = NOMINAL

    def __post_init__(self):
        w = np.asarray(self.weights)
        if w.ndim != 4 or w.shape[1:] != (3, KERNEL, KERNEL):
            raise InputRangeError(f"weights must have shape (C_out, 3, 3, 3), got {w.shape}")
        check_channels(w.shape[0])
        if not np.issubdtype(w.dtype, np.integer) or np.abs(w).max() > conv_block.MAX_CODE:
            raise InputRangeError(f"weights must be integer width codes in -{conv_block.MAX_CODE}..{conv_block.MAX_CODE}")
        if np.shape(self.thresholds_v) != (w.shape[0],):
            raise InputRangeError(f"thresholds_v needs one value per channel ({w.shape[0]})")
        parse_field(self, "mode", MODES)
        if self.exposure_s <= 0 or self.max_flux_per_s < 0:
            raise InputRangeError("exposure_s must be > 0 and max_flux_per_s >= 0")


@dataclass
class SnnModels:
    pixel: object
    conv: object
    cds: object
    comparator: object
    pixel_lut: object = None

    @classmethod
    def load(cls, point: OperatingPoint = NOMINAL, store: ArtifactStore | None = None) -> "SnnModels":
        """Every block's calibration at ``point`` from one store."""
        store = store or ArtifactStore()
        return cls(pixel_block.params_from_artifact(point, store), conv_block.load_lut(point, store),
                   cds_block.load_lut(point, store), cmp_block.load_lut(point, store),
                   pixel_block.load_lut(point, store))


#: Counter-based streams (circuitsim.rng): temporal ones keyed by the frame (counters: the flat index over
#: (colour, row, column)); the comparators' offsets are the instance (counters: (channel, column)); the CDS
#: wrapper takes a Generator: Philox keyed by (seed, "snn.cds", frame).
FD_STREAMS = ("snn.photo", "snn.dark", "snn.ktc")
COMPARATOR_STREAM = "snn.comparator.offset"
CDS_STREAM = "snn.cds"


def _fd_means(image_rgb: np.ndarray, cfg: SnnConfig, models: SnnModels):
    """Poisson means (3, H, W) in e⁻: μ_photo = QE·Φ·t, μ_dark = I_dark·t."""
    img = np.asarray(image_rgb, float)
    if img.ndim != 3 or img.shape[2] != 3:
        raise InputRangeError(f"image must be (H, W, 3), got {img.shape}")
    if not np.all(np.isfinite(img)) or img.min() < 0:
        raise InputRangeError("image values must be finite and >= 0 (1.0 = max_flux_per_s)")
    p = models.pixel
    mean_photo = np.ascontiguousarray(p.quantum_efficiency * img.transpose(2, 0, 1) * cfg.max_flux_per_s * cfg.exposure_s)
    return mean_photo, np.full(mean_photo.shape, p.dark_current_e_per_s * cfg.exposure_s)


def _fd_keys(rng, frame) -> np.ndarray:
    seed = rng_mod.seed_of(rng)
    return np.array([rng_mod.stream_key(seed, name, frame) for name in FD_STREAMS], dtype=np.uint64)


@njit(parallel=True, fastmath=config.FASTMATH, cache=True)
def _fd_kernel(mean_photo, mean_dark, keys, e_grid, fd_lut_v, ktc_sigma_v, out_v):
    """V_FD,i = FD(N_i) + σ_kTC·z_i, N_i = Poisson(μ_photo,i) + Poisson(μ_dark,i), drawn at counter i."""
    for i in prange(mean_photo.size):
        n_e = float(rng_mod.poisson(keys[0], i, mean_photo[i]) + rng_mod.poisson(keys[1], i, mean_dark[i]))
        out_v[i] = interp_linear(n_e, e_grid, fd_lut_v) + ktc_sigma_v * rng_mod.normal(keys[2], i)


def fd_voltages(image_rgb: np.ndarray, cfg: SnnConfig, models: SnnModels, rng, frame: int = 0) -> np.ndarray:
    """Floating-diffusion voltage (3, H, W) in V after exposure: the calibrated pixel's FD level at the
    signal sample for N_photo + N_dark electrons (SPICE LUT over electrons: dark offset, transfer efficiency,
    compression), with Poisson shot noise on both and the kT/C reset noise sqrt(kT/C_FD)·z in noisy mode
    (expected values in hard mode). numba, parallel; each pixel draws its own numbers at its flat index in the
    streams of ``rng`` (Generator: one ``integers`` call; or an integer seed) and ``frame``."""
    mean_photo, mean_dark = _fd_means(image_rgb, cfg, models)
    if cfg.mode != Mode.NOISY:
        return pixel_block.fd_signal_v(mean_photo + mean_dark, models.pixel_lut)
    out = np.empty(mean_photo.shape)
    lut = models.pixel_lut
    _fd_kernel(mean_photo.ravel(), mean_dark.ravel(), _fd_keys(rng, frame), lut.electrons_e, lut.fd_signal_v,
               float(models.pixel.ktc_sigma_v), out.ravel())
    return out


def fd_voltages_reference(image_rgb: np.ndarray, cfg: SnnConfig, models: SnnModels, rng,
                          frame: int = 0) -> np.ndarray:
    """Plain NumPy oracle of :func:`fd_voltages`: the same numbers from the same counters."""
    mean_photo, mean_dark = _fd_means(image_rgb, cfg, models)
    if cfg.mode != Mode.NOISY:
        return pixel_block.fd_signal_v(mean_photo + mean_dark, models.pixel_lut)
    keys = _fd_keys(rng, frame)
    i = np.arange(mean_photo.size).reshape(mean_photo.shape)
    electrons = rng_mod.poisson_array(keys[0], i, mean_photo) + rng_mod.poisson_array(keys[1], i, mean_dark)
    return (pixel_block.fd_signal_v(electrons, models.pixel_lut)
            + models.pixel.ktc_sigma_v * rng_mod.normal_array(keys[2], i))


def _taps(v_fd: np.ndarray) -> np.ndarray:
    """(outputs, 27) tap voltages of every stride-2 3 x 3 x 3 window, outputs in row-major (y, x) order."""
    _, h, w = v_fd.shape
    ny, nx = (h - KERNEL) // STRIDE + 1, (w - KERNEL) // STRIDE + 1
    win = np.lib.stride_tricks.sliding_window_view(v_fd, (KERNEL, KERNEL), axis=(1, 2))[:, ::STRIDE, ::STRIDE]
    return np.ascontiguousarray(win[:, :ny, :nx].transpose(1, 2, 0, 3, 4).reshape(ny * nx, TAPS)), ny, nx


@dataclass
class SnnResult:
    spikes: np.ndarray     # (C_out, ny, nx) 0/1
    cds_v: np.ndarray      # (C_out, ny, nx) CDS output (V), after clipping to the calibrated range
    clipped: int           # outputs whose two-phase difference left the CDS's calibrated range
    config: SnnConfig

    @property
    def spike_rate(self) -> float:
        return float(self.spikes.mean())


def simulate_snn_frame(image_rgb: np.ndarray, cfg: SnnConfig, rng, models: SnnModels | None = None,
                       reference: bool = False, *, frame: int = 0) -> SnnResult:
    """One frame of the spiking first layer (block kernels; ``reference=True``: their NumPy oracles).

    ``rng``: an integer seed, or a Generator from which one ``integers`` call takes it; every random number is
    a function of (seed, stream, frame, element index) (circuitsim.rng): the comparators' offsets (the
    fabricated instance) of the seed only, the shot, kT/C and CDS noise also of ``frame``."""
    models = models or SnnModels.load(cfg.point)
    noisy = cfg.mode == Mode.NOISY
    seed = rng_mod.seed_of(rng) if noisy else None
    v_fd = (fd_voltages_reference if reference else fd_voltages)(image_rgb, cfg, models, seed, frame)
    taps, ny, nx = _taps(v_fd)
    n_out = taps.shape[0]
    weights = np.asarray(cfg.weights).reshape(len(cfg.weights), TAPS)
    conv = conv_block.inpixel_conv_reference if reference else conv_block.inpixel_conv
    cds = cds_block.cds_reference if reference else cds_block.cds
    comparator = cmp_block.comparator2t_reference if reference else cmp_block.comparator2t
    cds_params = cds_block.CdsParams(mode=cfg.mode)
    cmp_params = cmp_block.Comparator2tParams(mode=cfg.mode)
    bias = cmp_block.bias_for_threshold_v(V_CMP_REF_V + np.asarray(cfg.thresholds_v, float), models.comparator)
    block_rng = rng_mod.generator(seed, CDS_STREAM, frame) if noisy else None
    z_offset = (rng_mod.normal_array(rng_mod.stream_key(seed, COMPARATOR_STREAM), np.arange(len(weights) * nx))
                .reshape(len(weights), nx) if noisy else np.zeros((len(weights), nx)))
    lo, hi = models.cds.x_v[0], models.cds.x_v[-1]
    spikes, outs, clipped = [], [], 0
    for ch, w in enumerate(weights):
        diff = conv(taps, w, models.conv)  # one weight row for every output
        clipped += int(np.count_nonzero((diff < lo) | (diff > hi)))
        out = cds(np.clip(diff, lo, hi), models.cds, cds_params, block_rng)
        z = np.broadcast_to(z_offset[ch], (ny, nx)).ravel()
        s = comparator(V_CMP_REF_V + out, np.full(n_out, bias[ch]), models.comparator, cmp_params, block_rng,
                       z_offset=z)
        spikes.append(s.reshape(ny, nx))
        outs.append(out.reshape(ny, nx))
    return SnnResult(np.stack(spikes).astype(np.uint8), np.stack(outs), clipped, cfg)


def default_snn_config(c_out: int = 8, seed: int = 0, mode: str = "noisy", **kw) -> SnnConfig:
    """Seeded random width codes −3..3 and thresholds spread over ±50 mV on the CDS output (demo use)."""
    c_out = check_channels(c_out)
    rng = np.random.default_rng(seed)
    weights = rng.integers(-3, 4, size=(c_out, 3, KERNEL, KERNEL))
    thresholds = np.linspace(-0.05, 0.05, c_out)
    return SnnConfig(weights=weights, thresholds_v=thresholds, mode=mode, **kw)


def replace_mode(cfg: SnnConfig, mode: str) -> SnnConfig:
    return replace(cfg, mode=mode)

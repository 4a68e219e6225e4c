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

from circuitsim.blocks import cds as cds_block
from circuitsim.blocks import comparator2t as cmp_block
from circuitsim.blocks import inpixel_conv as conv_block
from circuitsim.blocks import pixel_4t as pixel_block
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


def fd_voltages(image_rgb: np.ndarray, cfg: SnnConfig, models: SnnModels, rng: np.random.Generator) -> np.ndarray:
    """Floating-diffusion voltage (3, H, W) in V after exposure: the calibrated pixel's FD level at the
    signal sample for N_photo + N_dark electrons (SPICE LUT over electrons: dark offset, transfer efficiency,
    compression), with Poisson shot noise on both and the kT/C reset noise sqrt(kT/C_FD)·z in noisy mode
    (expected values in hard mode)."""
    img = np.asarray(image_rgb, float)
    if img.ndim != 3 or img.shape[2] != 3:
        raise InputRangeError(f"image must be (H, W, 3), got {img.shape}")
    if not np.all(np.isfinite(img)) or img.min() < 0:
        raise InputRangeError("image values must be finite and >= 0 (1.0 = max_flux_per_s)")
    p = models.pixel
    mean_photo = p.quantum_efficiency * img.transpose(2, 0, 1) * cfg.max_flux_per_s * cfg.exposure_s
    mean_dark = np.full(mean_photo.shape, p.dark_current_e_per_s * cfg.exposure_s)
    if cfg.mode == Mode.NOISY:
        electrons = rng.poisson(mean_photo) + rng.poisson(mean_dark)
        reset_noise = p.ktc_sigma_v * rng.standard_normal(mean_photo.shape)
    else:
        electrons, reset_noise = mean_photo + mean_dark, 0.0
    return pixel_block.fd_signal_v(electrons, models.pixel_lut) + reset_noise


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


def simulate_snn_frame(image_rgb: np.ndarray, cfg: SnnConfig, rng: np.random.Generator,
                       models: SnnModels | None = None, reference: bool = False) -> SnnResult:
    """One frame of the spiking first layer (block kernels; ``reference=True``: their NumPy oracles)."""
    models = models or SnnModels.load(cfg.point)
    v_fd = fd_voltages(image_rgb, cfg, models, rng)
    taps, ny, nx = _taps(v_fd)
    n_out = taps.shape[0]
    weights = np.asarray(cfg.weights).reshape(len(cfg.weights), TAPS)
    conv = conv_block.inpixel_conv_reference if reference else conv_block.inpixel_conv
    cds = cds_block.cds_reference if reference else cds_block.cds
    comparator = cmp_block.comparator2t_reference if reference else cmp_block.comparator2t
    cds_params = cds_block.CdsParams(mode=cfg.mode)
    cmp_params = cmp_block.Comparator2tParams(mode=cfg.mode)
    bias = cmp_block.bias_for_threshold_v(V_CMP_REF_V + np.asarray(cfg.thresholds_v, float), models.comparator)
    z_offset = rng.standard_normal((len(weights), nx)) if cfg.mode == Mode.NOISY else np.zeros((len(weights), nx))
    lo, hi = models.cds.x_v[0], models.cds.x_v[-1]
    spikes, outs, clipped = [], [], 0
    for ch, w in enumerate(weights):
        diff = conv(taps, np.broadcast_to(w, taps.shape), models.conv)
        clipped += int(np.count_nonzero((diff < lo) | (diff > hi)))
        out = cds(np.clip(diff, lo, hi), models.cds, cds_params, rng)
        z = np.broadcast_to(z_offset[ch], (ny, nx)).ravel()
        s = comparator(V_CMP_REF_V + out, np.full(n_out, bias[ch]), models.comparator, cmp_params, rng, z_offset=z)
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

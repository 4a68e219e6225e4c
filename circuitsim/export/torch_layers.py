"""Hardware-aware PyTorch layers that compute what the frame simulators compute (torch is imported here only).

:class:`LecaEncoder` is :func:`circuitsim.sensor.leca.simulate_frame` as a trainable layer, built from one
LUT export (``circuitsim export --all --out luts.npz``)::

    raw Bayer (N, H, W) in [0, 1] (1 = max_flux_per_s)  or RGB (N, 3, H/2, W/2): each pixel -> an RGGB quad
      -> pixel: CDS output dV = CDS(QE·Φ·t)  (SPICE table over electrons)  [+ shot, dark, read noise, PRNU/DSNU, CDS mismatch]
      -> i-buffer level v_pix = clip(V_PIX_DARK - dV, 0.2 V, V_PIX_DARK)
      -> PSF LUT [+ σ_PSF(v)·z per PE column + kT/C per write]
      -> 16 SCM MACs per output in the hardware's order (row, then column), Eq. 3 on the o-buffer pair with
         the reset pedestal and each MAC's calibrated injection ε_p, ε_n(v_in, word) [+ σ(v_in, word)·z per
         PE instance + kT/C per MAC]
      -> FVF LUT on each o-buffer [+ σ_FVF·z per instance] -> v_d = FVF(v_p) - FVF(v_n)
      -> ADC over ±FS: code = clip(floor((v_d + FS)/LSB), 0, L-1), LSB = 2·FS/L  (1.5 bit: L = 3)

How it is fast: Eq. 3 is affine in each MAC's input, so the 16 sequential MACs of a kernel collapse to
v_b = C_b + Σ_m P_bm·[β_m·(2·V_CM − v_in,m)·1(recv) + ε_b(v_in,m, w_m)] with P_bm the product of the later
MACs' α on buffer b (α = C_out/(C_out + C_s), β = 1 − α) — exactly the same numbers as the recurrence. The
ε LUTs are piecewise linear in v_in: ε(v, w) = Σ_g h_g(v)·T[g, w] with hat functions h_g on the grid, so the
whole SCM is one matrix product of the taps' basis [v_in, h_0..h_G−1(v_in)] with weight-dependent
coefficients (per PE column in noisy mode, where the mismatch is added to the coefficients). kT/C of the 16
MACs is one Gaussian per output with the propagated variance Σ_m (P_bm·σ_th(w_m))² (same distribution as
16 draws). Differences to the frame simulator, stated: the photon and dark shot noise is drawn as a Gaussian
N(μ, μ) (the simulator draws Poisson; identical mean and variance, and above a few electrons the same
distribution), and the pixel's FD reset noise is dropped (CDS cancels it up to the SF's curvature).

Weights: ``weight`` is a float parameter in integer units; the forward uses round(clamp(w, −15, 15)) (5-bit
sign-magnitude: sign bit + 4-bit magnitude) with a straight-through gradient. The ADC's quantization
boundaries are trained through its full scale FS (a parameter, as LeCA trains its quantizer; the hardware
sets it with the ADC reference, and ``LecaConfig(adc_full_scale_v=...)`` realises it in the simulator):
boundaries −FS + k·2FS/L, straight-through gradient of the floor (1 inside the range, 0 outside), so the
loss reaches both the input and FS (LSQ-style).

Noise model (``mode`` = ideal | hard | noisy, :class:`~circuitsim.blocks.modes.Mode`): the per-instance
mismatch (PSF and FVF of every column PE, SCM σ per PE, kernel slot and MAC, each pixel's PRNU/DSNU) lives in
a :class:`HardwareInstance` drawn from the layer's ``torch.Generator`` (given once) or from a seed; the
temporal noise (shot, read, kT/C) is drawn on every call. ``resample`` = ``"batch"`` draws a new instance per
training forward (train across mismatch), ``"epoch"``/``"fixed"`` keeps it until
:meth:`LecaEncoder.resample_instance`. ``eval()`` uses the current instance and no temporal noise unless
``eval_temporal_noise=True``. Bad input raises :class:`~circuitsim.errors.CircuitsimError` subclasses at
construction or from static shapes; the forward has no host syncs: image values below 0 are clipped to 0
and counted in the buffer ``clipped_inputs`` (a tensor); bright pixels saturate as the calibrated pixel does (the
electron table compresses and is held beyond its last point).

:class:`InSensorSnnLayer` is :func:`circuitsim.sensor.snn.simulate_snn_frame` likewise.

Why one module of ~590 lines: the LeCA encoder's hardware instance, noise draws and the PSF -> SCM -> FVF ->
ADC chain share one set of tensors and must stay equal, term for term, to circuitsim.sensor.leca; the SNN
layer is in torch_snn.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from circuitsim.blocks.modes import Mode
from circuitsim.errors import ArtifactError, InputRangeError
from circuitsim.export.torch_lut import FloorSTE

BLOCK = 4
MACS = 16
OUTPUTS_PER_PASS = 4
MAX_WEIGHT = 15


# -- shared helpers -----------------------------------------------------------------------------------
def _luts(luts) -> dict:
    """An export file path or ``read_all``'s dict -> {block: BlockLuts}."""
    from circuitsim.export import read_all

    if isinstance(luts, (str, Path)):
        return read_all(Path(luts))
    if isinstance(luts, dict):
        return luts
    raise InputRangeError(f"luts must be a LUT export file (circuitsim export --all --out FILE.npz) or "
                          f"circuitsim.export.read_all(FILE), got {type(luts).__name__}")


def _need(luts: dict, block: str, layer: str):
    if block not in luts:
        raise ArtifactError(f"{layer} needs the {block!r} tables; the LUT export holds "
                            f"{', '.join(luts) or 'none'} (circuitsim export --all --out FILE.npz)")
    return luts[block]


#: The largest uniform grid a non-uniform LUT grid is refined onto (:func:`uniform_refinement`).
MAX_REFINED_POINTS = 4097


def uniform_refinement(x: np.ndarray, max_points: int = MAX_REFINED_POINTS) -> np.ndarray | None:
    """A uniform grid holding every point of the increasing grid ``x`` (its knots on one lattice x0 + k·h,
    h = the smallest spacing / m for the least m = 1..16 that fits, to 1e-9 of h), or None when there is none
    with at most ``max_points`` points. Piecewise-linear interpolation of a table resampled onto it
    (``numpy.interp`` at the new points) is the same function: every old knot is a new one, and between knots
    the function was already linear, so a segment is found arithmetically instead of by a search."""
    x = np.asarray(x, float)
    d = np.diff(x)
    for m in range(1, 17):
        h = d.min() / m
        k = (x - x[0]) / h
        if np.all(np.abs(k - np.round(k)) <= 1e-9 * np.maximum(1.0, k)) and round(k[-1]) + 1 <= max_points:
            return x[0] + h * np.arange(int(round(k[-1])) + 1)
    return None


class Interp1d(torch.nn.Module):
    """``numpy.interp`` on a fixed grid (end values held), d/dx the segment slope. A uniform grid (decided
    once, here) finds the segment arithmetically; a non-uniform one whose knots lie on one lattice is refined
    onto it (:func:`uniform_refinement`, the same function); others use ``bucketize``. No host syncs in
    forward."""

    def __init__(self, x: np.ndarray, *tables: np.ndarray, dtype=torch.float32):
        super().__init__()
        x = np.asarray(x, float)
        d = np.diff(x)
        fine = None if np.allclose(d, d[0], rtol=1e-9, atol=0.0) else uniform_refinement(x)
        if fine is not None:
            tables = tuple(np.interp(fine, x, np.asarray(t, float)) for t in tables)
            x, d = fine, np.diff(fine)
        self.uniform = bool(np.allclose(d, d[0], rtol=1e-9, atol=0.0))
        self.x0, self.x1, self.n = float(x[0]), float(x[-1]), x.size
        self.inv_step = float((x.size - 1) / (x[-1] - x[0]))
        self.register_buffer("xp", torch.as_tensor(x, dtype=dtype))
        for k, t in enumerate(tables):
            t = np.asarray(t, float)
            slope = np.diff(t) / d
            self.register_buffer(f"slope{k}", torch.as_tensor(slope, dtype=dtype))
            self.register_buffer(f"icept{k}", torch.as_tensor(t[:-1] - slope * x[:-1], dtype=dtype))

    def segment(self, x: torch.Tensor):
        xc = x.clamp(self.x0, self.x1)
        if self.uniform:
            i = ((xc.detach() - self.x0) * self.inv_step).floor().long().clamp(0, self.n - 2)
        else:
            i = (torch.bucketize(xc.detach(), self.xp, right=True) - 1).clamp(0, self.n - 2)
        return xc, i

    def forward(self, x: torch.Tensor, k: int = 0, seg=None) -> torch.Tensor:
        xc, i = self.segment(x) if seg is None else seg
        flat = i.reshape(-1)  # index_select: several times faster on CPU than advanced indexing
        icept = getattr(self, f"icept{k}").index_select(0, flat).view(i.shape)
        slope = getattr(self, f"slope{k}").index_select(0, flat).view(i.shape)
        return icept + slope * xc


def _hat_params(x: np.ndarray):
    """(grid, 1/left width, 1/right width) of the hat functions of a piecewise-linear grid (0 at the ends:
    the end values are held)."""
    d = np.diff(x)
    il = np.concatenate([[0.0], 1.0 / d])
    ir = np.concatenate([1.0 / d, [0.0]])
    return x, il, ir


def _hats(v: torch.Tensor, grid, il, ir, lo: float, hi: float) -> torch.Tensor:
    """h_g(v) for every grid point g (new last axis): Σ_g h_g(v)·f_g = numpy.interp(v, grid, f); ``lo``,
    ``hi`` the grid's ends as Python floats (no host sync)."""
    vc = v.clamp(lo, hi).unsqueeze(-1)
    left = 1.0 + (vc - grid) * il
    right = 1.0 + (grid - vc) * ir
    return torch.minimum(left, right).clamp(min=0.0)


def _hats_uniform(v: torch.Tensor, lo: float, inv_step: float, n: int) -> torch.Tensor:
    """:func:`_hats` on a uniform grid of ``n`` points from ``lo`` (step 1/``inv_step``): the two non-zero
    hats (1 − t at the segment's left point, t at its right) scattered into zeros — the same numbers, a
    fraction of the elementwise work (the dense form touches all n hats of every input several times)."""
    u = ((v - lo) * inv_step).clamp(0.0, n - 1.0)
    i = u.detach().floor().clamp(max=n - 2)
    t = (u - i).unsqueeze(-1)
    i = i.long().unsqueeze(-1)
    out = v.new_zeros(v.shape + (n,))
    out.scatter_(-1, i, 1.0 - t)
    return out.scatter_(-1, i + 1, t)



def round_ste(w: torch.Tensor, limit: int) -> torch.Tensor:
    """round(clamp(w, −limit, limit)) forward; gradient 1 inside the range (straight through), 0 outside."""
    wc = w.clamp(-limit, limit)
    return wc + (torch.round(wc) - wc).detach()


def _parse_mode(mode) -> Mode:
    return Mode.parse(mode)


# -- LeCA encoder -------------------------------------------------------------------------------------
@dataclass
class HardwareInstance:
    """One fabricated LeCA sensor: standard normals of every per-instance mismatch term (fixed at
    fabrication), scaled by the LUT σ inside the layer. Shapes: ``z_psf`` (n_pe, 4) per PE column,
    ``z_scm`` (n_pe, 4, 16) per PE, kernel slot and MAC, ``z_fvf`` (n_pe, 4, 2) per o-buffer FVF (the
    PE's 4 slots serve every pass of a repetitive readout, as in the frame simulator); ``prnu_z``/``dsnu_z`` (H, W) per pixel (gain 1 + PRNU·z, dark factor max(0, 1 + DSNU·z)); ``cds_z`` (H, W) per
    pixel, the normal of its CDS output's mismatch σ_mm(N)·z."""

    z_psf: torch.Tensor
    z_scm: torch.Tensor
    z_fvf: torch.Tensor
    prnu_z: torch.Tensor
    dsnu_z: torch.Tensor
    cds_z: torch.Tensor

    @classmethod
    def draw(cls, n_pe: int, n_slots: int, raw_shape: tuple, generator: torch.Generator | None = None,
             dtype=torch.float32, device=None) -> HardwareInstance:
        def z(*shape):
            return torch.randn(shape, generator=generator, dtype=dtype, device=device)

        return cls(z(n_pe, 4), z(n_pe, n_slots, MACS), z(n_pe, n_slots, 2), z(*raw_shape), z(*raw_shape),
                   z(*raw_shape))

    @classmethod
    def from_seed(cls, seed: int, n_pe: int, n_slots: int, raw_shape: tuple, dtype=torch.float32) -> HardwareInstance:
        return cls.draw(n_pe, n_slots, raw_shape, torch.Generator().manual_seed(int(seed)), dtype)

    def to(self, *args, **kwargs) -> HardwareInstance:
        return HardwareInstance(*(t.to(*args, **kwargs) for t in
                                  (self.z_psf, self.z_scm, self.z_fvf, self.prnu_z, self.dsnu_z, self.cds_z)))


class LecaEncoder(torch.nn.Module):
    """The LeCA compressive encoder as a layer (see the module docstring for the chain and noise model).

    ``luts``: a LUT export file holding pixel_4t, psf, scm, fvf (``circuitsim export --all``) or
    ``read_all``'s dict; ``n_ch`` output channels (> 4: repetitive readout, ceil(n_ch/4) passes);
    ``q_bits`` in 1.5, 2, 3, 4; ``mode``; ``weights`` optional initial Bayer kernels (n_ch, 4, 4) integers
    in −15..15; exposure, flux at image value 1 and ADC full scale as in
    :class:`~circuitsim.sensor.leca.LecaConfig`; ``generator`` for every draw; ``resample`` = batch |
    epoch | fixed; ``sensor_shape`` (H, W) of the raw array for the per-pixel fixed pattern (default:
    taken from the first input). Forward returns the ADC codes as floats (N, n_ch, H/4, W/4), with
    straight-through gradients; :meth:`analog` returns v_d (V).
    """

    def __init__(self, luts, n_ch: int, q_bits: float = 4, mode: Mode | str = Mode.NOISY, *, weights=None,
                 exposure_s: float = 10e-3, max_flux_per_s: float = 2.0e6, adc_full_scale_v: float = 0.5,
                 generator: torch.Generator | None = None, resample: str = "batch",
                 eval_temporal_noise: bool = False, train_full_scale: bool = True, dtype=torch.float32):
        super().__init__()
        from circuitsim.sensor import leca

        if isinstance(n_ch, bool) or not isinstance(n_ch, (int, np.integer)) or n_ch < 1:
            raise InputRangeError(f"n_ch must be a positive integer (> 4 uses repetitive readout), got {n_ch!r}")
        if q_bits not in leca.Q_BITS:
            raise InputRangeError(f"q_bits must be one of {', '.join(map(str, leca.Q_BITS))}, got {q_bits!r}")
        if resample not in ("batch", "epoch", "fixed"):
            raise InputRangeError(f"resample must be batch, epoch or fixed, got {resample!r}")
        if not (exposure_s > 0 and max_flux_per_s >= 0 and adc_full_scale_v > 0):
            raise InputRangeError("exposure_s and adc_full_scale_v must be > 0 and max_flux_per_s >= 0")
        luts = _luts(luts)
        pix, psf, scm, fvf = (_need(luts, b, "LecaEncoder") for b in ("pixel_4t", "psf", "scm", "fvf"))
        self.mode = _parse_mode(mode)
        self.n_ch, self.q_bits = int(n_ch), q_bits
        self.levels = 3 if q_bits == 1.5 else 2 ** int(q_bits)
        self.passes = -(-self.n_ch // OUTPUTS_PER_PASS)
        self.n_slots = self.passes * OUTPUTS_PER_PASS
        # the PE's 4 kernel slots (SCM word positions, o-buffer pairs, FVFs) serve every pass
        self._slot_pe = [s % OUTPUTS_PER_PASS for s in range(self.n_slots)]
        self.exposure_s, self.max_flux_per_s = float(exposure_s), float(max_flux_per_s)
        self.generator, self.resample, self.eval_temporal_noise = generator, resample, eval_temporal_noise
        self.dtype_ = dtype

        # pixel
        s = pix.scalar
        self.qe, self.cg, self.fw = s("quantum_efficiency"), s("conversion_gain_V_per_e"), s("full_well_e")
        self.v_rst = s("v_fd_reset_V")
        self.read_noise, self.dark_e_per_s = s("read_noise_V"), s("dark_current_e_per_s")
        self.prnu, self.dsnu = s("prnu_fraction"), s("dsnu_fraction")
        cds = pix.table("cds")
        self.cds_e = Interp1d(cds.x, cds.mean_values, dtype=dtype)
        mm = pix.table("cds_mismatch_sigma")
        self.cds_mm = Interp1d(mm.x, mm.mean_values, dtype=dtype)
        self.e_max = float(cds.x[-1])
        self.v_dark, self.v_pix_lo = leca.V_PIX_DARK_V, 0.2
        # PSF and FVF
        p = psf.table("transfer")
        self.psf = Interp1d(p.x, p.mean_values, p.sigma_values, dtype=dtype)
        self.psf_line = (psf.scalar("ideal_offset_V"), psf.scalar("ideal_gain"))
        self.psf_thermal = psf.scalar("thermal_sigma_V")
        f = fvf.table("transfer")
        self.fvf = Interp1d(f.x, f.mean_values, f.sigma_values, dtype=dtype)
        self.fvf_gain = fvf.scalar("ideal_gain")
        self.fvf_line = (fvf.scalar("ideal_offset_V"), self.fvf_gain)
        # SCM
        mac = scm.table("mac")
        if mac.sigma_values is None:
            raise ArtifactError("the scm export has its mismatch sigma on another axis than v_in (mac_sigma); "
                                "LecaEncoder needs it on the MAC grid")
        grid, il, ir = _hat_params(np.asarray(mac.axes[0], float))
        self.register_buffer("hat_grid", torch.as_tensor(grid, dtype=dtype))
        self.register_buffer("hat_il", torch.as_tensor(il, dtype=dtype))
        self.register_buffer("hat_ir", torch.as_tensor(ir, dtype=dtype))
        self.G = grid.size
        self.scm_lo, self.scm_hi = float(grid[0]), float(grid[-1])
        d = np.diff(grid)
        self.hat_uniform = bool(np.allclose(d, d[0], rtol=1e-9, atol=0.0))
        self.hat_inv_step = float((grid.size - 1) / (grid[-1] - grid[0]))
        self.register_buffer("inj_p", torch.as_tensor(scm.table("injection_p").mean_values, dtype=torch.float64))
        self.register_buffer("inj_n", torch.as_tensor(scm.table("injection_n").mean_values, dtype=torch.float64))
        self.register_buffer("scm_sigma", torch.as_tensor(mac.sigma_values, dtype=torch.float64))
        self.register_buffer("scm_thermal", torch.as_tensor(scm.table("thermal_sigma").mean_values, dtype=torch.float64))
        self.c_unit, self.c_out, self.v_cm = scm.scalar("c_unit_F"), scm.scalar("c_out_F"), scm.scalar("v_cm_V")
        self.scm_reset_sigma = scm.scalar("reset_sigma_V")
        self.rho = (scm.scalar("pedestal_p_V"), scm.scalar("pedestal_n_V"))
        self._check_interface()

        # trainable parameters
        if weights is None:
            init = leca.default_weights(self.n_ch).astype(float)
        else:
            init = self.check_weights(weights).astype(float)
        self.weight = torch.nn.Parameter(torch.as_tensor(init, dtype=dtype))
        log_fs = torch.tensor(math.log(adc_full_scale_v), dtype=dtype)
        self.log_full_scale = torch.nn.Parameter(log_fs) if train_full_scale else None
        if not train_full_scale:
            self.register_buffer("log_full_scale_fixed", log_fs)
        self.register_buffer("clipped_inputs", torch.zeros((), dtype=torch.int64))
        self.instance: HardwareInstance | None = None
        self._front_fn = self._front  # torch.compile(self._front) after .compile()

    # -- checks and conversions ------------------------------------------------------------------------
    def _check_interface(self):
        """The PSF output over every possible i-buffer level (plus 5 σ of PSF mismatch in noisy mode) must
        stay inside the SCM's calibrated input range (checked once here, as leca.check_interface per frame)."""
        if self.mode == Mode.IDEAL:
            return
        from circuitsim.sensor import leca

        v = torch.tensor([self.v_pix_lo, self.v_dark], dtype=torch.float64)
        out = self.psf(v.to(self.psf.xp.dtype)).double()
        sig = self.psf(v.to(self.psf.xp.dtype), 1).double() * (leca.PSF_MARGIN_SIGMA if self.mode == Mode.NOISY else 0)
        if float(out[0] - sig[0]) < self.scm_lo or float(out[1] + sig[1]) > self.scm_hi:
            raise InputRangeError(f"the PSF output spans {float(out[0]):.3f}..{float(out[1]):.3f} V, outside the "
                                  f"SCM's calibrated input range {self.scm_lo:g}..{self.scm_hi:g} V with the "
                                  "mismatch margin at this operating point")

    @staticmethod
    def check_weights(weights) -> np.ndarray:
        w = np.asarray(weights)
        if w.ndim != 3 or w.shape[1:] != (BLOCK, BLOCK):
            raise InputRangeError(f"weights must have shape (n_ch, 4, 4), got {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(np.mod(w, 1) != 0) or np.abs(w).max() > MAX_WEIGHT:
            raise InputRangeError("weights must be integers in -15..15 (5-bit sign-magnitude: sign + 4-bit "
                                  "magnitude, the hardware range)")
        return w.astype(np.int64)

    def hardware_weights(self) -> np.ndarray:
        """The integer Bayer kernels the hardware holds (n_ch, 4, 4), for ``LecaConfig(weights=...)``."""
        return np.rint(self.weight.detach().clamp(-MAX_WEIGHT, MAX_WEIGHT).double().cpu().numpy()).astype(np.int64)

    @property
    def full_scale_v(self) -> torch.Tensor:
        return torch.exp(self.log_full_scale if self.log_full_scale is not None else self.log_full_scale_fixed)

    def leca_config(self, mode=None):
        """The :class:`~circuitsim.sensor.leca.LecaConfig` of this layer (weights, q_bits, full scale, ...)."""
        from circuitsim.sensor.leca import LecaConfig

        return LecaConfig(weights=self.hardware_weights(), q_bits=self.q_bits, exposure_s=self.exposure_s,
                          max_flux_per_s=self.max_flux_per_s, adc_full_scale_v=float(self.full_scale_v.detach()),
                          mode=mode or self.mode)

    # -- instance --------------------------------------------------------------------------------------
    def resample_instance(self, raw_shape: tuple | None = None) -> HardwareInstance:
        """Draw a new hardware instance from the layer's generator (for ``resample='epoch'``)."""
        if raw_shape is None:
            if self.instance is None:
                raise InputRangeError("give raw_shape=(H, W) for the first instance (or run a forward)")
            raw_shape = tuple(self.instance.prnu_z.shape)
        dev = self.weight.device
        gen_dev = self.generator.device if self.generator is not None else dev
        inst = HardwareInstance.draw(raw_shape[1] // BLOCK, OUTPUTS_PER_PASS, raw_shape, self.generator,
                                     self.weight.dtype, gen_dev)
        self.instance = inst.to(device=dev)
        return self.instance

    def set_instance(self, instance: HardwareInstance) -> None:
        self.instance = instance.to(device=self.weight.device, dtype=self.weight.dtype)

    def _randn(self, shape, like: torch.Tensor) -> torch.Tensor:
        gen_dev = self.generator.device if self.generator is not None else like.device
        return torch.randn(shape, generator=self.generator, dtype=like.dtype, device=gen_dev).to(like.device)

    def draw_temporal_noise(self, raw: torch.Tensor):
        """Standard normals of one call's temporal noise, drawn from the layer's generator: ``z_pix``
        (passes, 3, N, H, W) — photon/dark shot, read noise, PSF kT/C per pixel and readout — and ``z_out``
        (passes, N, H/4, W/4, 2·slots) — the SCM's propagated kT/C per o-buffer. Drawn outside
        :meth:`_chain` so that a compiled chain (:meth:`compile`) has no graph break."""
        n, h, w = raw.shape
        like = self.weight
        return (self._randn((self.passes, 3, n, h, w), like),
                self._randn((self.passes, n, h // BLOCK, w // BLOCK, 2 * self.n_slots), like))

    def compile(self, **kwargs) -> LecaEncoder:
        """Compile the elementwise front end (pixel, PSF, hat basis: :meth:`_front`) with ``torch.compile``,
        which fuses it into a few loops; the noise is drawn eagerly from the layer's generator and passed in,
        so the compiled graph has no break (``torch._dynamo.explain(layer._chain)`` shows none either).
        The first call compiles (tens of seconds on CPU). Returns self."""
        self._front_fn = torch.compile(self._front, **kwargs)
        return self

    # -- the chain -------------------------------------------------------------------------------------
    def _raw(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4 and x.shape[1] == 3:  # RGB -> RGGB quads (the 2x2x3 kernel's raw equivalent)
            n, _, h, w = x.shape
            raw = x.new_empty((n, 2 * h, 2 * w))
            raw[:, 0::2, 0::2] = x[:, 0]
            raw[:, 0::2, 1::2] = x[:, 1]
            raw[:, 1::2, 0::2] = x[:, 1]
            raw[:, 1::2, 1::2] = x[:, 2]
            x = raw
        elif x.dim() == 4 and x.shape[1] == 1:
            x = x[:, 0]
        if x.dim() != 3 or x.shape[-1] % BLOCK or x.shape[-2] % BLOCK:
            raise InputRangeError(f"input must be raw Bayer (N, H, W) or (N, 1, H, W) with sides divisible by 4, "
                                  f"or RGB (N, 3, H/2, W/2), got {tuple(x.shape)}")
        return x

    def _pixel(self, raw: torch.Tensor, inst: HardwareInstance | None, z_shot=None, z_read=None) -> torch.Tensor:
        """i-buffer voltage of every pixel (N, H, W), one readout: V_dark − CDS(N), CDS the calibrated
        electrons → CDS-output table. ``inst``: the pixel's fixed pattern (PRNU gain, DSNU dark factor, CDS
        mismatch σ_mm(N)·z) and dark current apply; ``z_shot``, ``z_read`` (standard normals): shot noise
        (Gaussian, √N) and read noise."""
        flux_e = raw * (self.max_flux_per_s * self.exposure_s * self.qe)  # expected photo-electrons
        if inst is not None:
            gain = 1.0 + self.prnu * inst.prnu_z
            dark = (1.0 + self.dsnu * inst.dsnu_z).clamp(min=0.0)
            flux_e = flux_e * gain + self.dark_e_per_s * self.exposure_s * dark
        if z_shot is not None:
            mu = flux_e.clamp(max=1e3 * self.e_max)
            n_e = (mu + mu.clamp(min=0).sqrt() * z_shot).clamp(min=0.0)
            dv = self.cds_e(n_e) + self.read_noise * z_read
        else:
            n_e = flux_e
            dv = self.cds_e(n_e)
        if inst is not None:
            dv = dv + self.cds_mm(n_e) * inst.cds_z
        return (self.v_dark - dv).clamp(self.v_pix_lo, self.v_dark)

    def _taps(self, v: torch.Tensor) -> torch.Tensor:
        """(N, H, W) -> (N, nby, nbx, 16), tap m = 4·row + column of each 4x4 block."""
        n, h, w = v.shape
        return v.reshape(n, h // BLOCK, BLOCK, w // BLOCK, BLOCK).permute(0, 1, 3, 2, 4).reshape(
            n, h // BLOCK, w // BLOCK, MACS)

    def _coefficients(self, wq: torch.Tensor):
        """From the quantized weights (n_slots, 16): per buffer b (p, n) the linear coefficients on v_in
        (n_slots, 16), the propagated factor P·recv (for noise) and P (for injection), the constants, and the
        share of the reset level each buffer still carries after the 16 MACs (for the reset kT/C)."""
        mag = wq.abs()
        neg = (wq < 0).detach()
        cs = mag * self.c_unit
        alpha = self.c_out / (self.c_out + cs)
        beta = 1.0 - alpha
        out = []
        hard = self.mode != Mode.IDEAL
        for b, recv in ((0, ~neg), (1, neg)):
            a = torch.where(recv, alpha, torch.ones_like(alpha))
            # P_m = prod_{j > m} a_j  (reverse cumulative product, exclusive)
            rev = torch.flip(a, [-1])
            excl = torch.cumprod(torch.cat([torch.ones_like(rev[:, :1]), rev[:, :-1]], -1), -1)
            prop = torch.flip(excl, [-1])
            total = prop[:, 0] * a[:, 0]
            r = recv.to(alpha.dtype)
            rho = self.rho[b] if hard else 0.0
            c_b = torch.where(recv, alpha, torch.ones_like(alpha))
            const = total * (self.v_cm + rho) + (prop * (r * beta * 2 * self.v_cm - rho * c_b)).sum(-1)
            out.append((-(prop * r * beta), prop * r, prop, const, total))
        return out

    def _words(self, wq: torch.Tensor) -> torch.Tensor:
        w = wq.detach().round().long()
        return torch.where(w < 0, 16 - w, w)

    def _front(self, raw, inst, z_shot=None, z_read=None, z_psf=None):
        """One readout of the pixel array up to the SCM's inputs: the taps v_in (N, nby, nbx, 16) and their
        hat basis (N, nby, nbx, 16·G). ``inst``: mismatch on; ``z_*``: temporal noise. Elementwise only
        (what :meth:`compile` fuses)."""
        n, h, w = raw.shape
        nby, nbx = h // BLOCK, w // BLOCK
        v_pix = self._pixel(raw, inst, z_shot, z_read)
        if self.mode == Mode.IDEAL:
            vin = self.psf_line[0] + self.psf_line[1] * v_pix
        else:
            seg = self.psf.segment(v_pix)
            vin = self.psf(v_pix, 0, seg)
            if inst is not None:
                z_col = inst.z_psf.reshape(1, 1, nbx * BLOCK)  # PE bx, column c -> raw column 4 bx + c
                vin = vin + self.psf(v_pix, 1, seg) * z_col
            if z_psf is not None:
                vin = vin + self.psf_thermal * z_psf
        taps = self._taps(vin)                                      # (N, nby, nbx, 16)
        if self.hat_uniform:
            hats = _hats_uniform(taps, self.scm_lo, self.hat_inv_step, self.G)
        else:
            hats = _hats(taps, self.hat_grid, self.hat_il, self.hat_ir, self.scm_lo, self.scm_hi)
        return taps, hats.reshape(n, nby, nbx, MACS * self.G)

    def _chain(self, raw: torch.Tensor, mismatch: bool, inst, noise=None):
        """Differential ADC input v_d (N, n_ch, nby, nbx) in V. ``noise``: None or
        :meth:`draw_temporal_noise`'s standard normals (temporal noise on). No host syncs, no random draws
        (compilable)."""
        temporal = noise is not None
        dtype = self.weight.dtype
        raw = raw.to(dtype)
        nbx = raw.shape[-1] // BLOCK
        wq = round_ste(self.weight, MAX_WEIGHT).reshape(self.n_ch, MACS)
        if self.n_slots > self.n_ch:  # unused slots of the last pass: weight 0
            wq = torch.cat([wq, wq.new_zeros((self.n_slots - self.n_ch, MACS))])
        words = self._words(wq)
        (lin_p, pr_p, pp_p, c_p, carry_p), (lin_n, pr_n, pp_n, c_n, carry_n) = self._coefficients(wq)
        hard = self.mode != Mode.IDEAL
        G = self.G
        # coefficients on the basis v_in (16) and hats (16 x G) for the 2 * n_slots outputs
        lin_coef = torch.cat([lin_p, lin_n], 0).transpose(0, 1)              # (16, 2 slots)
        cols = []
        for lin, pp, inj in ((lin_p, pp_p, self.inj_p), (lin_n, pp_n, self.inj_n)):
            if hard:
                t = inj[:, words].to(dtype).permute(1, 2, 0)          # (slots, 16, G): T_b[g, w_km]
                hat_coef = pp.unsqueeze(-1) * t
            else:
                hat_coef = lin.new_zeros((self.n_slots, MACS, G))
            cols.append(hat_coef.reshape(self.n_slots, MACS * G))              # (slots, 16 G)
        coef = torch.cat(cols, 0).transpose(0, 1)  # (16 G, 2 slots)
        const = torch.cat([c_p, c_n])
        if mismatch:  # per PE column: σ(v_in, w)·z on the receiving buffer, propagated
            sig = self.scm_sigma[:, words].to(dtype).permute(1, 2, 0)        # (slots, 16, G)
            z = inst.z_scm[:, self._slot_pe]                                 # (nbx, slots, 16)
            mm = []
            for pr in (pr_p, pr_n):
                c = (pr.unsqueeze(-1) * sig).unsqueeze(0) * z.unsqueeze(-1)   # (nbx, slots, 16, G)
                mm.append(c.reshape(nbx, self.n_slots, MACS * G))
            coef = coef.unsqueeze(0) + torch.cat(mm, 1).transpose(1, 2)     # (nbx, 16 G, 2 slots)
        if temporal:
            th = self.scm_thermal[words].to(dtype)
            # each MAC's kT/C propagated to the end, plus each buffer's reset kT/C_out carried through the row
            sd = torch.cat([((pr * th).pow(2).sum(-1) + (carry * self.scm_reset_sigma).pow(2)).sqrt()
                            for pr, carry in ((pr_p, carry_p), (pr_n, carry_n))])  # (2 slots)
        need_passes = self.passes if temporal else 1
        outs = []
        for p in range(need_passes):
            zp = noise[0][p] if temporal else (None, None, None)
            taps, hats = self._front_fn(raw, inst if mismatch else None, zp[0], zp[1], zp[2])
            if mismatch:
                y = torch.einsum("nyxq,xqk->nyxk", hats, coef)
            else:
                y = hats @ coef
            y = y + (taps @ lin_coef + const)
            if temporal:
                y = y + sd * noise[1][p]
            outs.append(y)
        if need_passes == 1:
            y = outs[0]
        else:  # pass p's outputs are the slots 4p..4p+3 of each buffer
            sel = []
            for b in range(2):
                for p in range(self.passes):
                    lo = b * self.n_slots + p * OUTPUTS_PER_PASS
                    sel.append(outs[p][..., lo: lo + OUTPUTS_PER_PASS])
            y = torch.cat(sel, -1)
        vp, vn = y[..., : self.n_slots], y[..., self.n_slots:]
        if self.mode == Mode.IDEAL:
            vd = self.fvf_gain * (vp - vn)
        else:
            sp, sn = self.fvf.segment(vp), self.fvf.segment(vn)
            fp, fn = self.fvf(vp, 0, sp), self.fvf(vn, 0, sn)
            if mismatch:
                fp = fp + self.fvf(vp, 1, sp) * inst.z_fvf[:, self._slot_pe, 0]
                fn = fn + self.fvf(vn, 1, sn) * inst.z_fvf[:, self._slot_pe, 1]
            vd = fp - fn
        return vd[..., : self.n_ch].permute(0, 3, 1, 2)

    def _noise_plan(self, raw_shape):
        """(temporal, mismatch, instance) of this call; draws a new instance when ``resample='batch'``."""
        noisy = self.mode == Mode.NOISY
        temporal = noisy and (self.training or self.eval_temporal_noise)
        inst = None
        if noisy:
            if self.instance is None or tuple(self.instance.prnu_z.shape) != tuple(raw_shape) or (
                    self.training and self.resample == "batch"):
                self.resample_instance(tuple(raw_shape))
            inst = self.instance
        return temporal, noisy, inst

    def analog(self, x: torch.Tensor) -> torch.Tensor:
        """Differential ADC input v_d (V), (N, n_ch, H/4, W/4)."""
        raw = self._raw(x)
        self.clipped_inputs += (raw < 0).sum()
        raw = raw.clamp(min=0.0)
        temporal, mismatch, inst = self._noise_plan(raw.shape[-2:])
        noise = self.draw_temporal_noise(raw) if temporal else None
        return self._chain(raw, mismatch, inst, noise)

    def quantize(self, v_d: torch.Tensor) -> torch.Tensor:
        """ADC codes (float) with a straight-through gradient to v_d and to the full scale."""
        fs = self.full_scale_v.to(v_d.dtype)
        u = (v_d + fs) * (self.levels / (2 * fs))
        return FloorSTE.apply(u, self.levels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.quantize(self.analog(x))

    def extra_repr(self) -> str:
        return (f"n_ch={self.n_ch}, q_bits={self.q_bits}, mode={self.mode}, passes={self.passes}, "
                f"resample={self.resample}")


def __getattr__(name):  # the SNN layer lives in torch_snn (it builds on this module's helpers)
    if name == "InSensorSnnLayer":
        from circuitsim.export.torch_snn import InSensorSnnLayer

        return InSensorSnnLayer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

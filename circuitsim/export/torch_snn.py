"""The in-sensor spiking first layer as a trainable PyTorch layer (torch is imported here only):
:func:`circuitsim.sensor.snn.simulate_snn_frame` from one LUT export (``circuitsim export --all``)::

    RGB (N, 3, H, W) in [0, 1] (1 = max_flux_per_s)
      -> floating diffusion v_fd = FD_signal(QE·Φ·t + dark)  (SPICE table over electrons) [+ shot noise, kT/C reset]
      -> in-pixel convolution, 3x3x3 kernel at stride 2, width codes −3..3: per phase the column voltage
         v_col solving Σ_t I(code_t, v_fd,t, v_col) = I_load(v_col) (bisection, 40 steps, as the block);
         I = (bilinear sqrt(I) table)², summed per column-grid segment once (a quadratic in the position
         in the segment) so each bisection step is one lookup; the positive- minus the negative-weight phase
      -> clip to the CDS's calibrated range, CDS transfer x + ε(x)   [+ σ(x)·z + kT/C]
      -> 2T comparator at V_CMP_REF + CDS output against the trip point of the bias that realises the
         channel threshold θ (the BN-folded threshold): spike = 1 if v_in > trip   [− σ_os(bias)·z per
         comparator: one per channel and output column, fixed per instance]

Gradients: the spike's backward is a surrogate (the derivative of a logistic of width ``surrogate_width_v``
on v_in − trip), the thresholds are trainable parameters (V), the weights are float parameters in code
units with a straight-through rounding (forward round(clamp(w, −3, 3))); the current's dependence on the
code is the forward difference of the width table (the table itself at integer codes). The column voltage's
gradient is the implicit-function one, dv_col/dx = −(∂F/∂x)/(∂F/∂v_col) with F = Σ I − I_load, computed
at the bisection's solution (one Newton step whose value is zero).

Noise (``mode`` = hard | noisy; the chain has no ideal transfer): shot noise is drawn as a Gaussian N(μ, μ)
(the simulator draws Poisson; same mean and variance), the FD reset kT/C per pixel and call, the CDS
mismatch and kT/C per output and call (as the simulator draws them), the comparator offsets once per
instance (:meth:`InSensorSnnLayer.resample_instance`; ``eval()`` keeps it and draws no temporal noise unless
``eval_temporal_noise=True``), all from the layer's ``torch.Generator``.
"""

from __future__ import annotations

import numpy as np
import torch

from circuitsim.blocks.modes import Mode
from circuitsim.errors import InputRangeError
from circuitsim.export.torch_layers import Interp1d, _luts, _need, round_ste

KERNEL, STRIDE, COLOURS = 3, 2, 3
TAPS = KERNEL * KERNEL * COLOURS
MAX_CODE = 3
BISECTION_STEPS = 40


class _SpikeSurrogate(torch.autograd.Function):
    """1(d > 0) forward; backward the logistic's derivative σ'(d/s)/s (s = width·1/(2 ln 9), the 10-90 %
    width of the logistic)."""

    @staticmethod
    def forward(ctx, d, width):
        ctx.save_for_backward(d)
        ctx.scale = width / (2.0 * np.log(9.0))
        return (d > 0).to(d.dtype)

    @staticmethod
    def backward(ctx, grad):
        (d,) = ctx.saved_tensors
        sig = torch.sigmoid(d / ctx.scale)
        return grad * sig * (1.0 - sig) / ctx.scale, None


class InSensorSnnLayer(torch.nn.Module):
    """The SNN first layer (see the module docstring). ``luts``: an export file holding pixel_4t,
    inpixel_conv, cds, comparator2t, or ``read_all``'s dict; ``channels`` output channels; ``weights``
    optional (C, 3, 3, 3) integer width codes −3..3; ``thresholds_v`` optional (C,) thresholds on the CDS
    output (V); exposure and flux at image value 1 as :class:`~circuitsim.sensor.snn.SnnConfig`. Forward:
    spikes (N, C, ny, nx) as floats with a surrogate gradient; :meth:`cds_output` the CDS output (V)."""

    def __init__(self, luts, channels: int, mode: Mode | str = Mode.HARD, *, weights=None, thresholds_v=None,
                 exposure_s: float = 10e-3, max_flux_per_s: float = 1.5e6, surrogate_width_v: float = 0.05,
                 generator: torch.Generator | None = None, eval_temporal_noise: bool = False,
                 dtype=torch.float32):
        super().__init__()
        from circuitsim.sensor import snn

        channels = snn.check_channels(channels)
        self.mode = Mode.parse(mode)
        if self.mode not in snn.MODES:
            raise InputRangeError(f"InSensorSnnLayer modes are {', '.join(str(m) for m in snn.MODES)} (the in-pixel "
                                  f"convolution has no ideal transfer), got {self.mode}")
        if not (exposure_s > 0 and max_flux_per_s >= 0 and surrogate_width_v > 0):
            raise InputRangeError("exposure_s and surrogate_width_v must be > 0 and max_flux_per_s >= 0")
        luts = _luts(luts)
        pix, conv, cds, cmp = (_need(luts, b, "InSensorSnnLayer") for b in ("pixel_4t", "inpixel_conv", "cds",
                                                                           "comparator2t"))
        self.channels = channels
        self.exposure_s, self.max_flux_per_s = float(exposure_s), float(max_flux_per_s)
        self.surrogate_width_v = float(surrogate_width_v)
        self.generator, self.eval_temporal_noise = generator, eval_temporal_noise
        self.v_ref = snn.V_CMP_REF_V
        s = pix.scalar
        self.qe, self.cg, self.fw = s("quantum_efficiency"), s("conversion_gain_V_per_e"), s("full_well_e")
        self.v_rst, self.ktc = s("v_fd_reset_V"), s("ktc_sigma_V")
        fd = pix.table("fd_signal")  # the FD level at the signal sample vs electrons (SPICE)
        self.fd_signal = Interp1d(fd.x, fd.mean_values, dtype=torch.float64)
        self.dark_e = s("dark_current_e_per_s") * self.exposure_s
        # in-pixel convolution tables (uniform v_g and v_col grids, as the block's kernel assumes)
        t = conv.table("unit_sqrt_current")
        vg, vcol = (np.asarray(a, float) for a in t.axes[1:])
        self.vg0, self.dvg, self.ng = float(vg[0]), float(vg[1] - vg[0]), vg.size
        self.vc0, self.dvc, self.nc = float(vcol[0]), float(vcol[1] - vcol[0]), vcol.size
        self.vc_hi = float(vcol[-1])
        sqrt_i = np.concatenate([np.zeros((1,) + t.mean_values.shape[1:]), t.mean_values])  # code 0: no device
        self.register_buffer("sqrt_i", torch.as_tensor(sqrt_i.reshape(-1), dtype=torch.float64))
        self.register_buffer("i_load", torch.as_tensor(conv.table("load_current").mean_values, dtype=torch.float64))
        # CDS and comparator
        c = cds.table("transfer")
        self.cds = Interp1d(c.x, c.mean_values, c.sigma_values, dtype=torch.float64)
        self.cds_lo, self.cds_hi = float(c.x[0]), float(c.x[-1])
        self.cds_thermal = cds.scalar("thermal_sigma_V")
        trip = cmp.table("trip")
        order = np.argsort(trip.mean_values)
        self.bias_of_trip = Interp1d(trip.mean_values[order], trip.x[order], dtype=torch.float64)
        self.trip_of_bias = Interp1d(trip.x, trip.mean_values, trip.sigma_values, dtype=torch.float64)
        self.trip_lo, self.trip_hi = float(trip.mean_values.min()), float(trip.mean_values.max())

        if weights is None:
            w0 = np.random.default_rng(0).integers(-MAX_CODE, MAX_CODE + 1, (channels, COLOURS, KERNEL, KERNEL))
        else:
            w0 = self.check_weights(weights, channels)
        th0 = np.linspace(-0.05, 0.05, channels) if thresholds_v is None else np.asarray(thresholds_v, float)
        if th0.shape != (channels,) or not np.all(np.isfinite(th0)):
            raise InputRangeError(f"thresholds_v needs one finite value per channel ({channels})")
        self.weight = torch.nn.Parameter(torch.as_tensor(w0, dtype=dtype))
        self.threshold_v = torch.nn.Parameter(torch.as_tensor(th0, dtype=dtype))
        self.register_buffer("clipped", torch.zeros((), dtype=torch.int64))
        self.z_offset: torch.Tensor | None = None  # (C, nx) comparator offsets of the instance

    # -- checks and conversions ------------------------------------------------------------------------
    @staticmethod
    def check_weights(weights, channels: int | None = None) -> np.ndarray:
        w = np.asarray(weights)
        if w.ndim != 4 or w.shape[1:] != (COLOURS, KERNEL, KERNEL) or (channels and w.shape[0] != channels):
            raise InputRangeError(f"weights must have shape (channels, 3, 3, 3), got {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(np.mod(w, 1) != 0) or np.abs(w).max() > MAX_CODE:
            raise InputRangeError(f"weights must be integer width codes in -{MAX_CODE}..{MAX_CODE}")
        return w.astype(np.int64)

    def hardware_weights(self) -> np.ndarray:
        """The integer width codes (C, 3, 3, 3) for ``SnnConfig(weights=...)``."""
        return np.rint(self.weight.detach().clamp(-MAX_CODE, MAX_CODE).double().cpu().numpy()).astype(np.int64)

    def snn_config(self, mode=None):
        """The :class:`~circuitsim.sensor.snn.SnnConfig` of this layer (codes, thresholds — clipped to the
        comparator's trip range, as the forward uses them — exposure, ...)."""
        from circuitsim.sensor.snn import SnnConfig

        th = (self.threshold_v.detach().double().cpu().numpy() + self.v_ref).clip(self.trip_lo + 1e-12, self.trip_hi - 1e-12) - self.v_ref
        return SnnConfig(weights=self.hardware_weights(), thresholds_v=th,
                         exposure_s=self.exposure_s, max_flux_per_s=self.max_flux_per_s, mode=mode or self.mode)

    @torch.no_grad()
    def fold_batchnorm(self, bn: torch.nn.BatchNorm2d, theta: float = 1.0, v_per_unit: float = 1.0,
                       v_zero_v: float = 0.0) -> None:
        """Set the thresholds from a trained BatchNorm2d + one-step LIF firing at y ≥ θ
        (:func:`circuitsim.blocks.comparator2t.fold_batchnorm`; the conv output x in units of ``v_per_unit``
        V about ``v_zero_v``). A channel with γ < 0 fires at x ≤ threshold: its weights and threshold are
        negated (the two phases swap; the CDS transfer is odd only up to its calibrated error)."""
        from circuitsim.blocks.comparator2t import fold_batchnorm

        th, inverted = fold_batchnorm(bn.weight.detach().cpu().numpy(), bn.bias.detach().cpu().numpy(),
                                      bn.running_mean.cpu().numpy(), bn.running_var.cpu().numpy(), eps=bn.eps,
                                      theta=theta, v_per_unit=v_per_unit, v_zero_v=v_zero_v)
        sign = torch.as_tensor(np.where(inverted, -1.0, 1.0), dtype=self.weight.dtype, device=self.weight.device)
        self.weight.mul_(sign.view(-1, 1, 1, 1))
        self.threshold_v.copy_(torch.as_tensor(th, dtype=self.weight.dtype) * sign)

    def resample_instance(self, nx: int | None = None) -> torch.Tensor:
        """Draw the comparator offsets (one per channel and output column) from the layer's generator."""
        if nx is None:
            if self.z_offset is None:
                raise InputRangeError("give nx (output columns) for the first instance (or run a forward)")
            nx = self.z_offset.shape[1]
        self.z_offset = self._randn((self.channels, nx))
        return self.z_offset

    def _randn(self, shape) -> torch.Tensor:
        dev = self.generator.device if self.generator is not None else self.weight.device
        return torch.randn(shape, generator=self.generator, dtype=torch.float64, device=dev).to(self.weight.device)

    # -- the chain -------------------------------------------------------------------------------------
    def _fd(self, img: torch.Tensor, temporal: bool) -> torch.Tensor:
        mu = self.qe * img * (self.max_flux_per_s * self.exposure_s) + self.dark_e
        if temporal:
            n_e = (mu + mu.sqrt() * self._randn(mu.shape)).clamp(min=0.0)
            reset_noise = self.ktc * self._randn(mu.shape)
        else:
            n_e, reset_noise = mu, 0.0
        return self.fd_signal(n_e) + reset_noise

    def _taps(self, v: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (N, ny, nx, 27), tap order (colour, row, column) as snn._taps."""
        win = v.unfold(2, KERNEL, STRIDE).unfold(3, KERNEL, STRIDE)  # (N, 3, ny, nx, 3, 3)
        n, _, ny, nx = win.shape[:4]
        return win.permute(0, 2, 3, 1, 4, 5).reshape(n, ny, nx, TAPS)

    def _current(self, code_f: torch.Tensor, gpos, vcol: torch.Tensor) -> torch.Tensor:
        """Σ_t I(code_t, v_g,t, v_col) (the block's bilinear sqrt(I), squared), code continuous for the
        gradient: at integer codes the table, between them linear in the current. ``gpos`` = (ig, fg) of the
        taps' gate voltages; ``vcol`` (..., 1)."""
        ig, fg = gpos
        tc = ((vcol - self.vc0) / self.dvc).clamp(0.0, self.nc - 1.0)
        ic = tc.detach().floor().clamp(max=self.nc - 2)
        fc = tc - ic
        ic = ic.long()
        k0 = code_f.detach().floor().clamp(max=MAX_CODE - 1)
        frac = code_f - k0
        k0 = k0.long()

        def dev(k):
            base = (k * self.ng + ig) * self.nc + ic
            t = self.sqrt_i
            s = ((1 - fg) * (1 - fc) * t[base] + fg * (1 - fc) * t[base + self.nc]
                 + (1 - fg) * fc * t[base + 1] + fg * fc * t[base + self.nc + 1])
            return s * s

        i0 = dev(k0)
        i_dev = i0 + frac * (dev(k0 + 1) - i0) if code_f.requires_grad else torch.where(frac > 0.5, dev(k0 + 1), i0)
        return i_dev.sum(-1)

    def _load(self, vcol: torch.Tensor) -> torch.Tensor:
        tc = ((vcol - self.vc0) / self.dvc)
        ic = tc.detach().floor().clamp(0, self.nc - 2)
        f = tc - ic
        ic = ic.long()
        return (1 - f) * self.i_load[ic] + f * self.i_load[ic + 1]

    def _segment_sums(self, ig, fg, k):
        """Per output, channel and column-grid segment the coefficients of Σ_t s_t(v_col)² = S0 + S1·f + S2·f²
        (f the position in the segment): s_t = sqrt(I) of tap t, bilinear in (v_g, v_col) as the block's
        kernel, so linear in f on each segment. ``ig``, ``fg`` (N, ny, nx, 27); ``k`` codes (C, 27) long.
        Returns three (N, ny, nx, C, nc − 1) tensors."""
        t = self.sqrt_i.view(MAX_CODE + 1, self.ng, self.nc)
        s0 = s1 = s2 = 0.0
        for tap in range(TAPS):
            kk = k[:, tap].view(1, 1, 1, -1)
            g = ig[..., tap].unsqueeze(-1)
            f = fg[..., tap].unsqueeze(-1).unsqueeze(-1)
            col = (1 - f) * t[kk, g] + f * t[kk, g + 1]          # (N, ny, nx, C, nc): s_t at the grid points
            a, b = col[..., :-1], col[..., 1:] - col[..., :-1]
            s0, s1, s2 = s0 + a * a, s1 + 2 * a * b, s2 + b * b
        return s0, s1, s2

    def _column(self, v_taps: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Column voltage of one phase: ``v_taps`` (N, ny, nx, 1, 27), ``codes`` (C, 27) magnitudes (float,
        straight-through) -> (N, ny, nx, C). The block's bisection (40 steps on the column grid's range,
        total current vs load), with the taps' currents summed per column-grid segment once."""
        tg = ((v_taps - self.vg0) / self.dvg).clamp(0.0, self.ng - 1.0)
        ig = tg.detach().floor().clamp(max=self.ng - 2)
        gpos = (ig.long(), tg - ig)
        c_d = codes.detach()
        with torch.no_grad():
            sums = self._segment_sums(gpos[0][..., 0, :], gpos[1].detach()[..., 0, :], c_d.round().long())
            shape = sums[0].shape[:-1]
            lo = torch.full(shape, self.vc0, dtype=torch.float64, device=v_taps.device)
            hi = torch.full(shape, self.vc_hi, dtype=torch.float64, device=v_taps.device)

            def total_and_load(v):
                tc = ((v - self.vc0) / self.dvc).clamp(0.0, self.nc - 1.0)
                ic = tc.floor().clamp(max=self.nc - 2)
                fc = tc - ic
                ic = ic.long()
                s0, s1, s2 = (x.gather(-1, ic.unsqueeze(-1)).squeeze(-1) for x in sums)
                load = (1 - fc) * self.i_load[ic] + fc * self.i_load[ic + 1]
                return s0 + (s1 + s2 * fc) * fc, load, (s1 + 2 * s2 * fc) / self.dvc, (
                    self.i_load[ic + 1] - self.i_load[ic]) / self.dvc

            for _ in range(BISECTION_STEPS):
                mid = 0.5 * (lo + hi)
                total, load = total_and_load(mid)[:2]
                up = total > load
                lo = torch.where(up, mid, lo)
                hi = torch.where(up, hi, mid)
            v = 0.5 * (lo + hi)
            active = (c_d != 0).any(-1)
            v = torch.where(active, v, torch.full_like(v, self.vc0))
            _, _, d_total, d_load = total_and_load(v)
            dfdv = d_total - d_load
            dfdv = torch.where(dfdv.abs() > 1e-15, dfdv, torch.full_like(dfdv, -1e-15))
        if not (torch.is_grad_enabled() and (v_taps.requires_grad or codes.requires_grad)):
            return v
        f = self._current(codes, gpos, v.unsqueeze(-1)) - self._load(v)
        return v - (f - f.detach()) / dfdv  # value v; gradient −(∂F/∂x)/(∂F/∂v) (implicit function)

    def cds_output(self, x: torch.Tensor) -> torch.Tensor:
        """The CDS output (V), (N, C, ny, nx), clipped inputs counted in ``clipped``."""
        if x.dim() != 4 or x.shape[1] != COLOURS or x.shape[2] < KERNEL or x.shape[3] < KERNEL:
            raise InputRangeError(f"input must be RGB (N, 3, H, W) with H, W >= 3, got {tuple(x.shape)}")
        temporal = self.mode == Mode.NOISY and (self.training or self.eval_temporal_noise)
        img = x.to(torch.float64).clamp(min=0.0)
        v_fd = self._fd(img, temporal)
        taps = self._taps(v_fd).unsqueeze(-2)                          # (N, ny, nx, 1, 27)
        wq = round_ste(self.weight.to(torch.float64), MAX_CODE).reshape(self.channels, TAPS)
        diff = self._column(taps, torch.relu(wq)) - self._column(taps, torch.relu(-wq))
        self.clipped += ((diff < self.cds_lo) | (diff > self.cds_hi)).sum()
        diff = diff.clamp(self.cds_lo, self.cds_hi)
        seg = self.cds.segment(diff)
        out = self.cds(diff, 0, seg)
        if temporal:
            out = out + self.cds(diff, 1, seg) * self._randn(out.shape) + self.cds_thermal * self._randn(out.shape)
        return out.permute(0, 3, 1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.cds_output(x)
        # the threshold the bias can realise: V_ref + θ inside the comparator's trip range (clipped)
        th = (self.v_ref + self.threshold_v.to(torch.float64)).clamp(self.trip_lo, self.trip_hi)
        bias = self.bias_of_trip(th)                                   # the comparator's bias per channel
        trip = self.trip_of_bias(bias).view(1, -1, 1, 1)
        d = (self.v_ref + out) - trip
        if self.mode == Mode.NOISY:
            nx = out.shape[-1]
            if self.z_offset is None or self.z_offset.shape[1] != nx:
                self.resample_instance(nx)
            d = d - self.trip_of_bias(bias, 1).view(1, -1, 1, 1) * self.z_offset.view(1, self.channels, 1, nx)
        return _SpikeSurrogate.apply(d, self.surrogate_width_v).to(self.weight.dtype)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, mode={self.mode}, kernel=3x3x3, stride=2"

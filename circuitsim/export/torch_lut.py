"""PyTorch modules for noise-aware training on the calibrated LUTs (torch is imported here only).

Modes are the blocks' :class:`~circuitsim.blocks.modes.Mode` (ideal / hard / noisy, the LeCA training
modalities; ``ideal`` was called ``soft`` here before):

- :class:`LutTransfer`: y = LUT_mean(x) (+ LUT_σ(x)·z in ``noisy`` mode), differentiable through the mean
  by the interpolation slope; ``ideal`` mode is the identity.
- :class:`StraightThroughQuantizer`: the ADC quantizer (LeCA Eq. 2): code k = clip(floor((x − v_lo)/Δ), 0,
  2^N − 1) with Δ = (v_hi − v_lo)/2^N, output v_lo + (k + ½)·Δ (the code's mid-point), whose backward pass
  is the straight-through estimator: gradient 1 inside [v_lo, v_hi], 0 outside. ``ideal`` skips quantizing;
  ``hard`` and ``noisy`` quantize alike (the quantizer has no random term).
"""

from __future__ import annotations

import torch

from circuitsim.blocks.modes import Mode
from circuitsim.export import LutTable


def interp_linear(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    """``numpy.interp`` in torch (end values held outside the grid); d/dx is the segment slope.

    A uniform grid (every exported LUT so far) finds the segment arithmetically; others use searchsorted.
    """
    xc = x.clamp(float(xp[0]), float(xp[-1]))
    n = xp.numel()
    step = (xp[-1] - xp[0]) / (n - 1)
    if torch.allclose(xp[1:] - xp[:-1], step.expand(n - 1), rtol=1e-9, atol=0.0):
        i = (((xc.detach() - xp[0]) / step).floor().long() + 1).clamp(1, n - 1)
    else:
        i = torch.searchsorted(xp, xc.detach().contiguous(), right=True).clamp(1, n - 1)
    slope = (fp[1:] - fp[:-1]) / (xp[1:] - xp[:-1])  # per segment: y = intercept + slope·x (two gathers)
    intercept = fp[:-1] - slope * xp[:-1]
    return intercept[i - 1] + slope[i - 1] * xc


class LutTransfer(torch.nn.Module):
    """A calibrated analog block as a layer: ``ideal`` identity, ``hard`` LUT mean, ``noisy`` mean + σ·z."""

    def __init__(self, table: LutTable, mode: Mode | str = Mode.NOISY, dtype=torch.float32):
        super().__init__()
        self.block = table.block
        self.mode = Mode.parse(mode)
        self.register_buffer("xp", torch.as_tensor(table.x, dtype=dtype))
        self.register_buffer("mean_fp", torch.as_tensor(table.mean_values, dtype=dtype))
        self.register_buffer("sigma_fp", torch.as_tensor(table.sigma_values, dtype=dtype))

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.mode == Mode.IDEAL:
            return x
        y = interp_linear(x, self.xp, self.mean_fp)
        if self.mode == Mode.NOISY:
            z = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
            y = y + interp_linear(x, self.xp, self.sigma_fp).detach() * z
        return y

    def extra_repr(self) -> str:
        return f"block={self.block}, mode={self.mode}, grid=[{float(self.xp[0]):g}, {float(self.xp[-1]):g}]"


class FloorSTE(torch.autograd.Function):
    """clip(floor(u), 0, levels − 1) forward; gradient 1 for u in [0, levels], else 0."""

    @staticmethod
    def forward(ctx, u, levels):
        ctx.save_for_backward(u)
        ctx.levels = levels
        return torch.clamp(torch.floor(u), 0, levels - 1)

    @staticmethod
    def backward(ctx, grad):
        (u,) = ctx.saved_tensors
        inside = (u >= 0) & (u <= ctx.levels)
        return grad * inside.to(grad.dtype), None


class StraightThroughQuantizer(torch.nn.Module):
    """N-bit uniform ADC over [v_lo, v_hi] (V); forward returns the reconstructed voltage of the code."""

    def __init__(self, bits: int, v_lo: float, v_hi: float, mode: Mode | str = Mode.HARD):
        super().__init__()
        if not 1 <= bits <= 16:
            raise ValueError(f"bits must be in 1..16, got {bits}")
        if not v_hi > v_lo:
            raise ValueError(f"need v_hi > v_lo, got [{v_lo}, {v_hi}]")
        self.bits, self.v_lo, self.v_hi, self.mode = bits, float(v_lo), float(v_hi), Mode.parse(mode)
        self.lsb_v = (self.v_hi - self.v_lo) / 2**bits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == Mode.IDEAL:
            return x
        u = (x - self.v_lo) / self.lsb_v  # code k covers [v_lo + kΔ, v_lo + (k+1)Δ)
        return self.v_lo + (FloorSTE.apply(u, 2**self.bits) + 0.5) * self.lsb_v

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """Integer output codes 0 .. 2^N − 1."""
        u = (x - self.v_lo) / self.lsb_v
        return torch.clamp(torch.floor(u), 0, 2**self.bits - 1).to(torch.int64)

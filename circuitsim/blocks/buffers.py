"""Shared machinery of the two analog buffers of the LeCA chain, the PMOS source follower (``psf``) and
the flipped voltage follower (``fvf``): both are modelled as a DC transfer LUT with an input-dependent
Gaussian mismatch spread (SPEC 4.5),

    v_out = LUT(v_in) + σ_mm(v_in)·z₁ + σ_th·z₂,    z₁, z₂ ~ N(0, 1)

LUT is the nominal DC transfer from SPICE on the fit grid (linear interpolation, ``numpy.interp`` rules),
σ_mm the instance-to-instance spread from Monte Carlo, σ_th an optional temporal (thermal / kT/C) term
that SPICE Monte Carlo does not contain. Modes, as in the LeCA training modalities: ``ideal`` (the
straight line offset + gain·v_in fitted to the nominal LUT), ``hard`` (the LUT: gain error, offset and
non-linearity) and ``noisy`` (LUT + random terms).

Energy per operation (J): E(v_in) = e₀ + e₁·v_in + e₂·v_in², a least-squares fit to VDD·I_VDD·T_op from
SPICE, where I_VDD is the static bias current drawn from VDD at the DC operating point of v_in.

The block modules (``psf.py``, ``fvf.py``) hold their parameters, netlist timing and ``SPEC``; this module
holds the kernel, its NumPy reference and the SPICE/fit steps they share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from circuitsim import config
from circuitsim.blocks.error_lut import draws  # noqa: F401 (also used as buffers.draws)
from circuitsim.blocks.kernels import check_range, interp_linear
from circuitsim.blocks.modes import IDEAL_CODE, NOISY_CODE, Mode
from circuitsim.calibration.contract import Fit, Prediction
from circuitsim.calibration.fitting import eval_polynomial, fit_polynomial, sigma_per_point
from circuitsim.spice.analyses import apply_point, dc_sweep, transient
from circuitsim.spice.measure import settling_time_s


@dataclass(frozen=True)
class BufferLut:
    """Calibrated tables of a buffer: input grid (V), nominal output (V) and mismatch σ (V) on it,
    energy coefficients (J, J/V, J/V²) and the straight line (offset V, gain V/V) of the ideal mode."""

    x_v: np.ndarray
    out_v: np.ndarray
    sigma_v: np.ndarray
    energy_coeffs: np.ndarray
    line_coeffs: np.ndarray

    @classmethod
    def from_arrays(cls, arrays: dict) -> "BufferLut":
        def vec(key):
            return np.ascontiguousarray(arrays[key], float)

        return cls(vec("lut_x_V"), vec("lut_out_V"), vec("lut_sigma_V"), vec("energy_coeffs"), vec("line_coeffs"))


# -- kernel and reference ---------------------------------------------------------------------------
@njit(fastmath=config.FASTMATH, cache=True)
def _buffer_kernel(v_in_v, x_v, out_lut_v, sigma_v, offset_v, gain, thermal_sigma_v, z_mismatch, z_thermal,
                   mode, out_v):
    for i in range(v_in_v.size):
        v = v_in_v[i]
        if mode == IDEAL_CODE:
            out_v[i] = offset_v + gain * v
            continue
        y = interp_linear(v, x_v, out_lut_v)
        if mode == NOISY_CODE:
            y += interp_linear(v, x_v, sigma_v) * z_mismatch[i] + thermal_sigma_v * z_thermal[i]
        out_v[i] = y


def validated(name: str, v_in_v, lut: BufferLut, mode) -> np.ndarray:
    Mode.parse(mode)
    v = np.ascontiguousarray(v_in_v, dtype=float)
    check_range(name, v, lut.x_v[0], lut.x_v[-1], "V")
    return v


def transfer(name: str, v_in_v, lut: BufferLut, mode, thermal_sigma_v: float, rng) -> np.ndarray:
    """Buffer output for each input (V) through the numba kernel; ``name`` labels range errors."""
    v = validated(name, v_in_v, lut, mode)
    z_mm, z_th = draws(v.shape, mode, thermal_sigma_v > 0, rng)
    out = np.empty_like(v)
    _buffer_kernel(v.ravel(), lut.x_v, lut.out_v, lut.sigma_v, lut.line_coeffs[0], lut.line_coeffs[1],
                   float(thermal_sigma_v), z_mm.ravel(), z_th.ravel(), Mode.parse(mode).code, out.ravel())
    return out


def transfer_reference(name: str, v_in_v, lut: BufferLut, mode, thermal_sigma_v: float, rng) -> np.ndarray:
    """Plain NumPy oracle of :func:`transfer` (same draws for the same ``rng`` state)."""
    v = validated(name, v_in_v, lut, mode)
    z_mm, z_th = draws(v.shape, mode, thermal_sigma_v > 0, rng)
    if mode == Mode.IDEAL:
        return lut.line_coeffs[0] + lut.line_coeffs[1] * v
    out = np.interp(v, lut.x_v, lut.out_v)
    if mode == Mode.NOISY:
        out = out + np.interp(v, lut.x_v, lut.sigma_v) * z_mm + thermal_sigma_v * z_th
    return out


def energy_J(v_in_v, lut: BufferLut) -> np.ndarray:
    """Energy per operation from VDD (J): e₀ + e₁·v_in + e₂·v_in²."""
    return eval_polynomial(lut.energy_coeffs, v_in_v)


# -- SPICE and fit --------------------------------------------------------------------------------
def dc_transfer(session, x, source: str, output: str, supply: str = "vdd"):
    """One DC sweep of ``source`` over the (uniformly spaced) points ``x``: (v_out, I drawn from ``supply``).

    The sweep runs from min(x) to max(x) at the smallest spacing of ``x``; every point of ``x`` must lie
    on that sweep (the fit and held-out grids are offset by half a step, so their union is uniform).
    """
    x = np.asarray(x, float)
    xs = np.unique(x)
    step = float(np.min(np.diff(xs))) if xs.size > 1 else 1.0
    k = (x - xs[0]) / step
    if not np.allclose(k, np.rint(k), atol=1e-6):
        raise ValueError(f"the input points are not on one uniform DC sweep of step {step:g} V")
    wave = dc_sweep(session, source, float(xs[0]), float(xs[-1]) + step / 1000, step, [output, f"{supply}#branch"],
                    point=f"{source} {xs[0]:g}..{xs[-1]:g} V")
    sweep = wave["sweep_V"].to_numpy()
    out = np.interp(x, sweep, wave[f"v_{output}_V"].to_numpy())
    current = -np.interp(x, sweep, wave[f"i_{supply}_A"].to_numpy())
    return out, current


def monte_carlo_transfer(session, task, source: str, output: str) -> dict:
    """``out_V`` of shape (samples, points): one seeded mismatch draw and one DC sweep per sample."""
    x = np.asarray(task.inputs, float)
    out = np.empty((len(task.seeds), x.size))
    for s, seed in enumerate(task.seeds):
        apply_point(session, seed)
        out[s], _ = dc_transfer(session, x, source, output)
    return {"out_V": out}


def step_settling_s(session, v_in, v_prev, *, output: str, step_s: float, stop_s: float, t_start_s: float,
                    t_final_s: float, tolerance_v: float, params: dict) -> float:
    """Settling time of ``output`` after an input step v_prev -> v_in at ``t_start_s``: the time it enters
    and stays within ``tolerance_v`` of its value at ``t_final_s`` (NaN if it never does)."""
    apply_point(session, **params)
    wave = transient(session, step_s, stop_s, [output], point=f"{v_prev:g} -> {v_in:g} V")
    t, y = wave["time_s"].to_numpy(), wave[f"v_{output}_V"].to_numpy()
    final = float(np.interp(t_final_s, t, y))
    return settling_time_s(t, y, t_start_s, tolerance_v, final=final, t_end_s=t_final_s)


def nominal_transfer(session, task, source: str, output: str, input_range_v: tuple[float, float], *,
                     energy_window_s: float, step_s: float, stop_s: float, t_start_s: float, t_final_s: float,
                     tolerance_v: float) -> dict:
    """Nominal task of a DC-transfer buffer: one DC sweep for the transfer and the supply current, and one
    full-scale step transient per point for the settling time (the step comes from the far end of
    ``input_range_v``). Energy per operation E = VDD · I_VDD(DC) · ``energy_window_s`` [J]."""
    x = np.asarray(task.inputs, float)
    out, current = dc_transfer(session, x, source, output)
    vdd = session.deck_param("vdd_v")
    mid = 0.5 * sum(input_range_v)
    latency = np.array([
        step_settling_s(session, v, vp, output=output, step_s=step_s, stop_s=stop_s, t_start_s=t_start_s,
                        t_final_s=t_final_s, tolerance_v=tolerance_v, params={"vin_v": v, "vprev_v": vp})
        for v, vp in ((v, input_range_v[0] if v > mid else input_range_v[1]) for v in x)
    ])
    return {"out_V": out, "energy_J": vdd * current * energy_window_s, "latency_s": latency, "i_vdd_A": current}


def fit_transfer(data, *, op: str) -> Fit:
    """LUT of the nominal output and the Monte Carlo σ on the fit grid; quadratic energy model; straight
    line for the ideal mode; worst-case settling over the fit grid as the latency."""
    x = data.fit_x
    out = data.nominal_fit["out_V"]
    gain, offset = np.polyfit(x, out, 1)
    arrays = {
        "lut_x_V": x,
        "lut_out_V": out,
        "lut_sigma_V": sigma_per_point(data.mc_fit["out_V"]) if data.mc_fit else np.zeros_like(x),
        "energy_coeffs": fit_polynomial(x, data.nominal_fit["energy_J"], 2),
        "line_coeffs": np.array([offset, gain]),
    }
    settle = data.nominal_fit["latency_s"]
    latency = float("nan") if np.isnan(settle).any() else float(settle.max())
    notes = {
        "energy": f"mean over the fit grid of VDD * I_VDD(DC) * T_{op} (static bias energy of one {op})",
        "latency": "worst-case settling over the fit grid"
                   + ("" if not np.isnan(latency) else "; DID NOT SETTLE at v_in = "
                      + ", ".join(f"{v:g}" for v in x[np.isnan(settle)]) + " V"),
        "sigma": f"mismatch sigma from Monte Carlo at {data.mc_point}" if data.mc_fit else "no Monte Carlo",
        "gain_V_per_V": float(gain),
        "offset_V": float(offset),
    }
    return Fit(arrays, float(np.mean(data.nominal_fit["energy_J"])), latency, notes)


def prediction(arrays, x, rng, n_samples, name: str) -> Prediction:
    """The model under test: hard-mode mean; noisy-mode samples without the thermal term (SPICE MC is
    mismatch only); energy from the polynomial."""
    lut = BufferLut.from_arrays(arrays)
    mean = transfer(name, x, lut, Mode.HARD, 0.0, None)
    samples = np.stack([transfer(name, x, lut, Mode.NOISY, 0.0, rng) for _ in range(n_samples)])
    return Prediction(mean, samples, energy_J(x, lut))

"""Differential SAR ADC, 2…8 bit, with a 1.5-bit (ternary) mode: behavioral model (SPEC 4.6) and its SPICE
calibration against ``netlists/sar_adc.cir``, a transistor-level 8-bit converter (MIM CDAC, StrongARM
comparator, TSPC sequencer + latch SAR logic, 400 MHz) whose resolution is set at run time by stopping
after N decisions. Each resolution is its own calibrated block ``sar_adc_<N>b`` (``circuitsim calibrate
sar``); :func:`calibrated_params` gives the calibrated converter, :func:`convert` (numba) and
:func:`convert_reference` (NumPy) run it.

Architecture modelled: top-plate sampling on a binary-weighted CDAC of MIM unit capacitors per side,
switched by the merged-capacitor (V_cm-based) scheme. Per side an A-bit array (A = ``array_bits``: 8 for
the calibrated converter, default N) holds caps of 2^(A−2), …, 2, 1 units plus one dummy unit (2^(A−1)
units); an N-bit conversion switches the first N−1.
During sampling the top plates track v_inp, v_inn and every bottom plate sits at V_cm = V_ref/2. The
first comparison needs no switching (the MSB is the sign of the input); after decision k (k = 1 … N−1)
cap k switches on both sides: bit 1 -> p-side bottom to ground, n-side bottom to V_ref; bit 0 -> the
reverse. The common mode of the comparator input stays at V_cm. N comparisons, N−1 switching steps;
latency N+1 clock cycles (sample + N decisions).

Transfer with mismatch (SI units, V; r = C_i / C_total of each side, C_total including the top-plate
parasitic):

    v_xp − v_xn = v_d + n_kT/C − V_cm·Σ_k s_k·(r_p,k + r_n,k),      s_k = +1 (bit 1) / −1 (bit 0)
    bit_k = 1[v_xp − v_xn + v_os + σ_n·z_k > 0]

so the input range is v_d = v_inp − v_inn ∈ [−V_FS, +V_FS], V_FS = V_ref·C_array/(C_array + C_par), and the
LSB is 2·V_FS / 2^N (inputs up to ±V_ref are accepted; beyond ±V_FS they clip to the end codes). Unit caps are
drawn per ADC instance with relative σ ``sigma_unit`` (a cap of m units: σ_C = sqrt(m)·σ_unit·C_u),
v_os per instance (comparator offset), σ_n per decision (comparator noise), and n_kT/C per conversion
with σ = sqrt(2·k·T / C_total) (the two sides' sampling noise, differential).

1.5-bit mode: one decision of the ternary comparator against ±V_ref/3 (a uniform 3-level quantizer of
[−V_ref, V_ref]; codes 0, 1, 2), each threshold with its own offset and noise; no CDAC switching.

Energy per conversion (J), code dependent: the charge each reference source delivers when a bottom
plate switches, E = Σ_sources V_src·ΔQ_src, computed exactly for ideal switches on the floating top plate
(switched cap i: ΔQ = C_i·(V_new − V_cm − Δv_x); every other cap j at its source V_j: ΔQ = −C_j·Δv_x),
plus the V_cm source's charge that returns the bottom plates to V_cm for the next sample (same input: the
steady state of repeated conversions of one input), plus N·E_comparator + (N+1)·E_logic per cycle +
E_sample. In the calibrated converter E_logic is the SAR logic's measured energy per cycle (sequencer,
latches, switch and sampling drivers, clock buffer) and E_sample the CDAC energy the ideal-switch physics
misses (switch junction charge, make-before-break overlap), a constant fitted per resolution. The input
driver's charge of the CDAC belongs to the buffer in front (the FVF), not to the ADC.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numba import njit

from circuitsim import config
from circuitsim.blocks.kernels import check_range
from circuitsim.calibration import adc_metrics

BOLTZMANN_J_PER_K = 1.380649e-23
RESOLUTIONS = (1.5, 2, 3, 4, 5, 6, 7, 8)
#: MIM unit of 1 x 1 um drawn: 2 fF/um^2 * (1 + 0.15)^2 = 2.645 fF.
C_UNIT_MIM_1UM_F = 2e-15 * 1.15**2


def check_resolution(n_bits) -> float:
    """Refuse a resolution outside 2…8 bit (integers) or 1.5 (ternary mode)."""
    try:
        value = float(n_bits)
    except (TypeError, ValueError):
        value = float("nan")
    if value == 1.5 or (value.is_integer() and 2 <= value <= 8):
        return value
    raise ValueError(f"resolution {n_bits!r} bit is not supported: valid are 2, 3, 4, 5, 6, 7, 8 bit "
                     "(integer) or 1.5 (ternary mode)")


@dataclass(frozen=True)
class SarAdcParams:
    """Model parameters (SI units).

    ``n_bits``: 2…8 or 1.5; ``v_ref_v``: reference, differential full scale ±v_ref (V); ``c_unit_f``: unit
    capacitor (F); ``sigma_unit``: relative σ of one unit capacitor; ``c_parasitic_f``: top-plate
    parasitic per side (F); ``offset_sigma_v``: comparator offset σ per instance (V); ``noise_v``:
    comparator input noise per decision (V rms); ``ktc_noise``: include the sampling noise;
    ``e_comparator_J`` per decision, ``e_logic_J`` per clock cycle, ``e_sample_J`` per conversion (J);
    ``f_clk_hz``: SAR clock (the LeCA fast controller, 400 MHz); ``array_bits``: the CDAC's own resolution
    when the converter is a larger array stopped after ``n_bits`` decisions (the variable-resolution SAR of
    ``netlists/sar_adc.cir``: 8), ``None`` = an array scaled to ``n_bits``; ``input_error_lut``:
    ``(v_d grid, error)`` (V) of the sampled input's nonlinearity, e(v_d) added to v_d before the
    conversion (linear interpolation, end values held; empty = none).
    """

    n_bits: float = 8
    v_ref_v: float = 1.8
    c_unit_f: float = C_UNIT_MIM_1UM_F
    sigma_unit: float = 0.0
    c_parasitic_f: float = 0.0
    offset_sigma_v: float = 0.0
    noise_v: float = 0.0
    ktc_noise: bool = False
    temperature_k: float = 300.15
    e_comparator_J: float = 0.0
    e_logic_J: float = 0.0
    e_sample_J: float = 0.0
    f_clk_hz: float = 400e6
    array_bits: int | None = None
    input_error_lut: tuple = ()

    def __post_init__(self):
        check_resolution(self.n_bits)
        if self.array_bits is not None and not self.ternary and not (
                int(self.n_bits) <= self.array_bits <= 8 and float(self.array_bits).is_integer()):
            raise ValueError(f"array_bits must be an integer in {int(self.n_bits)}..8 (the resolution up to 8), "
                             f"got {self.array_bits!r}")
        for name in ("v_ref_v", "c_unit_f", "f_clk_hz", "temperature_k"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("sigma_unit", "c_parasitic_f", "offset_sigma_v", "noise_v", "e_comparator_J", "e_logic_J",
                     "e_sample_J"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")

    @property
    def ternary(self) -> bool:
        return self.n_bits == 1.5

    @property
    def levels(self) -> int:
        return 3 if self.ternary else 2 ** int(self.n_bits)

    @property
    def full_scale_v(self) -> float:
        """Half the differential input range (V): v_ref·C_array / (C_array + C_parasitic). The top-plate
        parasitic attenuates every DAC step by the same factor, so the range shrinks (a gain error, no DNL)."""
        if self.ternary:
            return self.v_ref_v
        array = self.units_per_side * self.c_unit_f
        return self.v_ref_v * array / (array + self.c_parasitic_f)

    @property
    def lsb_v(self) -> float:
        """Full-scale range 2·full_scale_v over the number of levels (V)."""
        return 2 * self.full_scale_v / self.levels

    @property
    def decisions(self) -> int:
        return 1 if self.ternary else int(self.n_bits)

    @property
    def units_per_side(self) -> int:
        return 0 if self.ternary else 2 ** (self.cdac_bits - 1)

    @property
    def cdac_bits(self) -> int:
        """Resolution the capacitor array is built for (``array_bits``, default ``n_bits``)."""
        return int(self.n_bits) if self.array_bits is None else int(self.array_bits)

    @property
    def c_total_f(self) -> float:
        """Capacitance on one top plate (F): the array plus the parasitic."""
        return self.units_per_side * self.c_unit_f + self.c_parasitic_f

    @property
    def ktc_sigma_v(self) -> float:
        """Differential sampling noise sqrt(2·k·T / C_total) (V rms); 0 in the ternary mode (no CDAC)."""
        if not self.ktc_noise or self.ternary:
            return 0.0
        return float(np.sqrt(2 * BOLTZMANN_J_PER_K * self.temperature_k / self.c_total_f))

    @property
    def latency_s(self) -> float:
        """N + 1 clock cycles (sample + N decisions; 2 cycles in the ternary mode)."""
        return (self.decisions + 1) / self.f_clk_hz

    def ideal(self) -> "SarAdcParams":
        """The same converter without mismatch and noise."""
        return replace(self, sigma_unit=0.0, offset_sigma_v=0.0, noise_v=0.0, ktc_noise=False)


@dataclass(frozen=True)
class SarInstance:
    """One fabricated converter: per-side capacitor arrays (F; index 0 = the first switched cap, 2^(N−2)
    units, …, last switched = 1 unit, then the dummy unit) and comparator offsets (V; two in ternary mode)."""

    caps_p_f: np.ndarray
    caps_n_f: np.ndarray
    offsets_v: np.ndarray


def nominal_units(n_bits) -> np.ndarray:
    """Units per cap of one side of an ``n_bits`` array: 2^(N−2), …, 1, and the dummy 1."""
    n = int(check_resolution(n_bits))
    return np.array([2 ** (n - 2 - k) for k in range(n - 1)] + [1], dtype=float)


def draw_instance(params: SarAdcParams, rng: np.random.Generator | None = None) -> SarInstance:
    """A converter instance: unit-capacitor mismatch and comparator offset(s) drawn from ``rng``."""
    n_off = 2 if params.ternary else 1
    if params.ternary:
        caps_p = caps_n = np.zeros(0)
    else:
        units = nominal_units(params.cdac_bits)
        caps_p = units * params.c_unit_f
        caps_n = units * params.c_unit_f
    if params.sigma_unit > 0 or params.offset_sigma_v > 0:
        if rng is None:
            raise ValueError("mismatch needs a numpy.random.Generator (rng=np.random.default_rng(seed))")
        if not params.ternary:
            units = nominal_units(params.cdac_bits)
            caps_p = caps_p + np.sqrt(units) * params.sigma_unit * params.c_unit_f * rng.standard_normal(units.size)
            caps_n = caps_n + np.sqrt(units) * params.sigma_unit * params.c_unit_f * rng.standard_normal(units.size)
        offsets = params.offset_sigma_v * rng.standard_normal(n_off)
    else:
        offsets = np.zeros(n_off)
    return SarInstance(np.ascontiguousarray(caps_p), np.ascontiguousarray(caps_n), np.ascontiguousarray(offsets))


# -- kernel and reference ---------------------------------------------------------------------------
@njit(fastmath=config.FASTMATH, cache=True)
def _sar_kernel(v_d, caps_p, caps_n, c_par, v_ref, n_bits, v_os, noise_v, z_sample_v, z_cmp, codes, e_cdac):
    v_cm = 0.5 * v_ref
    nc = caps_p.size
    ctp = c_par
    ctn = c_par
    for i in range(nc):
        ctp += caps_p[i]
        ctn += caps_n[i]
    vb_p = np.empty(nc)
    vb_n = np.empty(nc)
    for m in range(v_d.size):
        v_in = v_d[m] + z_sample_v[m]
        xp0 = v_cm + 0.5 * v_in
        xn0 = v_cm - 0.5 * v_in
        xp = xp0
        xn = xn0
        for i in range(nc):
            vb_p[i] = v_cm
            vb_n[i] = v_cm
        code = 0
        energy = 0.0
        for k in range(n_bits):
            bit = 1 if (xp - xn + v_os + noise_v * z_cmp[m, k]) > 0.0 else 0
            code = 2 * code + bit
            if k == n_bits - 1:
                break
            new_p = 0.0 if bit == 1 else v_ref
            new_n = v_ref - new_p
            # p side: cap k from V_cm to new_p on a floating top plate
            dxp = caps_p[k] * (new_p - v_cm) / ctp
            for j in range(nc):
                if j != k:
                    energy += vb_p[j] * caps_p[j] * (-dxp)
            energy += new_p * caps_p[k] * (new_p - v_cm - dxp)
            vb_p[k] = new_p
            xp += dxp
            dxn = caps_n[k] * (new_n - v_cm) / ctn
            for j in range(nc):
                if j != k:
                    energy += vb_n[j] * caps_n[j] * (-dxn)
            energy += new_n * caps_n[k] * (new_n - v_cm - dxn)
            vb_n[k] = new_n
            xn += dxn
        # reset: bottom plates back to V_cm from the V_cm source while the top plates track the input again
        for j in range(nc):
            energy += v_cm * caps_p[j] * ((v_cm - xp0) - (vb_p[j] - xp))
            energy += v_cm * caps_n[j] * ((v_cm - xn0) - (vb_n[j] - xn))
        codes[m] = code
        e_cdac[m] = energy


@njit(fastmath=config.FASTMATH, cache=True)
def _ternary_kernel(v_d, v_ref, v_os_lo, v_os_hi, noise_v, z_cmp, codes):
    t = v_ref / 3.0
    for m in range(v_d.size):
        hi = 1 if v_d[m] - t + v_os_hi + noise_v * z_cmp[m, 1] > 0.0 else 0
        lo = 1 if v_d[m] + t + v_os_lo + noise_v * z_cmp[m, 0] > 0.0 else 0
        codes[m] = hi + lo


def _prepare(v_d_v, params: SarAdcParams, rng):
    v = np.ascontiguousarray(v_d_v, dtype=float).ravel()
    check_range("v_d", v, -params.v_ref_v, params.v_ref_v, "V")
    if params.input_error_lut:
        grid, error = params.input_error_lut
        v = v + np.interp(v, grid, error)  # the sampled value, as SPICE's sampling switches leave it
    needs = params.noise_v > 0 or params.ktc_sigma_v > 0
    if needs and rng is None:
        raise ValueError("comparator / kT/C noise needs a numpy.random.Generator (rng=np.random.default_rng(seed))")
    k = params.decisions if not params.ternary else 2
    z_cmp = rng.standard_normal((v.size, k)) if params.noise_v > 0 else np.zeros((v.size, k))
    z_s = params.ktc_sigma_v * rng.standard_normal(v.size) if params.ktc_sigma_v > 0 else np.zeros(v.size)
    return v, z_cmp, z_s


def _fixed_energy_J(params: SarAdcParams) -> float:
    return (params.decisions * params.e_comparator_J * (2 if params.ternary else 1)
            + (params.decisions + 1) * params.e_logic_J + params.e_sample_J)


def convert(v_d_v, params: SarAdcParams, instance: SarInstance | None = None,
            rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Codes (int64, 0 … levels−1) and energy per conversion (J) for differential inputs ``v_d_v`` (V,
    within ±v_ref); numba kernel. ``instance`` defaults to the nominal converter; noise draws from ``rng``."""
    shape = np.shape(v_d_v)
    v, z_cmp, z_s = _prepare(v_d_v, params, rng)
    inst = instance if instance is not None else draw_instance(params.ideal())
    codes = np.empty(v.size, np.int64)
    if params.ternary:
        _ternary_kernel(v, params.v_ref_v, inst.offsets_v[0], inst.offsets_v[1], params.noise_v, z_cmp, codes)
        energy = np.full(v.size, _fixed_energy_J(params))
    else:
        e_cdac = np.empty(v.size)
        _sar_kernel(v + 0.0, inst.caps_p_f, inst.caps_n_f, params.c_parasitic_f, params.v_ref_v, int(params.n_bits),
                    inst.offsets_v[0], params.noise_v, z_s, z_cmp, codes, e_cdac)
        energy = e_cdac + _fixed_energy_J(params)
    return codes.reshape(shape), energy.reshape(shape)


def convert_reference(v_d_v, params: SarAdcParams, instance: SarInstance | None = None,
                      rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Plain NumPy oracle of :func:`convert` (vectorised over conversions; same draws for the same rng)."""
    shape = np.shape(v_d_v)
    v, z_cmp, z_s = _prepare(v_d_v, params, rng)
    inst = instance if instance is not None else draw_instance(params.ideal())
    if params.ternary:
        t = params.v_ref_v / 3
        hi = (v - t + inst.offsets_v[1] + params.noise_v * z_cmp[:, 1]) > 0
        lo = (v + t + inst.offsets_v[0] + params.noise_v * z_cmp[:, 0]) > 0
        return (hi.astype(np.int64) + lo).reshape(shape), np.full(shape, _fixed_energy_J(params))
    n = int(params.n_bits)
    v_ref, v_cm = params.v_ref_v, 0.5 * params.v_ref_v
    cp, cn = inst.caps_p_f, inst.caps_n_f
    ctp, ctn = cp.sum() + params.c_parasitic_f, cn.sum() + params.c_parasitic_f
    xp0 = v_cm + 0.5 * (v + z_s)
    xn0 = v_cm - 0.5 * (v + z_s)
    xp, xn = xp0.copy(), xn0.copy()
    vb_p = np.full((v.size, cp.size), v_cm)
    vb_n = np.full((v.size, cn.size), v_cm)
    code = np.zeros(v.size, np.int64)
    energy = np.zeros(v.size)
    for k in range(n):
        bit = (xp - xn + inst.offsets_v[0] + params.noise_v * z_cmp[:, k]) > 0
        code = 2 * code + bit
        if k == n - 1:
            break
        new_p = np.where(bit, 0.0, v_ref)
        new_n = v_ref - new_p
        for side, caps, vb, ct, new in (("p", cp, vb_p, ctp, new_p), ("n", cn, vb_n, ctn, new_n)):
            dx = caps[k] * (new - v_cm) / ct
            others = vb @ caps - vb[:, k] * caps[k]
            energy += others * (-dx) + new * caps[k] * (new - v_cm - dx)
            vb[:, k] = new
            if side == "p":
                xp = xp + dx
            else:
                xn = xn + dx
    energy += v_cm * (((v_cm - xp0)[:, None] - (vb_p - xp[:, None])) @ cp
                      + ((v_cm - xn0)[:, None] - (vb_n - xn[:, None])) @ cn)
    return code.reshape(shape), (energy + _fixed_energy_J(params)).reshape(shape)


def code_to_voltage_v(codes, params: SarAdcParams) -> np.ndarray:
    """Reconstruction of a code at the centre of its ideal bin (V): −full_scale + (code + 1/2)·LSB."""
    return -params.full_scale_v + (np.asarray(codes, float) + 0.5) * params.lsb_v


# -- ADC metrics of the model -----------------------------------------------------------------------
def sine_test(params: SarAdcParams, instance: SarInstance | None = None, rng=None, *, n_samples: int = 4096,
              backoff_db: float = 0.0) -> dict:
    """Coherent sine at full scale (minus ``backoff_db``): SNDR (dB), ENOB, mean energy per conversion (J)."""
    cycles = adc_metrics.coherent_cycles(n_samples, n_samples // 8 + 1)
    amplitude = params.full_scale_v * 10 ** (-backoff_db / 20)
    x = adc_metrics.sine_inputs_v(n_samples, cycles, amplitude)
    codes, energy = convert(x, params, instance, rng)
    sndr = adc_metrics.sndr_db(code_to_voltage_v(codes, params), cycles)
    return {"sndr_dB": sndr, "enob_bits": adc_metrics.enob_bits(sndr), "energy_J": float(np.mean(energy))}


def linearity(params: SarAdcParams, instances, rng=None, *, per_code: int = 64) -> dict:
    """DNL / INL (LSB) by code density of a uniform ramp over the whole accepted input range ±v_ref (which
    over-ranges the ±full_scale_v the codes span when there is a parasitic, so an instance's offset moves
    hits between the open end codes, not out of the inner ones; ``per_code`` hits per code over
    ±full_scale_v), for each instance: arrays of shape (instances, levels − 2) and the worst |DNL|, |INL|."""
    n_points = int(round(params.levels * per_code * params.v_ref_v / params.full_scale_v))
    x = adc_metrics.ramp_inputs_v(-params.v_ref_v, params.v_ref_v, n_points, 1)
    dnl, inl = [], []
    for inst in instances:
        codes, _ = convert(x, params, inst, rng)
        d, i = adc_metrics.code_density(codes, params.levels)
        dnl.append(d)
        inl.append(i)
    dnl, inl = np.array(dnl), np.array(inl)
    return {"dnl_lsb": dnl, "inl_lsb": inl, "max_abs_dnl_lsb": float(np.abs(dnl).max()),
            "max_abs_inl_lsb": float(np.abs(inl).max())}


def expected_mid_code_dnl_sigma_lsb(params: SarAdcParams) -> float:
    """σ of the DNL of code 2^(N−1)−1 (the code below the MSB transition) from unit-cap mismatch, first
    order: σ_unit·sqrt(2^(A−2) + 1/2)·2^(N−A) LSB for an A-bit array read at N bits (the 2^(A−2)-unit cap
    against the rest of each side's array, both sides, plus the dummy's share; no parasitic)."""
    n, a = int(params.n_bits), params.cdac_bits
    return params.sigma_unit * float(np.sqrt(2 ** (a - 2) + 0.5)) * 2.0 ** (n - a)


def figures_of_merit(params: SarAdcParams, instance=None, rng=None) -> dict:
    """ENOB, SNDR, energy per conversion, Walden (J/conv-step) and Schreier (dB) FoMs from the sine test."""
    s = sine_test(params, instance, rng)
    return {**s, "walden_fom_J": adc_metrics.walden_fom_J(s["energy_J"], s["enob_bits"]),
            "schreier_fom_dB": adc_metrics.schreier_fom_db(s["sndr_dB"], s["energy_J"]),
            "f_s_hz": params.f_clk_hz / (params.decisions + 1), "latency_s": params.latency_s}


# -- SPICE calibration (netlists/sar_adc.cir: 8-bit array, all transistor level, N = 2 … 8 at run time) ---
ARRAY_BITS = 8
SPICE_RESOLUTIONS = (2, 3, 4, 5, 6, 7, 8)
SPICE_T_CLK_S = 2.5e-9
#: The deck's first rising clock edge (start of the sampling cycle 0).
SPICE_T0_S = 1e-9
#: Resolution whose Monte Carlo is simulated: only at 8 bit do the mismatch figures (a few mV) move codes
#: often enough to measure a spread (LSB 14 mV); the same hardware serves every resolution.
SPICE_MC_BITS = 8
V_REF_V = 1.8
_SOURCES = ("vref", "vcm", "vddc", "vddl", "vclk", "vstart")


def _window(n_bits: int) -> tuple[float, float]:
    """One period of repeated conversions (s): decisions 1 … N, then the next sampling cycle."""
    return SPICE_T0_S + SPICE_T_CLK_S, SPICE_T0_S + (n_bits + 2) * SPICE_T_CLK_S


def _read_decisions(t, p_v, n_v, n_bits: int, vdd: float) -> tuple[int, list[int]]:
    """Code from the decision latches at the end of the last decision cycle, and the decisions the
    comparator left undecided (neither latch set) or set both ways."""
    t_read = SPICE_T0_S + (n_bits + 1) * SPICE_T_CLK_S - 50e-12
    code, bad = 0, []
    for k in range(n_bits):
        p = np.interp(t_read, t, p_v[k]) > 0.5 * vdd
        n = np.interp(t_read, t, n_v[k]) > 0.5 * vdd
        code = 2 * code + int(p)
        if p == n:
            bad.append(k + 1)
    return code, bad


def _code_centre_v(codes, n_bits: int) -> np.ndarray:
    """Bin centre of a code on the nominal ±V_ref scale (V): −V_ref + (code + ½)·2·V_ref / 2^N."""
    return -V_REF_V + (np.asarray(codes, float) + 0.5) * (2 * V_REF_V / 2 ** n_bits)


def _convert_once(session, v_d: float, n_bits: int, seed: int | None = None) -> dict:
    """One conversion of ``v_d`` (V) at ``n_bits`` in the loaded deck (``seed``: the Monte Carlo draw):
    code, last residue, energies by supply."""
    from circuitsim.spice.analyses import apply_point, transient
    from circuitsim.spice.measure import supply_energy_J

    apply_point(session, seed, vd_v=v_d, n_bits=n_bits)
    label = f"vd_v={v_d:g} n_bits={n_bits}" + (f" seed={seed}" if seed else "")
    vdd = session.deck_param("vdd_v")
    names = ([f"p{k}" for k in range(1, n_bits + 1)] + [f"n{k}" for k in range(1, n_bits + 1)] + ["xp", "xn"]
             + [f"{s}#branch" for s in _SOURCES])
    w = transient(session, 5e-12, _window(n_bits)[1], names, max_step_s=20e-12, point=label)
    t = w["time_s"].to_numpy()
    code, bad = _read_decisions(t, [w[f"v_p{k}_V"].to_numpy() for k in range(1, n_bits + 1)],
                                [w[f"v_n{k}_V"].to_numpy() for k in range(1, n_bits + 1)], n_bits, vdd)
    volts = {"vref": vdd, "vcm": 0.5 * vdd, "vddc": vdd, "vddl": vdd, "vclk": vdd, "vstart": vdd}
    e = {s: supply_energy_J(t, w[f"i_{s}_A"].to_numpy(), volts[s], _window(n_bits)) for s in _SOURCES}
    # the residue the last decision sees: top plates after N−1 switching steps, before the comparator fires
    t_res = SPICE_T0_S + n_bits * SPICE_T_CLK_S + 0.3e-9
    return {"code": code, "undecided": len(bad),
            "residue_V": float(np.interp(t_res, t, (w["v_xp_V"] - w["v_xn_V"]).to_numpy())),
            "energy_cdac_J": e["vref"] + e["vcm"], "energy_comparator_J": e["vddc"],
            "energy_logic_J": e["vddl"] + e["vclk"] + e["vstart"]}


def simulate(session, task) -> dict:
    """SPICE task: one conversion per input row (v_d, n_bits). Nominal: ``out_V`` (the code's bin centre on
    the ±V_ref scale), ``code``, ``residue_V`` (v(xp) − v(xn) before the last decision), energy per
    conversion by supply (CDAC = V_ref + V_cm sources; comparator; logic = sequencer, registers, drivers,
    clock buffer) over one steady-state period, ``latency_s`` = (N + 1)·T, ``undecided`` decisions. Monte
    Carlo: ``out_V``, ``code`` and ``undecided`` per sample (rows) and input (columns)."""
    rows = np.asarray(task.inputs, float).reshape(-1, 2)
    keys = ("out_V", "code", "undecided") if task.seeds else (
        "out_V", "code", "undecided", "residue_V", "energy_J", "energy_cdac_J", "energy_comparator_J",
        "energy_logic_J", "latency_s")
    seeds = task.seeds or (None,)
    out = {k: np.empty((len(seeds), len(rows))) for k in keys}
    for s, seed in enumerate(seeds):
        for j, (v_d, n) in enumerate(rows):
            n = int(n)
            r = _convert_once(session, v_d, n, seed)
            r["out_V"] = _code_centre_v(r["code"], n)
            r["energy_J"] = r["energy_cdac_J"] + r["energy_comparator_J"] + r["energy_logic_J"]
            r["latency_s"] = (n + 1) * SPICE_T_CLK_S
            for k in keys:
                out[k][s, j] = r[k]
    return out if task.seeds else {k: v[0] for k, v in out.items()}


def _dac_ideal_v(codes, n_bits: int, v_ref: float = V_REF_V) -> np.ndarray:
    """V_ref·Σ_k s_k·2^−k over the first N−1 decisions (s = ±1): what an unattenuated array subtracts by
    the last decision (V)."""
    codes = np.asarray(codes, np.int64)
    total = np.zeros(codes.shape)
    for k in range(1, n_bits):
        bit = (codes >> (n_bits - k)) & 1
        total += (2 * bit - 1) * 2.0 ** -k
    return v_ref * total


def fit_attenuation(v_d, residue_v, codes, n_bits: int) -> tuple[float, float]:
    """Least squares of residue = v_d + v_os − α·DAC(code): the array's attenuation α = C_array / (C_array
    + C_parasitic) and the input-referred offset v_os (V) of sampling and comparator."""
    dac = _dac_ideal_v(codes, n_bits)
    a = np.column_stack([dac, np.ones_like(dac)])
    (neg_alpha, v_os), *_ = np.linalg.lstsq(a, np.asarray(residue_v) - np.asarray(v_d), rcond=None)
    return float(-neg_alpha), float(v_os)


def params_from_arrays(arrays, n_bits=None) -> SarAdcParams:
    """The calibrated converter of one artifact (``model.npz``): nominal transfer and energy, and the
    mismatch figures where the artifact has them (8-bit Monte Carlo point)."""
    n = int(arrays["n_bits"]) if n_bits is None else n_bits
    return SarAdcParams(
        n_bits=n, v_ref_v=V_REF_V, c_unit_f=C_UNIT_MIM_1UM_F, array_bits=ARRAY_BITS,
        c_parasitic_f=float(arrays["c_parasitic_F"]), e_comparator_J=float(arrays["e_comparator_J"]),
        e_logic_J=float(arrays["e_logic_per_cycle_J"]), e_sample_J=float(arrays["e_cdac_extra_J"]),
        sigma_unit=float(arrays["sigma_unit"]), offset_sigma_v=float(arrays["offset_sigma_V"]),
        input_error_lut=(tuple(map(float, arrays["lut_v_d_V"])), tuple(map(float, arrays["lut_input_error_V"]))))


def _model_energy_parts(params: SarAdcParams, v_d) -> np.ndarray:
    """CDAC energy of the model's physics (J), without the fixed parts."""
    _, e = convert(v_d, replace(params, e_comparator_J=0.0, e_logic_J=0.0, e_sample_J=0.0))
    return e


def _offset_instance(params: SarAdcParams, v_os: float) -> SarInstance:
    nominal = draw_instance(params.ideal())
    return SarInstance(nominal.caps_p_f, nominal.caps_n_f, np.array([v_os]))


#: Relative σ of the 1 x 1 um MIM unit: measured with netlists/sar_adc_cdac_unit.cir (50 Monte Carlo draws x
#: 16 divider pairs, tt 27 °C; tests/blocks/test_sar_adc.py re-measures it).
SIGMA_UNIT_MEASURED = 0.0042


def _fit_offset_sigma(data, params: SarAdcParams, v_os: float) -> float:
    """Comparator + sampling offset σ (V) such that the model's code spread at the Monte Carlo fit inputs
    matches SPICE's (pooled variance of the quantised outputs; the unit-cap mismatch is the measured
    ``sigma_unit``). Solved by bisection on fixed draws (common random numbers), so the model's σ is a
    monotone function of the offset σ."""
    x = data.mc_fit_x[:, 0]
    target = float(np.mean(data.mc_fit["out_V"].var(axis=0, ddof=1)))
    n, units = 1000, nominal_units(ARRAY_BITS)
    rng = np.random.default_rng(20261124)
    z_p, z_n, z_off = (rng.standard_normal((n, units.size)), rng.standard_normal((n, units.size)),
                       rng.standard_normal(n))
    c_p = units * params.c_unit_f * (1 + params.sigma_unit * z_p / np.sqrt(units))
    c_n = units * params.c_unit_f * (1 + params.sigma_unit * z_n / np.sqrt(units))

    def model_var(sigma_os):
        outs = np.empty((n, x.size))
        for i in range(n):
            inst = SarInstance(c_p[i], c_n[i], np.array([v_os + sigma_os * z_off[i]]))
            outs[i] = _code_centre_v(convert(x, params, inst)[0], int(params.n_bits))
        return float(np.mean(outs.var(axis=0, ddof=1)))

    lo, hi = 0.0, 0.05
    if model_var(lo) >= target:
        return 0.0
    for _ in range(20):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if model_var(mid) < target else (lo, mid)
    return 0.5 * (lo + hi)


def fit(data):
    """Attenuation (→ top-plate parasitic) and offset from the residues on the fit grid; energies per
    conversion from the fit grid: comparator per decision, logic per clock cycle, and the CDAC energy the
    ideal-switch physics misses (switch junction charge) as a constant; offset σ from the 8-bit Monte
    Carlo fit stream."""
    from circuitsim.calibration.contract import Fit

    nf = data.nominal_fit
    x = data.fit_x[:, 0]
    n = int(data.fit_x[0, 1])
    codes = nf["code"].astype(np.int64)
    alpha, v_os = fit_attenuation(x, nf["residue_V"], codes, n)
    # what the line leaves: the sampled input's nonlinearity (odd in v_d, a few mV: the sampling TGs' charge
    # and junctions), kept as an input-referred error LUT on the fit grid
    error = nf["residue_V"] - (x + v_os - alpha * _dac_ideal_v(codes, n))
    array_f = 2 ** (ARRAY_BITS - 1) * C_UNIT_MIM_1UM_F
    c_par = max(array_f * (1 / alpha - 1), 0.0)
    base = SarAdcParams(n_bits=n, v_ref_v=V_REF_V, array_bits=ARRAY_BITS, c_parasitic_f=c_par,
                        input_error_lut=(tuple(x), tuple(error)))
    e_cdac_model = _model_energy_parts(base, x)
    e_cmp = float(np.mean(nf["energy_comparator_J"]) / n)
    e_logic = float(np.mean(nf["energy_logic_J"]) / (n + 1))
    e_extra = float(np.mean(nf["energy_cdac_J"] - e_cdac_model))
    sigma_os = 0.0  # no Monte Carlo at this resolution: see calibrated_params for the 8-bit figure
    if data.mc_fit is not None:
        sigma_os = _fit_offset_sigma(data, replace(base, sigma_unit=SIGMA_UNIT_MEASURED), v_os)
    arrays = {"n_bits": np.array(n), "alpha": np.array(alpha), "v_os_V": np.array(v_os),
              "lut_v_d_V": x, "lut_input_error_V": error,
              "c_parasitic_F": np.array(c_par), "e_comparator_J": np.array(e_cmp),
              "e_logic_per_cycle_J": np.array(e_logic), "e_cdac_extra_J": np.array(e_extra),
              "sigma_unit": np.array(SIGMA_UNIT_MEASURED), "offset_sigma_V": np.array(sigma_os)}
    undecided = [[float(v), int(k)] for v, k in zip(data.fit_x[:, 0], nf["undecided"]) if k] + \
        [[float(v), int(k)] for v, k in zip(data.holdout_x[:, 0], data.nominal_holdout["undecided"]) if k]
    notes = {"energy": f"{n}-bit conversion: CDAC (V_ref + V_cm sources) + StrongARM comparator + transistor-"
                       "level SAR logic (sequencer, decision latches, switch drivers, clock buffer), one "
                       "steady-state period, mean over the fit grid",
             "latency": f"{n + 1} cycles of 2.5 ns (400 MHz)",
             "alpha": alpha, "v_os_V": v_os, "c_parasitic_F": c_par,
             "input_error_max_abs_V": float(np.max(np.abs(error))),
             "e_comparator_per_decision_J": e_cmp, "e_logic_per_cycle_J": e_logic,
             "e_cdac_extra_J": e_extra,
             "energy_split_J": {"cdac": float(np.mean(nf["energy_cdac_J"])),
                                "comparator": float(np.mean(nf["energy_comparator_J"])),
                                "logic": float(np.mean(nf["energy_logic_J"]))},
             "undecided_inputs_V_decisions": undecided,
             "mc_undecided_conversions": None if data.mc_fit is None else int(
                 np.count_nonzero(data.mc_fit["undecided"]) + np.count_nonzero(data.mc_holdout["undecided"])),
             "sigma": ("offset sigma fitted to the spread of SPICE codes (Monte Carlo fit stream, "
                       f"{data.mc_point}); unit-cap sigma {SIGMA_UNIT_MEASURED} measured with "
                       "netlists/sar_adc_cdac_unit.cir") if data.mc_fit is not None else
                      f"no Monte Carlo at {n} bit (simulated at {SPICE_MC_BITS} bit, same hardware)"}
    return Fit(arrays, float(np.mean(nf["energy_J"])), (n + 1) * SPICE_T_CLK_S, notes)


def validation_model(arrays, x, rng, n_samples):
    """The calibrated model at held-out rows (v_d, n_bits): codes of the nominal converter with the fitted
    offset (mean), codes of ``n_samples`` mismatch instances (unit caps + offset σ), energy per conversion."""
    from circuitsim.calibration.contract import Prediction

    x = np.atleast_2d(np.asarray(x, float))
    params = params_from_arrays(arrays)
    n = int(params.n_bits)
    v = x[:, 0]
    v_os = float(arrays["v_os_V"])
    codes, energy = convert(v, params, _offset_instance(params, v_os))
    samples = None
    if n_samples:
        samples = np.empty((n_samples, v.size))
        shifted = replace(params, offset_sigma_v=0.0)
        for i in range(n_samples):
            inst = draw_instance(params, rng)
            inst = SarInstance(inst.caps_p_f, inst.caps_n_f, inst.offsets_v + v_os)
            samples[i] = _code_centre_v(convert(v, shifted, inst)[0], n)
    return Prediction(_code_centre_v(codes, n), samples, energy)


#: Attenuation of the array at tt 27 °C (``alpha`` in the provenance notes of calibration/sky130/*/sar_adc_8b:
#: 0.9478 at tt 27 °C, 0.9437–0.9512 over the 7 points).
HOLDOUT_ALPHA = 0.948
#: Held-out codes lie within this many codes of mid-scale: there the bin centre moves by at most
#: 31 · 0.0045 = 0.14 LSB over the corners' attenuation spread, so every held-out input stays well inside
#: its SPICE bin at every point. Farther out (8 bit: beyond ±0.44 V) a shared grid lands on code transitions
#: at some corners, where a one-code difference says nothing about the model; the full range is judged at
#: 2–6 bit (all codes) and by the residue comparison in tests/blocks/test_sar_adc.py.
HOLDOUT_SPAN_CODES = 31


def _bin_centres(n_bits: int, codes, alpha: float = HOLDOUT_ALPHA) -> tuple:
    """Inputs (V) at the centres of the given codes' bins of a converter with attenuation ``alpha`` and no
    offset (default: the tt 27 °C one): a model within ½ LSB of SPICE returns SPICE's code there."""
    lsb = 2 * V_REF_V * alpha / 2 ** n_bits
    return tuple((round(float((c + 0.5 - 2 ** (n_bits - 1)) * lsb), 6), float(n_bits)) for c in codes)


def _holdout_codes(n_bits: int) -> list[int]:
    """Every code at 2–3 bit, else eight codes spread over the codes within HOLDOUT_SPAN_CODES of mid-scale
    (and off the two end codes)."""
    levels = 2 ** n_bits
    if levels <= 8:
        return list(range(levels))
    mid = levels / 2 - 0.5
    lo, hi = max(1, int(np.ceil(mid - HOLDOUT_SPAN_CODES))), min(levels - 2, int(np.floor(mid + HOLDOUT_SPAN_CODES)))
    return sorted({int(round(c)) for c in np.linspace(lo, hi, 8)})


def _fit_grid(n_bits: int) -> tuple:
    """Eight inputs over the whole range (none at 0 V, where the MSB decision would be metastable)."""
    return tuple((float(v), float(n_bits)) for v in np.round(np.linspace(-1.75, 1.75, 8), 6))


def _spec(n_bits: int):
    from circuitsim.calibration.contract import BlockSpec

    mc = n_bits == SPICE_MC_BITS
    lsb_mv = 2 * V_REF_V / 2 ** n_bits * 1e3
    return BlockSpec(
        name=f"sar_adc_{n_bits}b", netlist="sar_adc",
        summary=f"SAR ADC at {n_bits} bit: 8-bit MIM CDAC (V_cm-based switching) stopped after {n_bits} "
                "decisions, StrongARM comparator, transistor-level SAR logic",
        input_label="v_d_V, n_bits", fit_grid=_fit_grid(n_bits),
        holdout_grid=_bin_centres(n_bits, _holdout_codes(n_bits)), simulate=simulate, fit=fit,
        model=validation_model, output_bits=n_bits, full_scale_v=(-V_REF_V, V_REF_V),
        resolution_note=f"{n_bits}-bit code, differential ±1.8 V scale (LSB {lsb_mv:.2f} mV): "
                        "a code off by one is 1 LSB",
        mc_batch=25, action="conversion", monte_carlo=mc,
        # placed with the design value α = 0.94 before the calibration measured 0.948: σ is judged on the
        # spread of codes at the same inputs in SPICE and model, so where they sit in a bin is immaterial
        mc_fit_grid=_bin_centres(n_bits, [40, 215], 0.94) if mc else None,
        mc_holdout_grid=_bin_centres(n_bits, [64, 150], 0.94) if mc else None)


SPECS = {n: _spec(n) for n in SPICE_RESOLUTIONS}
SPEC_2B, SPEC_3B, SPEC_4B, SPEC_5B, SPEC_6B, SPEC_7B, SPEC_8B = (SPECS[n] for n in SPICE_RESOLUTIONS)


# -- the calibrated converter ------------------------------------------------------------------------
#: Comparator input noise per decision (V rms): an ESTIMATE (ngspice transients carry no device noise; a
#: StrongARM of this size has some 0.3–1 mV); every other figure of :func:`calibrated_params` is SPICE.
COMPARATOR_NOISE_V = 0.5e-3


def load_arrays(n_bits: int, corner: str = "tt", temp_c: float = 27, technology: str = "sky130", root=None) -> dict:
    """``model.npz`` of the committed calibration ``sar_adc_<N>b`` at one operating point (hash-checked);
    an uncalibrated resolution, an unknown corner or an uncalibrated point is refused with the valid ones."""
    from circuitsim.calibration.validate import load_model_arrays

    if n_bits not in SPICE_RESOLUTIONS:
        raise ValueError(f"no SPICE calibration at {n_bits!r} bit: calibrated resolutions are "
                         f"{', '.join(map(str, SPICE_RESOLUTIONS))} bit")
    return load_model_arrays(f"sar_adc_{n_bits}b", corner, temp_c, technology, root)


def calibrated_params(n_bits, corner: str = "tt", temp_c: float = 27, root=None, **overrides) -> SarAdcParams:
    """The SPICE-calibrated converter at one resolution and operating point: top-plate parasitic, comparator
    energy per decision, logic energy per cycle and the CDAC's switch-parasitic energy of ``sar_adc_<N>b``;
    unit-cap σ and comparator offset σ of the 8-bit Monte Carlo point (tt 27 °C, the same hardware at every
    resolution); comparator noise :data:`COMPARATOR_NOISE_V` (estimate); kT/C on. The 1.5-bit (ternary)
    mode takes the 2-bit calibration's comparator and logic figures (two comparisons, two cycles)."""
    n = check_resolution(n_bits)
    arrays = load_arrays(2 if n == 1.5 else int(n), corner, temp_c, root=root)
    mc = load_arrays(SPICE_MC_BITS, root=root)
    params = replace(params_from_arrays(arrays, n), sigma_unit=float(mc["sigma_unit"]),
                     offset_sigma_v=float(mc["offset_sigma_V"]), noise_v=COMPARATOR_NOISE_V, ktc_noise=True,
                     temperature_k=temp_c + 273.15, array_bits=None if n == 1.5 else ARRAY_BITS)
    if n == 1.5:
        params = replace(params, input_error_lut=(), **_ternary_comparator(corner, temp_c, root))
    return replace(params, **overrides)


def _ternary_comparator(corner: str, temp_c: float, root) -> dict:
    """The 1.5-bit mode's comparator is the ternary block (two 2T cells, SPEC 4.6): energy per cell and
    decision averaged over the three codes ((E_fire + E_idle) / 2 per cell, mean over the bias grid and both
    cells), offset σ the mean of the two thresholds' Monte Carlo σ; no CDAC switching (e_sample 0)."""
    from circuitsim.blocks import ternary as tc

    lut = tc.load_lut(corner, temp_c, root=root)
    cells = (lut.lo, lut.hi)
    fire = [c.sqrt_energy_fire ** 2 for c in cells]
    e_cell = float(np.mean([np.mean(f * (1 + c.idle_fraction)) / 2 for f, c in zip(fire, cells)]))
    sigma = float(np.mean([np.mean(c.sigma_v) for c in cells]))
    return {"e_comparator_J": e_cell, "offset_sigma_v": sigma, "e_sample_J": 0.0}


CALIBRATED_NOTE = (
    "Every figure from the SPICE calibration of netlists/sar_adc.cir (transistor-level 8-bit SAR: MIM CDAC, "
    "StrongARM comparator, TSPC sequencer + latch SAR logic; sky130 tt 27 C; `circuitsim calibrate sar`): "
    "top-plate parasitic, comparator energy per decision, logic energy per cycle, CDAC switch-parasitic energy "
    "per resolution (artifacts calibration/sky130/tt_27C/sar_adc_<N>b); unit-cap sigma measured with "
    "netlists/sar_adc_cdac_unit.cir; comparator offset sigma fitted to the 8-bit Monte Carlo code spread. "
    "Comparator noise 0.5 mV rms is an ESTIMATE (no device noise in ngspice transients). The 1.5-bit mode "
    "uses the ternary block's calibrated comparator (two 2T cells: energy averaged over the codes, offset "
    "sigma) and the 2-bit calibration's logic energy per cycle (its logic is not simulated as such).")

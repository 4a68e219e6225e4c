"""Differential SAR ADC, 2…8 bit, with a 1.5-bit (ternary) mode: behavioral model (SPEC 4.6).

Architecture modelled (the one ``netlists/sar_adc*.cir`` is to be drawn with): top-plate sampling on a
binary-weighted CDAC of MIM unit capacitors per side, switched by the merged-capacitor (V_cm-based)
scheme. Per side the array holds caps of 2^(N−2), …, 2, 1 units plus one dummy unit (2^(N−1) units).
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
E_sample (sampling-switch drive). The input driver's charge of the CDAC belongs to the buffer in front
(the FVF), not to the ADC.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
    ``f_clk_hz``: SAR clock (the LeCA fast controller, 400 MHz).
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

    def __post_init__(self):
        check_resolution(self.n_bits)
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
        return 0 if self.ternary else 2 ** (int(self.n_bits) - 1)

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
    """Units per cap of one side: 2^(N−2), …, 1, and the dummy 1."""
    n = int(check_resolution(n_bits))
    return np.array([2 ** (n - 2 - k) for k in range(n - 1)] + [1], dtype=float)


def draw_instance(params: SarAdcParams, rng: np.random.Generator | None = None) -> SarInstance:
    """A converter instance: unit-capacitor mismatch and comparator offset(s) drawn from ``rng``."""
    n_off = 2 if params.ternary else 1
    if params.ternary:
        caps_p = caps_n = np.zeros(0)
    else:
        units = nominal_units(params.n_bits)
        caps_p = units * params.c_unit_f
        caps_n = units * params.c_unit_f
    if params.sigma_unit > 0 or params.offset_sigma_v > 0:
        if rng is None:
            raise ValueError("mismatch needs a numpy.random.Generator (rng=np.random.default_rng(seed))")
        if not params.ternary:
            units = nominal_units(params.n_bits)
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
    order: σ_unit·sqrt(2^(N−2) + 1/2) LSB (the 2^(N−2)-unit cap against the rest of each side's array,
    both sides, plus the dummy's share; no parasitic)."""
    n = int(params.n_bits)
    return params.sigma_unit * float(np.sqrt(2 ** (n - 2) + 0.5))


def figures_of_merit(params: SarAdcParams, instance=None, rng=None) -> dict:
    """ENOB, SNDR, energy per conversion, Walden (J/conv-step) and Schreier (dB) FoMs from the sine test."""
    s = sine_test(params, instance, rng)
    return {**s, "walden_fom_J": adc_metrics.walden_fom_J(s["energy_J"], s["enob_bits"]),
            "schreier_fom_dB": adc_metrics.schreier_fom_db(s["sndr_dB"], s["energy_J"]),
            "f_s_hz": params.f_clk_hz / (params.decisions + 1), "latency_s": params.latency_s}


# -- the designed converter (sky130, tt 27 °C) ------------------------------------------------------
#: Where each number of :func:`designed_params` comes from ("measured" = ngspice, sky130 tt 27 °C).
DESIGNED_NOTE = (
    "c_unit 2.645 fF: MIM 1x1 um drawn. sigma_unit 0.42 %: measured, netlists/sar_adc_cdac_unit.cir, 50 Monte "
    "Carlo draws x 16 divider pairs. e_comparator 93 fJ/decision: measured, StrongARM latch + output inverters, "
    "netlists/sar_adc_comparator.cir at 400 MHz, nominal. offset_sigma 5.8 mV: measured, same deck, 25 Monte "
    "Carlo draws x 8 instances on an input ramp. noise 0.5 mV rms: ESTIMATE (ngspice transient has no device "
    "noise). e_logic 8 fJ per flip-flop per cycle x (N + 2) flip-flops: ESTIMATE (1.8 V DFF clock load about "
    "2.5 fF). e_sample 5 fJ + 0.05 fJ per unit: ESTIMATE (plain transmission-gate sampling switches, gate "
    "drive). c_parasitic 5 fF + 5 % of the array per side: ESTIMATE (top-plate and comparator input). "
    "The SAR has not been simulated end to end in SPICE: these figures are the model's, not a calibration."
)


def designed_params(n_bits, **overrides) -> SarAdcParams:
    """The converter as designed for sky130 at one resolution (see :data:`DESIGNED_NOTE` for each figure)."""
    n = check_resolution(n_bits)
    units = 0 if n == 1.5 else 2 ** (int(n) - 1)
    decisions = 1 if n == 1.5 else int(n)
    values = dict(
        n_bits=n, v_ref_v=1.8, c_unit_f=C_UNIT_MIM_1UM_F, sigma_unit=0.0042,
        c_parasitic_f=5e-15 + 0.05 * units * C_UNIT_MIM_1UM_F, offset_sigma_v=5.8e-3, noise_v=0.5e-3,
        ktc_noise=True, e_comparator_J=93e-15, e_logic_J=8e-15 * (decisions + 2),
        e_sample_J=5e-15 + 0.05e-15 * units, f_clk_hz=400e6,
    )
    values.update(overrides)
    return SarAdcParams(**values)


# -- SPICE comparison of the 8-bit converter (netlists/sar_adc.cir; nominal only, see SPEC below) --------
SPICE_BITS = 8
SPICE_T_CLK_S = 2.5e-9
SPICE_STOP_S = 25e-9
SPICE_CONVERSION_END_S = 22.5e-9


def _spice_bits(t, bits_v, dp_v, dn_v, vdd):
    """Bits read off the bit capacitors after each capture, and the decisions the comparator left undecided
    (both output inverters on the same side of VDD/2 at the capture instant)."""
    bits, undecided = [], []
    for k in range(1, SPICE_BITS + 1):
        t_cap = k * SPICE_T_CLK_S + 1.40e-9
        bits.append(int(np.interp(t_cap + 0.3e-9, t, bits_v[k - 1]) > 0.5 * vdd))
        p, n = np.interp(t_cap, t, dp_v) > 0.5 * vdd, np.interp(t_cap, t, dn_v) > 0.5 * vdd
        if p == n:
            undecided.append(k)
    return bits, undecided


def simulate(session, task) -> dict:
    """SPICE task: one conversion (+ the next sampling phase) per input. ``out_V`` is the code's bin centre
    on the nominal ±v_ref scale; ``energy_J`` = CDAC (V_ref + V_cm sources over 0..25 ns) + comparator
    (VDD over the 8 decisions); ``residue_V`` = v(xp) − v(xn) at the last decision (it carries the array's
    attenuation, i.e. the top-plate parasitic); ``undecided`` = decisions the comparator left undecided."""
    from circuitsim.spice.analyses import apply_point, transient
    from circuitsim.spice.measure import supply_energy_J

    if task.seeds:
        raise NotImplementedError("sar_adc Monte Carlo is not implemented (see SPEC note)")
    x = np.asarray(task.inputs, float)
    vdd = session.deck_param("vdd_v")
    out = {k: np.empty(x.size) for k in ("out_V", "energy_J", "latency_s", "energy_cdac_J", "energy_comparator_J",
                                         "residue_V", "code", "undecided")}
    lsb = 2 * vdd / 2 ** SPICE_BITS
    names = [f"b{k}" for k in range(1, SPICE_BITS + 1)] + ["dp", "dn", "xp", "xn", "vref#branch", "vcm#branch",
                                                           "vdd#branch"]
    for j, v in enumerate(x):
        apply_point(session, vd_v=v)
        w = transient(session, 5e-12, SPICE_STOP_S, names, max_step_s=20e-12, point=f"vd_v={v:g}")
        t = w["time_s"].to_numpy()
        bits, undecided = _spice_bits(t, [w[f"v_b{k}_V"].to_numpy() for k in range(1, SPICE_BITS + 1)],
                                      w["v_dp_V"].to_numpy(), w["v_dn_V"].to_numpy(), vdd)
        code = int("".join(map(str, bits)), 2)
        e_cdac = (supply_energy_J(t, w["i_vref_A"].to_numpy(), vdd, (0, SPICE_STOP_S))
                  + supply_energy_J(t, w["i_vcm_A"].to_numpy(), 0.5 * vdd, (0, SPICE_STOP_S)))
        e_cmp = supply_energy_J(t, w["i_vdd_A"].to_numpy(), vdd, (0, SPICE_CONVERSION_END_S))
        t_last = SPICE_BITS * SPICE_T_CLK_S + 0.2e-9
        out["residue_V"][j] = np.interp(t_last, t, (w["v_xp_V"] - w["v_xn_V"]).to_numpy())
        out["code"][j] = code
        out["out_V"][j] = -vdd + (code + 0.5) * lsb
        out["energy_cdac_J"][j], out["energy_comparator_J"][j] = e_cdac, e_cmp
        out["energy_J"][j] = e_cdac + e_cmp
        out["latency_s"][j] = (SPICE_BITS + 1) * SPICE_T_CLK_S
        out["undecided"][j] = len(undecided)
    return out


def _dac_ideal_v(codes, v_ref, n_bits):
    """V_ref·Σ_k s_k·2^−k over the first N−1 decisions (s = ±1): what an unattenuated array subtracts."""
    codes = np.asarray(codes, np.int64)
    total = np.zeros(codes.shape)
    for k in range(1, n_bits):
        bit = (codes >> (n_bits - k)) & 1
        total += (2 * bit - 1) * 2.0 ** -k
    return v_ref * total


def fit(data):
    """Array attenuation α (→ top-plate parasitic) from the last-decision residues on the fit grid,
    comparator energy per decision from the fit grid; the CDAC energy is the model's own physics."""
    from circuitsim.calibration.contract import Fit

    nf = data.nominal_fit
    vdd = 1.8
    dac = _dac_ideal_v(nf["code"], vdd, SPICE_BITS)
    alpha = float(np.sum((data.fit_x - nf["residue_V"]) * dac) / np.sum(dac * dac))
    array_f = 2 ** (SPICE_BITS - 1) * C_UNIT_MIM_1UM_F
    c_par = max(array_f * (1 / alpha - 1), 0.0)
    e_cmp = float(np.mean(nf["energy_comparator_J"]) / SPICE_BITS)
    arrays = {"c_parasitic_F": np.array(c_par), "e_comparator_J": np.array(e_cmp), "alpha": np.array(alpha)}
    undecided = data.fit_x[nf["undecided"] > 0].tolist() + data.holdout_x[data.nominal_holdout["undecided"] > 0].tolist()
    notes = {"energy": "CDAC (V_ref + V_cm) + comparator (VDD) per 8-bit conversion, mean over the fit grid; "
                       "switch drivers and SAR logic are not simulated (behavioural)",
             "latency": "9 cycles of 2.5 ns (400 MHz)",
             "alpha": alpha, "c_parasitic_F": c_par, "e_comparator_per_decision_J": e_cmp,
             "undecided_inputs_V": undecided,
             "sigma": "no Monte Carlo (not run: ~450 s of CPU for 2 x 200 samples was over this issue's budget)"}
    return Fit(arrays, float(np.mean(nf["energy_J"])), (SPICE_BITS + 1) * SPICE_T_CLK_S, notes)


def validation_model(arrays, x, rng, n_samples):
    """Nominal 8-bit model with the fitted parasitic and comparator energy; no logic / sampling energy
    (not in the SPICE deck either); codes mapped to the same ±v_ref bin centres as SPICE's."""
    from circuitsim.calibration.contract import Prediction

    params = SarAdcParams(n_bits=SPICE_BITS, v_ref_v=1.8, c_parasitic_f=float(arrays["c_parasitic_F"]),
                          e_comparator_J=float(arrays["e_comparator_J"]))
    codes, energy = convert(x, params)
    mean = -1.8 + (codes + 0.5) * (3.6 / 2 ** SPICE_BITS)
    return Prediction(mean, None, energy)


def _code_centres(values, n_bits=SPICE_BITS, v_ref=1.8):
    lsb = 2 * v_ref / 2 ** n_bits
    return tuple(np.round(-v_ref + (np.floor((np.asarray(values) + v_ref) / lsb) + 0.5) * lsb, 6))


FIT_GRID = tuple(np.round(np.arange(-1.6, 1.6001, 0.2), 6))
#: Held-out inputs between the fit points, each at the centre of its ideal code bin, so a model within
#: 0.5 LSB of SPICE produces SPICE's code.
HOLDOUT_GRID = _code_centres(np.arange(-1.5, 1.5001, 0.2))


def _spec():
    from circuitsim.calibration.contract import BlockSpec

    return BlockSpec(
        name="sar_adc", netlist="sar_adc",
        summary="8-bit differential SAR ADC: MIM CDAC (MCS), StrongARM comparator, behavioural SAR logic",
        input_label="v_d_V", fit_grid=FIT_GRID, holdout_grid=HOLDOUT_GRID, simulate=simulate, fit=fit,
        model=validation_model, output_bits=8, full_scale_v=(-1.8, 1.8),
        resolution_note="8-bit, differential full scale ±1.8 V (LSB 14.06 mV)", mc_batch=50, action="conversion")


#: NOT registered in circuitsim.blocks: nominal SPICE comparison only (no Monte Carlo yet).
SPEC = _spec()

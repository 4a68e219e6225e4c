"""Differential SAR ADC, 2…8 bit, with a 1.5-bit (ternary) mode: the behavioral model (SPEC 4.6) and the
loaders of its committed calibration. This module holds the parameters (:class:`SarAdcParams`,
:class:`SarInstance`), the numba kernels under :func:`convert`, the NumPy oracle :func:`convert_reference`,
:func:`code_to_voltage_v`, the model's ADC metrics (:func:`sine_test`, :func:`linearity`,
:func:`figures_of_merit`) and the calibrated converter (:func:`load_arrays`, :func:`params_from_arrays`,
:func:`calibrated_params`). The hardware it is calibrated against is ``netlists/sar_adc.cir``, a
transistor-level 8-bit converter (MIM CDAC, StrongARM comparator, TSPC sequencer + latch SAR logic, 400 MHz)
whose resolution is set at run time by stopping after N decisions; each resolution is its own calibrated
block ``sar_adc_<N>b`` (``circuitsim calibrate sar``), whose SPICE driver, fit and BlockSpecs live in
:mod:`circuitsim.blocks.sar_adc_calibration` (which imports this module, never the reverse).

Architecture modelled: top-plate sampling on a binary-weighted CDAC of MIM unit capacitors per side,
switched by the merged-capacitor (V_cm-based) scheme. Per side an A-bit array (A = ``array_bits``: 8 for
the calibrated converter, default N) holds caps of 2^(A−2), …, 2, 1 units plus one dummy unit (2^(A−1)
units); an N-bit conversion switches the first min(N, A−1).
During sampling the top plates track v_inp, v_inn and every bottom plate sits at V_cm = V_ref/2. The
first comparison needs no switching (the MSB is the sign of the input); after decision k (k = 1 … N−1)
cap k switches on both sides: bit 1 -> p-side bottom to ground, n-side bottom to V_ref; bit 0 -> the
reverse. The common mode of the comparator input stays at V_cm. N comparisons; latency N+1 clock cycles
(sample + N decisions). The decision latches drive the switches directly, so decision N also switches its
cap when the array has one (N < A: netlists/sar_adc.cir at 2…7 bit switches cap N after the last decision,
which costs energy and does not change the code): min(N, A−1) switching steps, N−1 for an array of N bits.

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
steady state of repeated conversions of one input), plus the switches' own charges (SPICE-measured,
:mod:`circuitsim.blocks.sar_adc_cdac`; zero = ideal switches):

    E_CDAC = E_ideal + Σ_{k switched} [V_cm·q_crowbar[b_k][k] + V_ref·q_bottom[b_k][k]]
             + Σ_{k switched, sides} (V_b,k − V_cm)·(q_release,t[k] − race_t·C_k·(x_0 − x_end)),
             t = ref (V_b = V_ref) or gnd (V_b = 0)

(make-before-break crowbar and V_ref-side bottom-plate parasitic of each step; in the sampling cycle the
still-closed V_ref / ground switch passes its release charge and the fraction race_t of the top plate's move
back to the input), plus N·E_comparator + (N+1)·E_logic per cycle + E_sample. In the calibrated converter
E_logic is the SAR logic's measured energy per cycle (sequencer, latches, switch and sampling drivers, clock
buffer); E_sample is 0 with switch charges, else (legacy artifacts) the CDAC energy the ideal-switch physics
misses as a constant fitted per resolution. The input driver's charge of the CDAC belongs to the buffer in
front (the FVF), not to the ADC.

Why one module of ~490 lines: the derivation above (45 lines) is the contract of both kernels (SAR and
ternary), the NumPy oracle and the calibrated-parameter loader, which must change together; the SPICE
driver, fit and held-out design live in :mod:`circuitsim.blocks.sar_adc_calibration`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numba import njit
from scipy.constants import k as BOLTZMANN_J_PER_K
from scipy.constants import zero_Celsius

from circuitsim import config
from circuitsim.blocks.kernels import check_range
from circuitsim.calibration import adc_metrics
from circuitsim.errors import InputRangeError
from circuitsim.store import NOMINAL, ArtifactStore, OperatingPoint
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

    Switch charges of the CDAC (C; empty = ideal switches), measured per switched cap k (index 0 = the first)
    in SPICE (:mod:`circuitsim.blocks.sar_adc_cdac`): ``q_crowbar_c[bit][k]`` the make-before-break charge of
    decision k (V_ref → V_cm plus V_cm → ground through cap k's V_cm TGs while the new switch already
    conducts), ``q_bottom_c[bit][k]`` the V_ref-side bottom-plate parasitic charge of that step;
    ``q_release_ref_c[k]`` / ``q_release_gnd_c[k]`` the charge a V_ref / ground switch passes as it opens in the
    sampling cycle, and ``race_ref`` / ``race_gnd`` the fraction of the sampling cycle's top-plate move the
    still-closed V_ref / ground switch carries (the sampling switch closes before the bottom-plate switches
    open: 0 = the ideal order, bottom plates on V_cm first; 1 = ideal switches in the netlist's order).
    ``last_cap_switches``: decision N switches its cap when the array has one (the netlist's latches drive the
    switches directly); False = N−1 switching steps, the rule the legacy calibrations (a fitted CDAC constant
    ``e_sample_J``, no switch charges) were fitted with.
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
    q_crowbar_c: tuple = ()
    q_bottom_c: tuple = ()
    q_release_ref_c: tuple = ()
    q_release_gnd_c: tuple = ()
    race_ref: float = 0.0
    race_gnd: float = 0.0
    last_cap_switches: bool = True

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
                     "e_sample_J", "race_ref", "race_gnd"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not self.ternary:
            for name, shape in self._charge_shapes():
                value = np.asarray(getattr(self, name), float)
                if value.size and value.shape != shape:
                    raise ValueError(f"{name} must have shape {shape} (one value per switched cap"
                                     f"{' and bit' if len(shape) == 2 else ''}), got {value.shape}")

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

    @property
    def switching_steps(self) -> int:
        """Caps switched per conversion: min(N, A − 1) (decision N switches its cap when there is one), or N − 1
        with ``last_cap_switches`` False."""
        if self.ternary:
            return 0
        n = int(self.n_bits)
        return min(n, self.cdac_bits - 1) if self.last_cap_switches else n - 1

    def _charge_shapes(self) -> tuple:
        """(field, shape) of each CDAC switch charge: per bit and switched cap, or per switched cap (A − 1 caps;
        none in the ternary mode)."""
        caps = 0 if self.ternary else max(self.cdac_bits - 1, 0)
        return (("q_crowbar_c", (2, caps)), ("q_bottom_c", (2, caps)), ("q_release_ref_c", (caps,)),
                ("q_release_gnd_c", (caps,)))

    def switch_charges(self) -> tuple:
        """(q_crowbar (2, A−1), q_bottom (2, A−1), q_release_ref (A−1), q_release_gnd (A−1)) in C as float
        arrays, zeros where not given (ideal switches)."""
        out = []
        for name, shape in self._charge_shapes():
            value = np.asarray(getattr(self, name), float)
            out.append(np.ascontiguousarray(value if value.size else np.zeros(shape)))
        return tuple(out)

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
def _sar_kernel(v_d, caps_p, caps_n, c_par, v_ref, n_bits, n_switch, v_os, noise_v, z_sample_v, z_cmp, q_cb, q_bp,
                q_rel_ref, q_rel_gnd, race_ref, race_gnd, codes, e_cdac):
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
            if k >= n_switch:  # no cap of this decision switches (the last one of a full array)
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
            # the switches' own charge: make-before-break crowbar, V_ref-side bottom-plate parasitic
            energy += v_cm * q_cb[bit, k] + v_ref * q_bp[bit, k]
        # reset: bottom plates back to V_cm from the V_cm source while the top plates track the input again
        for j in range(nc):
            energy += v_cm * caps_p[j] * ((v_cm - xp0) - (vb_p[j] - xp))
            energy += v_cm * caps_n[j] * ((v_cm - xn0) - (vb_n[j] - xn))
        # the sampling switch closes before the bottom-plate switches open: a switched cap's V_ref / ground switch
        # passes its release charge and the fraction race_* of the top plate's move, at (V_b - V_cm) against V_cm
        for j in range(nc - 1):
            for side in range(2):
                vb = vb_p[j] if side == 0 else vb_n[j]
                move = (xp0 - xp) if side == 0 else (xn0 - xn)
                c = caps_p[j] if side == 0 else caps_n[j]
                if vb > v_cm:
                    energy += (vb - v_cm) * (q_rel_ref[j] - race_ref * c * move)
                elif vb < v_cm:
                    energy += (vb - v_cm) * (q_rel_gnd[j] - race_gnd * c * move)
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
        q_cb, q_bp, q_rel_ref, q_rel_gnd = params.switch_charges()
        _sar_kernel(v + 0.0, inst.caps_p_f, inst.caps_n_f, params.c_parasitic_f, params.v_ref_v, int(params.n_bits),
                    params.switching_steps, inst.offsets_v[0], params.noise_v, z_s, z_cmp, q_cb, q_bp, q_rel_ref, q_rel_gnd,
                    float(params.race_ref), float(params.race_gnd), codes, e_cdac)
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
    q_cb, q_bp, q_rel_ref, q_rel_gnd = params.switch_charges()
    for k in range(n):
        bit = (xp - xn + inst.offsets_v[0] + params.noise_v * z_cmp[:, k]) > 0
        code = 2 * code + bit
        if k >= params.switching_steps:
            break
        energy += v_cm * q_cb[bit.astype(int), k] + v_ref * q_bp[bit.astype(int), k]
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
    for vb, move, caps in ((vb_p[:, :-1], xp0 - xp, cp[:-1]), (vb_n[:, :-1], xn0 - xn, cn[:-1])):
        q_ref = q_rel_ref - params.race_ref * caps * move[:, None]
        q_gnd = q_rel_gnd - params.race_gnd * caps * move[:, None]
        energy += np.sum((vb - v_cm) * np.where(vb > v_cm, q_ref, np.where(vb < v_cm, q_gnd, 0.0)), axis=1)
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


# -- the calibrated converter (netlists/sar_adc.cir: 8-bit array, all transistor level, N = 2 … 8 at run time) --
ARRAY_BITS = 8
SPICE_RESOLUTIONS = (2, 3, 4, 5, 6, 7, 8)
#: Resolution whose Monte Carlo is simulated: only at 8 bit do the mismatch figures (a few mV) move codes
#: often enough to measure a spread (LSB 14 mV); the same hardware serves every resolution.
SPICE_MC_BITS = 8
V_REF_V = 1.8
#: Comparator input noise per decision (V rms): an ESTIMATE (ngspice transients carry no device noise; a
#: StrongARM of this size has some 0.3–1 mV); every other figure of :func:`calibrated_params` is SPICE.
COMPARATOR_NOISE_V = 0.5e-3


def params_from_arrays(arrays, n_bits=None) -> SarAdcParams:
    """The calibrated converter of one artifact (``model.npz``): nominal transfer and energy, and the
    mismatch figures where the artifact has them (8-bit Monte Carlo point)."""
    n = int(arrays["n_bits"]) if n_bits is None else n_bits
    charges = {}
    if "q_crowbar_C" in arrays:  # CDAC switch charges measured in SPICE (circuitsim.blocks.sar_adc_cdac)
        charges = {"q_crowbar_c": tuple(map(tuple, np.asarray(arrays["q_crowbar_C"], float))),
                   "q_bottom_c": tuple(map(tuple, np.asarray(arrays["q_bottom_C"], float))),
                   "q_release_ref_c": tuple(map(float, arrays["q_release_ref_C"])),
                   "q_release_gnd_c": tuple(map(float, arrays["q_release_gnd_C"])),
                   "race_ref": float(arrays["race_ref"]), "race_gnd": float(arrays["race_gnd"])}
    # legacy artifacts (no switch charges) were fitted with N − 1 switching steps and a CDAC constant
    return SarAdcParams(**charges, last_cap_switches=bool(charges),
        n_bits=n, v_ref_v=V_REF_V, c_unit_f=C_UNIT_MIM_1UM_F, array_bits=ARRAY_BITS,
        c_parasitic_f=float(arrays["c_parasitic_F"]), e_comparator_J=float(arrays["e_comparator_J"]),
        e_logic_J=float(arrays["e_logic_per_cycle_J"]), e_sample_J=float(arrays["e_cdac_extra_J"]),
        sigma_unit=float(arrays["sigma_unit"]), offset_sigma_v=float(arrays["offset_sigma_V"]),
        input_error_lut=(tuple(map(float, arrays["lut_v_d_V"])), tuple(map(float, arrays["lut_input_error_V"]))))


def load_arrays(n_bits: int, point: OperatingPoint = NOMINAL, store: ArtifactStore | None = None) -> dict:
    """``model.npz`` of the committed calibration ``sar_adc_<N>b`` at ``point`` (hash-checked); an
    uncalibrated resolution, an unknown corner or an uncalibrated point is refused with the valid ones."""
    if n_bits not in SPICE_RESOLUTIONS:
        raise InputRangeError(f"no SPICE calibration at {n_bits!r} bit: calibrated resolutions are "
                              f"{', '.join(map(str, SPICE_RESOLUTIONS))} bit")
    return (store or ArtifactStore()).model_arrays(f"sar_adc_{n_bits}b", point)


def calibrated_params(n_bits, point: OperatingPoint = NOMINAL, store: ArtifactStore | None = None,
                      **overrides) -> SarAdcParams:
    """The SPICE-calibrated converter at one resolution and operating point: top-plate parasitic, comparator
    energy per decision, logic energy per cycle and the CDAC's switch charges (or, in a legacy artifact, its
    fitted switch-parasitic constant) of ``sar_adc_<N>b``;
    unit-cap σ and comparator offset σ of the 8-bit Monte Carlo point (the technology's nominal point, the
    same hardware at every resolution); comparator noise :data:`COMPARATOR_NOISE_V` (estimate); kT/C on at
    the point's temperature. The 1.5-bit (ternary) mode takes the 2-bit calibration's comparator and logic
    figures (two comparisons, two cycles)."""
    n = check_resolution(n_bits)
    store = store or ArtifactStore()
    arrays = load_arrays(2 if n == 1.5 else int(n), point, store)
    mc = load_arrays(SPICE_MC_BITS, OperatingPoint(technology=point.technology), store)
    params = replace(params_from_arrays(arrays, n), sigma_unit=float(mc["sigma_unit"]),
                     offset_sigma_v=float(mc["offset_sigma_V"]), noise_v=COMPARATOR_NOISE_V, ktc_noise=True,
                     temperature_k=point.temp_c + zero_Celsius, array_bits=None if n == 1.5 else ARRAY_BITS)
    if n == 1.5:
        params = replace(params, input_error_lut=(), **_ternary_comparator(point, store))
    return replace(params, **overrides)


def _ternary_comparator(point: OperatingPoint, store: ArtifactStore) -> dict:
    """The 1.5-bit mode's comparator is the ternary block (two 2T cells, SPEC 4.6): energy per cell and
    decision averaged over the three codes ((E_fire + E_idle) / 2 per cell, mean over the bias grid and both
    cells), offset σ the mean of the two thresholds' Monte Carlo σ; no CDAC switching (e_sample 0)."""
    from circuitsim.blocks import ternary as tc

    lut = tc.load_lut(point, store)
    cells = (lut.lo, lut.hi)
    fire = [c.sqrt_energy_fire ** 2 for c in cells]
    e_cell = float(np.mean([np.mean(f * (1 + c.idle_fraction)) / 2 for f, c in zip(fire, cells)]))
    sigma = float(np.mean([np.mean(c.sigma_v) for c in cells]))
    return {"e_comparator_J": e_cell, "offset_sigma_v": sigma, "e_sample_J": 0.0}


CALIBRATED_NOTE = (
    "Every figure from the SPICE calibration of netlists/sar_adc.cir (transistor-level 8-bit SAR: MIM CDAC, "
    "StrongARM comparator, TSPC sequencer + latch SAR logic; sky130 tt 27 C; `circuitsim calibrate sar`): "
    "top-plate parasitic, comparator energy per decision, logic energy per cycle, CDAC switch charges read on the "
    "deck's ammeters (crowbar, bottom-plate parasitic, release and race; no fitted CDAC constant) per resolution "
    "(artifacts calibration/sky130/tt_27C/sar_adc_<N>b); unit-cap sigma measured with "
    "netlists/sar_adc_cdac_unit.cir; comparator offset sigma fitted to the 8-bit Monte Carlo code spread. "
    "Comparator noise 0.5 mV rms is an ESTIMATE (no device noise in ngspice transients). The 1.5-bit mode "
    "uses the ternary block's calibrated comparator (two 2T cells: energy averaged over the codes, offset "
    "sigma) and the 2-bit calibration's logic energy per cycle (its logic is not simulated as such).")

"""SPICE calibration of the SAR ADC model (:mod:`circuitsim.blocks.sar_adc`) against ``netlists/sar_adc.cir``:
the driver that runs one conversion in the transistor-level deck and reads its decision latches, residue
and supply energies (:func:`simulate`); the fit of the model's parameters to those results
(:func:`fit_attenuation`, :func:`fit`: top-plate parasitic, input-error LUT, energies, the CDAC switch
charges of :mod:`circuitsim.blocks.sar_adc_cdac`, comparator offset σ);
the calibrated model at held-out points (:func:`validation_model`); the held-out design (inputs at bin
centres, :data:`HOLDOUT_ALPHA`); the BlockSpecs ``SPEC_2B`` … ``SPEC_8B`` (``SPECS``) that ``circuitsim
calibrate sar`` and ``circuitsim validate sar`` run; the idle (static) power at rest after a conversion
(:func:`static`, ``circuitsim calibrate sar --static-only``); and the measurement of the MIM unit capacitor's
mismatch with ``netlists/sar_adc_cdac_unit.cir`` (:func:`measure_sigma_unit`), whose result
:data:`SIGMA_UNIT_MEASURED` the fit stores in every artifact.

The comparator offset σ is not measured on a comparator alone: it is fitted (:func:`_fit_offset_sigma`) to
the code spread of the whole converter's Monte Carlo at 8 bit, so it holds the StrongARM's input-pair
mismatch (NMOS 4/0.3 um, L = 0.3 um for matching) together with the sampling switches' and kickback's share.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from circuitsim.blocks import sar_adc_cdac, sar_adc_transitions
from circuitsim.calibration import adc_metrics
from circuitsim.errors import CircuitsimError
from circuitsim.blocks.sar_adc import (ARRAY_BITS, C_UNIT_MIM_1UM_F, SPICE_MC_BITS, SPICE_RESOLUTIONS, V_REF_V,
                                       SarAdcParams, SarInstance, convert, draw_instance, nominal_units,
                                       params_from_arrays)

SPICE_T_CLK_S = 2.5e-9
#: The deck's first rising clock edge (start of the sampling cycle 0).
SPICE_T0_S = 1e-9
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


def _convert_once(session, v_d: float, n_bits: int, seed: int | None = None, charges: bool = False) -> dict:
    """One conversion of ``v_d`` (V) at ``n_bits`` in the loaded deck (``seed``: the Monte Carlo draw):
    code, last residue, energies by supply; with ``charges`` also the CDAC switch charges of the same
    transient (:func:`circuitsim.blocks.sar_adc_cdac.conversion_charges`, the deck's ammeters)."""
    from circuitsim.spice.analyses import apply_point, transient
    from circuitsim.spice.measure import supply_energy_J

    apply_point(session, seed, vd_v=v_d, n_bits=n_bits)
    label = f"vd_v={v_d:g} n_bits={n_bits}" + (f" seed={seed}" if seed else "")
    vdd = session.deck_param("vdd_v")
    names = ([f"p{k}" for k in range(1, n_bits + 1)] + [f"n{k}" for k in range(1, n_bits + 1)] + ["xp", "xn"]
             + [f"{s}#branch" for s in _SOURCES] + (sar_adc_cdac.ammeter_vectors(n_bits) if charges else []))
    w = transient(session, 5e-12, _window(n_bits)[1], names, max_step_s=20e-12, point=label)
    t = w["time_s"].to_numpy()
    code, bad = _read_decisions(t, [w[f"v_p{k}_V"].to_numpy() for k in range(1, n_bits + 1)],
                                [w[f"v_n{k}_V"].to_numpy() for k in range(1, n_bits + 1)], n_bits, vdd)
    volts = {"vref": vdd, "vcm": 0.5 * vdd, "vddc": vdd, "vddl": vdd, "vclk": vdd, "vstart": vdd}
    e = {s: supply_energy_J(t, w[f"i_{s}_A"].to_numpy(), volts[s], _window(n_bits)) for s in _SOURCES}
    # the residue the last decision sees: top plates after N−1 switching steps, before the comparator fires
    t_res = SPICE_T0_S + n_bits * SPICE_T_CLK_S + 0.3e-9
    out = {"code": code, "undecided": len(bad),
           "residue_V": float(np.interp(t_res, t, (w["v_xp_V"] - w["v_xn_V"]).to_numpy())),
           "energy_cdac_J": e["vref"] + e["vcm"], "energy_comparator_J": e["vddc"],
           "energy_logic_J": e["vddl"] + e["vclk"] + e["vstart"]}
    if charges:
        out.update(sar_adc_cdac.conversion_charges(w, code, n_bits, SPICE_T0_S, SPICE_T_CLK_S))
    return out


def simulate(session, task) -> dict:
    """SPICE task: one conversion per input row (v_d, n_bits). Nominal: ``out_V`` (the code's bin centre on
    the ±V_ref scale), ``code``, ``residue_V`` (v(xp) − v(xn) before the last decision), energy per
    conversion by supply (CDAC = V_ref + V_cm sources; comparator; logic = sequencer, registers, drivers,
    clock buffer) over one steady-state period, ``latency_s`` = (N + 1)·T, ``undecided`` decisions, and the
    CDAC switch charges of the same transient (:data:`circuitsim.blocks.sar_adc_cdac.RECORD_KEYS`: per input
    an array over caps 1 … 7, or the top-plate moves) that :func:`fit` takes the CDAC energy model's charges
    from. Monte Carlo: ``out_V``, ``code`` and ``undecided`` per sample (rows) and input (columns)."""
    rows = np.asarray(task.inputs, float).reshape(-1, 2)
    keys = ("out_V", "code", "undecided") if task.seeds else (
        "out_V", "code", "undecided", "residue_V", "energy_J", "energy_cdac_J", "energy_comparator_J",
        "energy_logic_J", "latency_s") + sar_adc_cdac.RECORD_KEYS
    seeds = task.seeds or (None,)
    out = {k: np.empty((len(seeds), len(rows)) + ((sar_adc_cdac.SWITCHED_CAPS,) if k in sar_adc_cdac.CAP_KEYS
                                                  else ())) for k in keys}
    for s, seed in enumerate(seeds):
        for j, (v_d, n) in enumerate(rows):
            n = int(n)
            r = _convert_once(session, v_d, n, seed, charges=not task.seeds)
            r["out_V"] = _code_centre_v(r["code"], n)
            r["energy_J"] = r["energy_cdac_J"] + r["energy_comparator_J"] + r["energy_logic_J"]
            r["latency_s"] = (n + 1) * SPICE_T_CLK_S
            for k in keys:
                out[k][s, j] = r[k]
    return out if task.seeds else {k: v[0] for k, v in out.items()}


#: Input of the static measurement (V): a fit-grid input, so the code the converter holds while idle can be
#: checked against the nominal conversion of the same deck (tests/calibration/test_static_power.py).
STATIC_V_D_V = 0.25
#: Idle part of the static transient: the clock stops after the cycle that shifts the token out (N + 2 clock
#: pulses), the idle starts at t_idle = t0 + (N + 2)·T and the window is [t_idle + IDLE_SETTLE_S, t_idle +
#: IDLE_END_S]. Measured at 8 bit in windows from 3 us to 1 ms of idle: P is flat from 10 us at tt 85 C, ff
#: and fs; at tt 27 C it rises 1.5 % to its final 64.1 nW by 0.1 ms (the TSPC nodes' clock-feedthrough
#: overshoot to ~1.9 V relaxes, and the flip-flops' output inverters leak more as it does); at tt -40 C it
#: decays from 0.386 nW (20 .. 30 us) to 0.343 nW (0.5 .. 1 ms), the same relaxation and the comparator's
#: floating tail, slow when cold; at ss it rises from 3.78 to 4.01 nW over the same span, still relaxing; at
#: sf (fast NMOS) the TSPC's floating high nodes sag and the output inverters conduct from ~0.15 ms: 3.89 nW
#: at 20 .. 50 us, 4.04 at 0.1 .. 0.2 ms, 4.38 at 0.2 .. 0.3 ms, 25.7 at 0.5 .. 1 ms (the register would
#: later take a token). The window's two halves agree within 6 % at every point (``drift`` in the result).
IDLE_SETTLE_S = 20e-6
IDLE_END_S = 200e-6
#: Max time step of the static transient (s): the conversion's edges are ngspice breakpoints and its steps
#: are set by truncation error (the held code is the nominal conversion's, or at 8 bit one code off where
#: v_d = 0.25 V lies 0.25 LSB from a code edge); the step cap only bounds the idle part (~10^3 points).
STATIC_MAX_STEP_S = 100e-9
#: ngspice's integration method during the static transient, and its default after it: with the trapezoidal
#: rule the idle's 0.1 us steps ring, and at tt -40 C (currents of 10 pA) the window means of the supply
#: currents come out with either sign; Gear's backward differences do not ring.
STATIC_METHOD = "gear"
NGSPICE_METHOD = "trap"
#: ngspice's gmin (S, in parallel with every junction) during the static transient, and its default after it.
#: At the default 1e-12 S each junction at 1.8 V draws 1.8 pA, of the order of the whole converter's real
#: leakage at -40 C (~190 pA), and it pulls the floating high TSPC nodes down by ~0.6 V per ms there (at tt
#: 27 C it moves their rest level from 1.80 to 1.74 V and the logic's current by 30 %); at 1e-15 its share
#: is < 0.3 % (1e-18 S gives the same currents within 0.3 % at tt -40 C, 8 bit).
STATIC_GMIN_S = 1e-15
NGSPICE_GMIN_S = 1e-12
#: Sources of the static measurement: the charged ones (those of the conversion energy) and the ideal inputs.
STATIC_SUPPLIES = _SOURCES + ("vinp", "vinn")
STATIC_NOTE = ("no bias (dynamic StrongARM comparator, CMOS logic) and no power-down in the deck, so both figures "
               "are the same idle measurement, leakage: static_W = leakage_W = VDD x (I_VREF + max(I_VCM, 0) + "
               "I_VDDC + I_VDDL) (V_CM as a buffer on VDD: it draws what it sources, nothing for what it sinks; the "
               "ideal clock and start sources sit at 0 V: no power), each I the mean over an idle window of a "
               "transient: one conversion of v_d = 0.25 V, one more clock cycle that shifts the token out (no second "
               "start pulse), then the clock stopped low and the inputs held; window 20 .. 200 us after the deck's "
               "period t0 + (N + 2) T (its halves within 6 %), ngspice gmin 1e-15 S, Gear integration. At rest the "
               "code is held in the decision latches, caps 1 .. min(N, 7) sit on V_REF / ground and the rest on "
               "V_CM, the comparator is in reset (clock low, tail off) and the sampling switches are open. What "
               "leaks: the off low-Vt V_CM transmission gates of the switched caps (V_REF -> V_CM: 45 .. 66 % of the "
               "figure at tt 27 C from 2 to 8 bit, 86 .. 94 % at fs, fast PMOS), the off V_REF / ground switches, "
               "the logic's off devices (VDDL) and the comparator's tail (VDDC). The TSPC sequencer is dynamic: with "
               "the clock stopped its floating nodes hold only by leakage. Shifted out, the token leaves them high, "
               "which holds at every point but sf (fast NMOS: they sag and the flip-flops' output inverters conduct "
               "after ~0.15 ms, 26 nW by 1 ms at 8 bit, so an idle much longer than 0.2 ms there needs a clock or "
               "static flip-flops); stopped in the sampling state instead, T0's floating node crosses mid-rail after "
               "1 .. 10 us at tt 85 C and 0.1 .. 0.3 ms at tt 27 C, drawing ~10 uA while it does.")


def _print_vector(session, name: str) -> list[float]:
    """The numbers of an instance parameter vector (``@vclk[pulse]``) of the loaded circuit."""
    import re

    text = session.command(f"print {name}")
    return [float(x) for x in re.findall(r"[-+]?\d+(?:\.\d*)?e[-+]?\d+", text.split("=", 1)[-1])]


def static(session, task) -> dict:
    """Idle supply power of the converter (W) at ``task.inputs[0]`` = (v_d, N), from a transient of
    ``netlists/sar_adc.cir`` (a DC operating point of its dynamic and bistable logic is an arbitrary state:
    at tt -40 C ngspice's op does not converge and the deck's t = 0 point draws mA of crowbar current).

    The deck's sources are altered after the point is set: the clock ``vclk`` gives N + 2 pulses (sampling,
    N decisions, the cycle that shifts the token out) and stays low, the start pulse ``vstart`` gives only
    its first pulse, the inputs stay at their DC values. P = VDD·(I_VREF + max(I_VCM, 0) + I_VDDC + I_VDDL)
    (+ 0 V · I of the clock and start sources, idle low), each I the mean over
    [t_idle + :data:`IDLE_SETTLE_S`, t_idle + :data:`IDLE_END_S`], t_idle = t0 + (N + 2)·T
    (:func:`circuitsim.blocks.static_power.idle_window`); ``leakage_W`` = ``static_W`` (no power-down in the
    deck). Also returned: the code held in the decision latches at the window's end (``code``) and the
    decisions left unset (``undecided``)."""
    from circuitsim.blocks.static_power import idle_window
    from circuitsim.errors import SpiceError
    from circuitsim.spice.analyses import apply_point, transient

    v_d, n = np.ravel(task.inputs)[:2]
    n = int(n)
    apply_point(session, vd_v=float(v_d), n_bits=n)
    vdd = session.deck_param("vdd_v")
    pulse, pwl = _print_vector(session, "@vclk[pulse]"), _print_vector(session, "@vstart[pwl]")
    if len(pulse) != 7 or len(pwl) < 6 or pwl[5] != 0.0:
        raise SpiceError(f"sar_adc static: unexpected clock {pulse} or start {pwl} source in the deck")
    session.command("alter @vclk[pulse] = [ " + " ".join(repr(v) for v in pulse + [float(n + 2)]) + " ]")
    session.command("alter @vstart[pwl] = [ " + " ".join(repr(v) for v in pwl[:6]) + " ]")
    t_idle = SPICE_T0_S + (n + 2) * SPICE_T_CLK_S
    window = (t_idle + IDLE_SETTLE_S, t_idle + IDLE_END_S)
    names = ([f"p{k}" for k in range(1, n + 1)] + [f"n{k}" for k in range(1, n + 1)]
             + [f"{s}#branch" for s in STATIC_SUPPLIES])
    session.command(f"option gmin={STATIC_GMIN_S!r} method={STATIC_METHOD}")
    try:
        w = transient(session, 5e-12, window[1], names, max_step_s=STATIC_MAX_STEP_S,
                      point=f"static vd_v={float(v_d):g} n_bits={n}")
    finally:
        session.command(f"option gmin={NGSPICE_GMIN_S!r} method={NGSPICE_METHOD}")
    p = [w[f"v_p{k}_V"].iloc[-1] > 0.5 * vdd for k in range(1, n + 1)]
    q = [w[f"v_n{k}_V"].iloc[-1] > 0.5 * vdd for k in range(1, n + 1)]
    # the rails' voltages; the clock and start sources idle at 0 V; the inputs (not charged) at their DC levels
    volts = {"vclk": 0.0, "vstart": 0.0, "vinp": 0.5 * vdd + 0.5 * float(v_d), "vinn": 0.5 * vdd - 0.5 * float(v_d)}
    result = idle_window(w["time_s"].to_numpy(), {s: w[f"i_{s}_A"].to_numpy() for s in STATIC_SUPPLIES},
                         STATIC_SUPPLIES, window, charged=_SOURCES, volts_v=volts, sourcing_only=("vcm",), vdd_v=vdd)
    result["code"] = np.int64(sum(int(b) << (n - 1 - k) for k, b in enumerate(p)))
    result["undecided"] = np.int64(sum(a == b for a, b in zip(p, q)))
    return result


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



def _model_energy_parts(params: SarAdcParams, v_d) -> np.ndarray:
    """CDAC energy of the model's physics (J), without the fixed parts."""
    _, e = convert(v_d, replace(params, e_comparator_J=0.0, e_logic_J=0.0, e_sample_J=0.0))
    return e


def _offset_instance(params: SarAdcParams, v_os: float) -> SarInstance:
    nominal = draw_instance(params.ideal())
    return SarInstance(nominal.caps_p_f, nominal.caps_n_f, np.array([v_os]))


#: Relative σ of the 1 x 1 um MIM unit, stored by :func:`fit` as ``sigma_unit`` in every artifact: Monte Carlo
#: of netlists/sar_adc_cdac_unit.cir, 50 draws x 16 divider pairs, tt 27 °C, seed 1 (:func:`measure_sigma_unit`
#: gives 0.00424; seeds 2–5 give 0.00405–0.00423). Re-measured, and checked against the 99 % chi-square
#: interval of that sample size, by ``python -m pytest -m spice tests/blocks/test_sar_adc_calibration.py -k
#: unit_capacitor`` (test_unit_capacitor_sigma_is_measured_by_the_cdac_unit_deck, some 5 s).
SIGMA_UNIT_MEASURED = 0.0042
#: netlists/sar_adc_cdac_unit.cir: 16 capacitive dividers v(m<k>) = C_a / (C_a + C_b) per Monte Carlo draw.
UNIT_CAP_NETLIST = "sar_adc_cdac_unit"
UNIT_CAP_PAIRS = 16


def measure_sigma_unit(n_draws: int = 50, seed: int = 1, corner: str = "tt", temp_c: float = 27.0,
                       technology: str = "sky130") -> tuple[float, int]:
    """Relative σ of the MIM unit capacitor from ``n_draws`` Monte Carlo draws of
    ``netlists/sar_adc_cdac_unit.cir`` (mismatch models, ``sample_seeds(seed, 0, n_draws)``): each draw gives
    16 divider outputs |v(m<k>)| = C_a / (C_a + C_b) at 1 MHz; with independent units of relative σ s,
    σ(v) = s·√2/4, so s = 2·√2·σ(v) (sample σ over every pair and draw, ddof 1; common-mode variation
    cancels in a divider). Returns (s, number of divider samples), the sample size behind s."""
    from circuitsim.spice.analyses import ac_point, monte_carlo, sample_seeds
    from circuitsim.spice.netlist import load_netlist, render_deck
    from circuitsim.spice.session import SpiceSession
    from circuitsim.technology import load_technology

    session = SpiceSession.shared()
    deck = render_deck(load_netlist(UNIT_CAP_NETLIST), load_technology(technology), corner, temp_c, mismatch=True)
    session.load(deck, UNIT_CAP_NETLIST)
    nodes = [f"m{k}" for k in range(1, UNIT_CAP_PAIRS + 1)]

    def dividers(s):
        out = ac_point(s, 1e6, nodes)
        return [abs(out[f"v_{node}_V"]) for node in nodes]

    v = np.ravel(monte_carlo(session, sample_seeds(seed, 0, n_draws), dividers))
    return float(2 * np.sqrt(2) * v.std(ddof=1)), int(v.size)


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
    conversion from the fit grid: comparator per decision, logic per clock cycle; the CDAC energy model's
    switch charges (crowbar, bottom-plate parasitic, release and race of each switched cap) from the ammeter
    charges of the fit-grid conversions (:func:`circuitsim.blocks.sar_adc_cdac.charges_from_conversions`),
    never from the CDAC energy: no constant fitted to it (``e_cdac_extra_J`` = 0); offset σ from the 8-bit
    Monte Carlo fit stream."""
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
    missing = [k for k in sar_adc_cdac.RECORD_KEYS if k not in nf]
    if missing:
        raise CircuitsimError(f"{data.block} at {data.corner} {data.temp_c:g} C: the SPICE data hold no CDAC switch "
                              f"charges ({', '.join(missing)}; made before netlists/sar_adc.cir had its switch "
                              f"ammeters); recalibrate: circuitsim calibrate {data.block}")
    # the switch charges from the fit-grid conversions that decided every bit (an undecided one switched no cap)
    decided = np.asarray(nf["undecided"]) == 0
    charges = sar_adc_cdac.charges_from_conversions(codes[decided], n, {k: np.asarray(nf[k])[decided] for k in
                                                                        sar_adc_cdac.RECORD_KEYS}, c_par)
    base = SarAdcParams(n_bits=n, v_ref_v=V_REF_V, array_bits=ARRAY_BITS, c_parasitic_f=c_par,
                        input_error_lut=(tuple(x), tuple(error)), **sar_adc_cdac.params_fields(charges))
    e_cdac_model = _model_energy_parts(base, x)
    e_cmp = float(np.mean(nf["energy_comparator_J"]) / n)
    e_logic = float(np.mean(nf["energy_logic_J"]) / (n + 1))
    sigma_os = 0.0  # no Monte Carlo at this resolution: see calibrated_params for the 8-bit figure
    if data.mc_fit is not None:
        sigma_os = _fit_offset_sigma(data, replace(base, sigma_unit=SIGMA_UNIT_MEASURED), v_os)
    arrays = {"n_bits": np.array(n), "alpha": np.array(alpha), "v_os_V": np.array(v_os),
              "lut_v_d_V": x, "lut_input_error_V": error,
              "c_parasitic_F": np.array(c_par), "e_comparator_J": np.array(e_cmp),
              "e_logic_per_cycle_J": np.array(e_logic), "e_cdac_extra_J": np.array(0.0),
              "sigma_unit": np.array(SIGMA_UNIT_MEASURED), "offset_sigma_V": np.array(sigma_os),
              **sar_adc_cdac.model_arrays(charges)}
    undecided = [[float(v), int(k)] for v, k in zip(data.fit_x[:, 0], nf["undecided"]) if k] + \
        [[float(v), int(k)] for v, k in zip(data.holdout_x[:, 0], data.nominal_holdout["undecided"]) if k]
    notes = {"energy": f"{n}-bit conversion: CDAC (V_ref + V_cm sources) + StrongARM comparator + transistor-"
                       "level SAR logic (sequencer, decision latches, switch drivers, clock buffer), one "
                       "steady-state period, mean over the fit grid",
             "latency": f"{n + 1} cycles of 2.5 ns (400 MHz)",
             "alpha": alpha, "v_os_V": v_os, "c_parasitic_F": c_par,
             "input_error_max_abs_V": float(np.max(np.abs(error))),
             "e_comparator_per_decision_J": e_cmp, "e_logic_per_cycle_J": e_logic,
             "cdac": "CDAC energy = ideal charge redistribution of min(N, 7) switched caps + the switches' charges "
                     "read on the deck's ammeters at the fit-grid conversions (make-before-break crowbar, V_ref-side "
                     "bottom-plate parasitic, release and race in the sampling cycle; circuitsim.blocks.sar_adc_cdac); "
                     "no fitted CDAC constant",
             "race_ref": charges["race_ref"], "race_gnd": charges["race_gnd"],
             "cdac_fit_grid_max_abs_error": float(np.max(np.abs(e_cdac_model / nf["energy_cdac_J"] - 1))),
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


def transition_levels_model(arrays, rows) -> np.ndarray:
    """The calibrated model's transition levels T_k (V) at rows (k, N): the nominal converter with the fitted
    offset (as :func:`validation_model`), each edge bisected to 1e-6 LSB between the full-scale ends."""
    params = params_from_arrays(arrays)
    instance = _offset_instance(params, float(arrays["v_os_V"]))
    n = int(params.n_bits)
    lsb = 2 * V_REF_V / 2 ** n
    ks = np.asarray(rows, float).reshape(-1, 2)[:, 0].astype(np.int64)
    return adc_metrics.transition_levels_v(lambda v: convert(v, params, instance)[0], ks, -V_REF_V, V_REF_V,
                                           1e-6 * lsb)


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


def _transition_edges(n_bits: int) -> tuple:
    """Held-out code edges (k, N): every edge at 2–3 bit; at 4–8 bit the end edges 1 and L−1 (the INL's
    end-point line) and the three edges of the MSB carry, L/2 − 1, L/2, L/2 + 1 (where a binary-weighted
    array's largest DNL sits: codes L/2 − 1 and L/2)."""
    levels = 2 ** n_bits
    edges = range(1, levels) if levels <= 8 else (1, levels // 2 - 1, levels // 2, levels // 2 + 1, levels - 1)
    return tuple((float(k), float(n_bits)) for k in edges)


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
        mc_batch=25, action="conversion", component="sar_adc", monte_carlo=mc,
        # placed with the design value α = 0.94 before the calibration measured 0.948: σ is judged on the
        # spread of codes at the same inputs in SPICE and model, so where they sit in a bin is immaterial
        mc_fit_grid=_bin_centres(n_bits, [40, 215], 0.94) if mc else None,
        mc_holdout_grid=_bin_centres(n_bits, [64, 150], 0.94) if mc else None,
        static=static, static_inputs=((STATIC_V_D_V, float(n_bits)),), static_note=STATIC_NOTE,
        transitions=sar_adc_transitions.simulate, transition_edges=_transition_edges(n_bits),
        transition_model=transition_levels_model)


SPECS = {n: _spec(n) for n in SPICE_RESOLUTIONS}
SPEC_2B, SPEC_3B, SPEC_4B, SPEC_5B, SPEC_6B, SPEC_7B, SPEC_8B = (SPECS[n] for n in SPICE_RESOLUTIONS)


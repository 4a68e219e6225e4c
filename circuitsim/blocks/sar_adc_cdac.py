"""Switch charges of the SAR CDAC of ``netlists/sar_adc.cir``, read from the calibration's own conversions, for
the CDAC energy model of :mod:`circuitsim.blocks.sar_adc` (issue #14 item 3: no constant fitted to the CDAC
energy).

The CDAC energy is E = V_ref·Q_ref + V_cm·Q_cm over one steady-state conversion (sources ``vref``, ``vcm``).
Beyond the ideal-switch charge redistribution (kernel), the netlist's switches move charge three ways, each
read on device terminals: the deck has a 0 V ammeter on the source of every bottom-plate switch (:data:`AMMETERS`,
inside ``sarcap``; they change no device). Per conversion, :func:`conversion_charges` (called by the
calibration's SPICE task, :func:`circuitsim.blocks.sar_adc_calibration.simulate`) integrates them over the
decision and sampling cycles; per operating point and resolution, :func:`charges_from_conversions` (called by
its fit, on the fit-grid conversions only) turns them into the model's charges:

* make-before-break crowbar in decision k: the latch output turns cap k's ground / V_ref switch on one gate
  delay before its NAND + inverter turns the V_cm TG off, so V_ref drives into V_cm and V_cm into ground for
  that time: ``q_crowbar[bit][k]`` = charge V_cm takes from the V_ref-side TG + charge it gives to the
  ground-side TG (C); energy V_cm·q_crowbar;
* bottom-plate parasitic of the V_ref side (switch junctions and overlaps): ``q_bottom[bit][k]`` = charge V_ref
  gives beyond the ideal C_k·(V_ref − V_cm − Δx) and the crowbar; energy V_ref·q_bottom (the ground side's
  parasitic returns at reset: net zero);
* the sampling cycle's order: the sampling switch (phs, one inverter after T0) closes before the latch reset
  opens the V_ref / ground switches and before the V_cm TGs close (three gate delays), so a still-closed switch
  carries part of the top plate's move Δx from the residue to the next input, q = q_release[k] + race·(−C_k·Δx)
  per switch type (``ref``, ``gnd``), fitted by least squares to the switch charges of the conversions (``race``
  one number per type: it is the array's top-plate move against the switch's release; ``q_release`` per cap:
  the charge the switch passes as it opens); energy (V_b − V_cm)·q.

``q_crowbar`` and ``q_bottom`` are means per cap and bit over the conversions (every switched cap switches both
ways on the fit grid's complementary inputs ±v). The charges are charges through named devices, never a fit of
the model's energy to SPICE's: the CDAC energy of the conversions is not read here.
"""

from __future__ import annotations

import numpy as np

from circuitsim.blocks.sar_adc import C_UNIT_MIM_1UM_F, V_REF_V, nominal_units

#: Switched caps of the 8-bit array (cap 8 does not exist: decision 8 switches nothing).
SWITCHED_CAPS = 7
#: The deck's 0 V ammeters inside ``sarcap`` (rail, name): ``v.xc<k>.<name>`` carries the source current of
#: cap k's V_ref PMOS (``vir``), V_cm TG (``vic``) or ground NMOS (``vig``) on side p / n, positive from the
#: rail into the switch (ground: from the switch into ground).
AMMETERS = (("vref", "virp"), ("vref", "virn"), ("vcm", "vicp"), ("vcm", "vicn"), ("0", "vigp"), ("0", "vign"))
#: Per-conversion arrays over caps 1 .. 7 (C; NaN where the cap does not switch at this resolution) and top-plate
#: moves (V) that :func:`conversion_charges` returns: decision k's crowbar and V_ref-side charge, the sampling
#: cycle's charge through the still-closed switch of side p / n, and the top plates' move over that cycle.
CAP_KEYS = ("cdac_q_crowbar_C", "cdac_q_ref_C", "cdac_q_sample_p_C", "cdac_q_sample_n_C")
MOVE_KEYS = ("cdac_move_p_V", "cdac_move_n_V")
RECORD_KEYS = CAP_KEYS + MOVE_KEYS


def switched_caps(n_bits: int) -> int:
    """Caps an ``n_bits`` conversion switches: min(N, 7) (decision N switches cap N when there is one)."""
    return min(int(n_bits), SWITCHED_CAPS)


def ammeter_vectors(n_bits: int) -> list[str]:
    """ngspice vectors of the ammeters of the caps an ``n_bits`` conversion switches."""
    return [f"v.xc{k}.{name}#branch" for k in range(1, switched_caps(n_bits) + 1) for _, name in AMMETERS]


def decision_bits(code: int, n_bits: int) -> list[int]:
    """Decision k's bit (k = 1 … N, MSB first) of an ``n_bits`` code."""
    return [(int(code) >> (n_bits - k)) & 1 for k in range(1, n_bits + 1)]


def _integral(t, i, a, b) -> float:
    inside = (t > a) & (t < b)
    return float(np.trapezoid(np.concatenate(([np.interp(a, t, i)], i[inside], [np.interp(b, t, i)])),
                              np.concatenate(([a], t[inside], [b]))))


def conversion_charges(w, code: int, n_bits: int, t0_s: float, t_clk_s: float) -> dict:
    """The switch charges of one conversion from its transient ``w`` (columns ``time_s``, ``v_xp_V``,
    ``v_xn_V`` and the ammeters of :func:`ammeter_vectors`): :data:`CAP_KEYS` arrays over caps 1 … 7 and the
    :data:`MOVE_KEYS` moves. Decision k is the cycle [t0 + k·T, t0 + (k+1)·T]: ``cdac_q_crowbar_C`` = −q(V_cm TG of
    the V_ref side) + q(V_cm TG of the ground side), ``cdac_q_ref_C`` = q(V_ref switch) + q(V_cm TG of the V_ref
    side); the sampling cycle [t0 + (N+1)·T, t0 + (N+2)·T]: per side the charge of the switch the cap sits on
    (V_ref: into the switch, ground: out of it toward the bottom plate) and the top plate's move."""
    t = w["time_s"].to_numpy()

    def q(k, name, a, b):
        return _integral(t, w[f"i_v_xc{k}_{name}_A"].to_numpy(), a, b)

    out = {key: np.full(SWITCHED_CAPS, np.nan) for key in CAP_KEYS}
    bits = decision_bits(code, n_bits)
    a_s, b_s = t0_s + (n_bits + 1) * t_clk_s, t0_s + (n_bits + 2) * t_clk_s
    for k in range(1, switched_caps(n_bits) + 1):
        a, b = t0_s + k * t_clk_s, t0_s + (k + 1) * t_clk_s
        ref, gnd = ("n", "p") if bits[k - 1] else ("p", "n")
        q_tg_ref = q(k, "vic" + ref, a, b)
        out["cdac_q_crowbar_C"][k - 1] = -q_tg_ref + q(k, "vic" + gnd, a, b)
        out["cdac_q_ref_C"][k - 1] = q(k, "vir" + ref, a, b) + q_tg_ref
        for side in "pn":
            out[f"cdac_q_sample_{side}_C"][k - 1] = (q(k, "vir" + side, a_s, b_s) if side == ref
                                                     else -q(k, "vig" + side, a_s, b_s))
    for side in "pn":
        x = w[f"v_x{side}_V"].to_numpy()
        out[f"cdac_move_{side}_V"] = float(np.interp(b_s - 20e-12, t, x) - np.interp(a_s, t, x))
    return out


def runs_from_conversions(codes, n_bits: int, record: dict, c_parasitic_f: float, v_ref: float = V_REF_V) -> list:
    """The conversions' decision and sampling charges (``record``: :data:`RECORD_KEYS` stacked over the
    conversions, as the SPICE task returns them) in the form :func:`charges_from_runs` fits: per decision the
    crowbar and the V_ref-side charge beyond the ideal C_k·(V_ref − V_cm − Δx_ref), Δx_ref = C_k·(V_ref −
    V_cm)/C_top (``c_parasitic_f``: the point's fitted top-plate parasitic); per switch in the sampling cycle
    its charge and −C_k·Δx."""
    caps = nominal_units(8) * C_UNIT_MIM_1UM_F
    v_cm, c_top = 0.5 * v_ref, caps.sum() + c_parasitic_f
    runs = []
    for i, code in enumerate(np.asarray(codes, np.int64)):
        bits = decision_bits(code, n_bits)
        decisions, sampling = [], []
        for k in range(1, switched_caps(n_bits) + 1):
            c, bit = caps[k - 1], bits[k - 1]
            dx_ref = c * (v_ref - v_cm) / c_top
            decisions.append({"k": k, "bit": bit, "q_crowbar_C": float(record["cdac_q_crowbar_C"][i, k - 1]),
                              "q_bottom_C": float(record["cdac_q_ref_C"][i, k - 1] - c * (v_ref - v_cm - dx_ref))})
            for side in "pn":
                to_ref = (side == "n") == bool(bit)
                sampling.append({"k": k, "type": "ref" if to_ref else "gnd",
                                 "q_C": float(record[f"cdac_q_sample_{side}_C"][i, k - 1]),
                                 "minus_c_dx_C": float(-c * record[f"cdac_move_{side}_V"][i])})
        runs.append({"n_bits": n_bits, "decisions": decisions, "sampling": sampling})
    return runs


def charges_from_runs(runs) -> dict:
    """Per-cap crowbar and bottom-plate charges (mean per bit over the runs), and per switch type the race
    fraction and release charges (least squares of q = q_release[k] + race·(−C_k·Δx) over the runs). A cap no
    run switches gets zero charges; one a run switches must switch both ways."""
    n = SWITCHED_CAPS
    q_cb, q_bp, count = np.zeros((2, n)), np.zeros((2, n)), np.zeros((2, n))
    for r in runs:
        for d in r["decisions"]:
            i = (d["bit"], d["k"] - 1)
            q_cb[i] += d["q_crowbar_C"]
            q_bp[i] += d["q_bottom_C"]
            count[i] += 1
    used = count.sum(axis=0) > 0
    if count[:, used].min(initial=1) == 0:
        raise ValueError(f"every switched cap must switch both ways in the runs; counts {count.tolist()}")
    safe = np.where(count > 0, count, 1)
    out = {"q_crowbar_C": (q_cb / safe).tolist(), "q_bottom_C": (q_bp / safe).tolist()}
    for kind in ("ref", "gnd"):
        rows = [s for r in runs for s in r["sampling"] if s["type"] == kind]
        a = np.zeros((len(rows), n + 1))
        y = np.array([s["q_C"] for s in rows]) * 1e15  # fC: intercept and slope columns of the same order
        for i, s in enumerate(rows):
            a[i, s["k"] - 1] = 1.0
            a[i, n] = s["minus_c_dx_C"] * 1e15
        sol, *_ = np.linalg.lstsq(a, y, rcond=None)  # a cap without rows: a zero column, minimum norm 0
        out[f"race_{kind}"] = float(sol[n])
        out[f"q_release_{kind}_C"] = (sol[:n] * 1e-15).tolist()
    return out


def charges_from_conversions(codes, n_bits: int, record: dict, c_parasitic_f: float,
                             v_ref: float = V_REF_V) -> dict:
    """The model's switch charges (:func:`charges_from_runs`) from conversions' ``record`` (see
    :func:`runs_from_conversions`)."""
    return charges_from_runs(runs_from_conversions(codes, n_bits, record, c_parasitic_f, v_ref))


def model_arrays(charges: dict) -> dict:
    """The ``model.npz`` arrays of the charges (the keys :func:`circuitsim.blocks.sar_adc.params_from_arrays`
    reads)."""
    return {"q_crowbar_C": np.asarray(charges["q_crowbar_C"], float),
            "q_bottom_C": np.asarray(charges["q_bottom_C"], float),
            "q_release_ref_C": np.asarray(charges["q_release_ref_C"], float),
            "q_release_gnd_C": np.asarray(charges["q_release_gnd_C"], float),
            "race_ref": np.array(float(charges["race_ref"])), "race_gnd": np.array(float(charges["race_gnd"]))}


def params_fields(record: dict) -> dict:
    """The :class:`~circuitsim.blocks.sar_adc.SarAdcParams` fields of a charges record."""
    return {"q_crowbar_c": tuple(map(tuple, record["q_crowbar_C"])), "q_bottom_c": tuple(map(tuple, record["q_bottom_C"])),
            "q_release_ref_c": tuple(record["q_release_ref_C"]), "q_release_gnd_c": tuple(record["q_release_gnd_C"]),
            "race_ref": float(record["race_ref"]), "race_gnd": float(record["race_gnd"]), "last_cap_switches": True}

"""Switch charges of the SAR CDAC of ``netlists/sar_adc.cir``, measured in SPICE, for the CDAC energy model of
:mod:`circuitsim.blocks.sar_adc` (issue #14 item 3: no constant fitted to the CDAC energy).

The CDAC energy is E = V_ref·Q_ref + V_cm·Q_cm over one steady-state conversion (sources ``vref``, ``vcm``).
Beyond the ideal-switch charge redistribution (kernel), the netlist's switches move charge three ways, each
measured here on device terminals with a 0 V ammeter on the source of every bottom-plate switch (an
instrumented copy of the deck, :func:`instrumented_deck`; the circuit is unchanged):

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
  per switch type (``ref``, ``gnd``), fitted by least squares to the switch charges of the runs (``race`` one
  number per type: it is the array's top-plate move against the switch's release; ``q_release`` per cap: the
  charge the switch passes as it opens); energy (V_b − V_cm)·q.

The runs are at fit-grid inputs only (:data:`RUNS`), never at held-out inputs; the charges are charges through
named devices, not a fit of the model's energy to SPICE's. One load of the deck per operating point, six
transients (~2 s each at 8 bit).
"""

from __future__ import annotations

import re

import numpy as np

from circuitsim.blocks.sar_adc import C_UNIT_MIM_1UM_F, nominal_units

#: Measurement inputs (n_bits, v_d in V): fit-grid points of sar_adc_8b / sar_adc_2b. The 8-bit pairs are
#: complementary codes, so every cap switches once each way; ±1.25 V give large top-plate moves for the race.
RUNS = ((8, -0.25), (8, 0.25), (8, -1.25), (8, 1.25), (2, -1.25), (2, 1.25))
#: Switched caps of the 8-bit array (cap 8 does not exist: decision 8 switches nothing).
SWITCHED_CAPS = 7

_AMMETERS = (("vrp", "vref", "virp"), ("vrn", "vref", "virn"), ("vcp", "vcm", "vicp"), ("vcn", "vcm", "vicn"),
             ("gp", "0", "vigp"), ("gn", "0", "vign"))


def instrumented_deck(deck: str) -> str:
    """The rendered sar_adc deck with a 0 V ammeter on each bottom-plate switch's source inside ``sarcap``
    (``v.xc<k>.vir<p|n>``: V_ref switch, ``vic``: V_cm TG, ``vig``: ground switch): the same devices, the
    source terminals renamed to the ammeters' nodes."""
    m = re.search(r"^\.subckt sarcap .*?^\.ends sarcap", deck, flags=re.S | re.M)
    if m is None:
        raise ValueError("the deck has no sarcap subcircuit")
    lines = m.group(0).splitlines()
    body = []
    for line in lines[1:-1]:
        tok = line.split()
        if tok and tok[0] in ("xgp", "xrp", "xcmpn", "xcmpp", "xgn", "xrn", "xcmnn", "xcmnp"):
            side = tok[1][-1]  # bp / bn
            rail = {"0": "g", "vref": "r", "vcm": "c"}[tok[3]]
            tok[3] = {"g": "g", "r": "vr", "c": "vc"}[rail] + side
            line = " ".join(tok)
        body.append(line)
    ammeters = [f"{name} {rail} {node} 0" if rail != "0" else f"{name} {node} 0 0" for node, rail, name in _AMMETERS]
    block = "\n".join([lines[0], *ammeters, *body, lines[-1]])
    return deck[:m.start()] + block + deck[m.end():]


def _integral(t, i, a, b) -> float:
    inside = (t > a) & (t < b)
    return float(np.trapezoid(np.concatenate(([np.interp(a, t, i)], i[inside], [np.interp(b, t, i)])),
                              np.concatenate(([a], t[inside], [b]))))


def _one_run(session, n_bits: int, v_d: float, c_par_f: float, v_ref: float) -> dict:
    from circuitsim.blocks.sar_adc_calibration import SPICE_T0_S as T0, SPICE_T_CLK_S as T, _window
    from circuitsim.spice.analyses import apply_point, transient

    apply_point(session, vd_v=v_d, n_bits=n_bits)
    amm = [f"v.xc{k}.{name}#branch" for k in range(1, SWITCHED_CAPS + 1) for _, _, name in _AMMETERS]
    names = amm + ["xp", "xn"] + [f"p{k}" for k in range(1, n_bits + 1)]
    w = transient(session, 5e-12, _window(n_bits)[1], names, max_step_s=20e-12,
                  point=f"cdac charges vd_v={v_d:g} n_bits={n_bits}")
    t = w["time_s"].to_numpy()

    def q(k, name, a, b):
        return _integral(t, w[f"i_v_xc{k}_{name}_A"].to_numpy(), a, b)

    caps = nominal_units(8) * C_UNIT_MIM_1UM_F
    v_cm, ct = 0.5 * v_ref, caps.sum() + c_par_f
    bits, decisions = [], []
    for k in range(1, min(n_bits, SWITCHED_CAPS) + 1):
        a, b = T0 + k * T, T0 + (k + 1) * T
        bit = int(np.interp(b - 50e-12, t, w[f"v_p{k}_V"].to_numpy()) > v_cm)
        bits.append(bit)
        ref, gnd = ("n", "p") if bit else ("p", "n")
        q_tg_ref, q_tg_gnd = q(k, "vic" + ref, a, b), q(k, "vic" + gnd, a, b)
        dx_ref = caps[k - 1] * (v_ref - v_cm) / ct
        decisions.append({"k": k, "bit": bit, "q_crowbar_C": -q_tg_ref + q_tg_gnd,
                          "q_bottom_C": q(k, "vir" + ref, a, b) - caps[k - 1] * (v_ref - v_cm - dx_ref) + q_tg_ref})
    a, b = T0 + (n_bits + 1) * T, T0 + (n_bits + 2) * T
    x = {s: w[f"v_x{s}_V"].to_numpy() for s in "pn"}
    move = {s: float(np.interp(b - 20e-12, t, x[s]) - np.interp(a, t, x[s])) for s in "pn"}
    sampling = []
    for k, bit in enumerate(bits, 1):
        for side in "pn":
            to_ref = (side == "n") == bool(bit)
            charge = q(k, "vir" + side, a, b) if to_ref else -q(k, "vig" + side, a, b)
            sampling.append({"k": k, "type": "ref" if to_ref else "gnd", "q_C": charge,
                             "minus_c_dx_C": -caps[k - 1] * move[side]})
    return {"n_bits": n_bits, "v_d_V": v_d, "decisions": decisions, "sampling": sampling}


def charges_from_runs(runs) -> dict:
    """Per-cap crowbar and bottom-plate charges (mean per bit over the 8-bit runs), and per switch type the
    race fraction and release charges (least squares of q = q_release[k] + race·(−C_k·Δx) over all runs)."""
    n = SWITCHED_CAPS
    q_cb, q_bp, count = np.zeros((2, n)), np.zeros((2, n)), np.zeros((2, n))
    for r in runs:
        if r["n_bits"] != 8:
            continue
        for d in r["decisions"]:
            i = (d["bit"], d["k"] - 1)
            q_cb[i] += d["q_crowbar_C"]
            q_bp[i] += d["q_bottom_C"]
            count[i] += 1
    if count.min() == 0:
        raise ValueError(f"every cap must switch both ways in the 8-bit runs; counts {count.tolist()}")
    out = {"q_crowbar_C": (q_cb / count).tolist(), "q_bottom_C": (q_bp / count).tolist()}
    for kind in ("ref", "gnd"):
        rows = [s for r in runs for s in r["sampling"] if s["type"] == kind]
        a = np.zeros((len(rows), n + 1))
        y = np.array([s["q_C"] for s in rows]) * 1e15  # fC: intercept and slope columns of the same order
        for i, s in enumerate(rows):
            a[i, s["k"] - 1] = 1.0
            a[i, n] = s["minus_c_dx_C"] * 1e15
        sol, *_ = np.linalg.lstsq(a, y, rcond=None)
        out[f"race_{kind}"] = float(sol[n])
        out[f"q_release_{kind}_C"] = (sol[:n] * 1e-15).tolist()
    return out


def measure_switch_charges(session, deck: str, c_parasitic_f: float, v_ref: float = 1.8, runs=RUNS) -> dict:
    """Load the instrumented ``deck`` (a rendered sar_adc deck) and measure the switch charges at ``runs``;
    ``c_parasitic_f`` is the point's fitted top-plate parasitic (for the ideal share the crowbar and parasitic
    are measured against). Returns :func:`charges_from_runs` plus the raw runs."""
    session.load(instrumented_deck(deck), "sar_adc (instrumented: CDAC switch ammeters)")
    raw = [_one_run(session, n, v, c_parasitic_f, v_ref) for n, v in runs]
    return {**charges_from_runs(raw), "runs": [list(r) for r in runs], "raw": raw}


def params_fields(record: dict) -> dict:
    """The :class:`~circuitsim.blocks.sar_adc.SarAdcParams` fields of a measured record."""
    return {"q_crowbar_c": tuple(map(tuple, record["q_crowbar_C"])), "q_bottom_c": tuple(map(tuple, record["q_bottom_C"])),
            "q_release_ref_c": tuple(record["q_release_ref_C"]), "q_release_gnd_c": tuple(record["q_release_gnd_C"]),
            "race_ref": float(record["race_ref"]), "race_gnd": float(record["race_gnd"]), "last_cap_switches": True}

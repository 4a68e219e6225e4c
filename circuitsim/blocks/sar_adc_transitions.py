"""Code transition levels of the transistor-level SAR ADC (``netlists/sar_adc.cir``), measured in SPICE.

Transition level T_k (k = 1 … L−1, L = 2^N) is the lowest differential input v_d whose code is ≥ k: the
edge between codes k−1 and k. It is what a converter's linearity is made of (DNL_k = (T_{k+1} − T_k)/LSB − 1,
INL from the same edges), and what the model must reproduce to within a fraction of an LSB; a comparison at
code centres only sees whether the error exceeds half an LSB.

The measurement (:func:`simulate`) needs only the decisions up to the one that decides the edge. Codes
k−1 and k first differ at decision j = N − ⌊log2((k−1) xor k)⌋, and below that bit k has only zeros, so for
a monotone SAR code(v) ≥ k ⟺ (decisions 1 … j as a j-bit number) ≥ ⌊k / 2^(N−j)⌋. Each probe is one
transient of the deck to the end of decision j (the circuit is causal: later cycles cannot change it).

The search, per edge, is driven by codes; the comparator's input just before decision j,
d = v(xp) − v(xn), only proposes where to probe next:

1. probe the design guess g_k = α_d·(−V_ref + k·2V_ref/L) (α_d: the tt 27 °C attenuation) and, while the
   first j − 1 decisions are not those of the edge, step half an LSB towards it;
2. from a probe with the edge's decision prefix, d is about linear in v_d with slope s (≈ 1: the top plates
   sample v_d, the array's attenuation scales the DAC steps, not the input), so the edge is estimated at
   v − (d − θ)/s, θ the comparator's threshold in d (its systematic offset and kickback: 0 at the first
   edge of a task, then the d interpolated at the edges already found);
3. probe the estimate ± half the tolerance; a pair of probes on either side that are at most
   ``tolerance_lsb`` apart ends the search with T_k at their midpoint (bracket half-width ≤ tolerance/2);
   an estimate outside the bracket, or more than :data:`SECANT_ROUNDS` rounds, falls back to bisection.

Every reported level is bracketed by two SPICE codes; the proposals never enter the result.
"""

from __future__ import annotations

import numpy as np

from circuitsim.errors import SpiceError

#: Differential reference of the deck (V): inputs within ±V_REF, full scale 2·V_REF.
V_REF_V = 1.8
#: Attenuation of the array at tt 27 °C (``alpha`` of calibration/sky130/tt_27C/sar_adc_8b, 0.9478): only
#: the search's first guess, so a corner's other attenuation costs probes, not accuracy.
DESIGN_ALPHA = 0.948
#: Width of the final SPICE bracket (LSB at the task's resolution): T_k is its midpoint, ±0.02 LSB, a
#: quarter of the largest model error the independent check found at a transition (0.08 LSB).
TOLERANCE_LSB = 0.04
#: Proposal rounds from the comparator input before the search bisects: measured at tt 27 °C, 8 bit, the
#: threshold θ is not one number (0.04 … 1.6 mV from edge to edge), so later rounds rarely beat bisection.
SECANT_ROUNDS = 2
#: A search that needs more probes than this is refused (the code is not monotone near the guess).
MAX_PROBES = 24


def deciding_decision(k: int, n_bits: int) -> int:
    """Decision j (1 = MSB) at which codes k−1 and k first differ: N − ⌊log2((k−1) xor k)⌋."""
    if not 1 <= k < 2 ** n_bits:
        raise ValueError(f"edge {k} is outside 1..{2 ** n_bits - 1} at {n_bits} bit")
    return n_bits - int((k - 1) ^ k).bit_length() + 1


def design_guess_v(k: int, n_bits: int) -> float:
    """First guess of T_k (V): the edge of an ideal converter with the design attenuation, α_d·(−V_ref +
    k·2V_ref/2^N)."""
    return DESIGN_ALPHA * (-V_REF_V + k * 2 * V_REF_V / 2 ** n_bits)


def _probe(session, v_d: float, n_bits: int, j: int, vdd: float, t0: float, t_clk: float) -> tuple[int, float]:
    """One transient of the loaded deck at input ``v_d`` to the end of decision j: (decisions 1 … j as a
    j-bit number, comparator input v(xp) − v(xn) 0.3 ns into decision j's cycle)."""
    from circuitsim.spice.analyses import apply_point, transient

    apply_point(session, vd_v=v_d, n_bits=n_bits)
    names = [f"p{m}" for m in range(1, j + 1)] + ["xp", "xn"]
    t_read = t0 + (j + 1) * t_clk - 50e-12  # as the full conversion reads its latches
    w = transient(session, 5e-12, t_read + 20e-12, names, max_step_s=20e-12,
                  point=f"edge probe vd_v={v_d:.9g} n_bits={n_bits} decisions={j}")
    t = w["time_s"].to_numpy()
    word = 0
    for m in range(1, j + 1):
        word = 2 * word + int(np.interp(t_read, t, w[f"v_p{m}_V"].to_numpy()) > 0.5 * vdd)
    d = float(np.interp(t0 + j * t_clk + 0.3e-9, t, (w["v_xp_V"] - w["v_xn_V"]).to_numpy()))
    return word, d


def find_edge(probe, k: int, n_bits: int, theta_v: float = 0.0, tolerance_lsb: float = TOLERANCE_LSB) -> dict:
    """T_k of the converter that ``probe(v_d, j) -> (word, d)`` simulates (the search of the module
    docstring). Returns ``level_V`` (bracket midpoint), ``below_V`` / ``above_V`` (the bracketing probes),
    ``threshold_V`` (d interpolated at ``level_V``: the comparator's threshold), ``probes``."""
    lsb = 2 * V_REF_V / 2 ** n_bits
    tol = tolerance_lsb * lsb
    j = deciding_decision(k, n_bits)
    target = k >> (n_bits - j)          # decisions 1 … j of code k; code k−1 has target − 1
    below = above = None                # (v, d or None): the highest probe below the edge, the lowest above
    on_prefix = []                      # probes whose first j−1 decisions are the edge's: (v, d)
    probes = 0

    def run(v):
        nonlocal below, above, probes
        if probes >= MAX_PROBES:
            raise SpiceError(f"sar_adc edge {k} at {n_bits} bit: no bracket of {tolerance_lsb} LSB after "
                             f"{MAX_PROBES} probes (bracket {below}, {above}); the code is not monotone here")
        probes += 1
        word, d = probe(v, j)
        if word >> 1 == target >> 1:
            on_prefix.append((v, d))
        if word >= target:
            if above is None or v < above[0]:
                above = (v, d)
        elif below is None or v > below[0]:
            below = (v, d)

    def estimate():
        """The edge where the comparator input reaches θ, from the probes on the edge's prefix."""
        pts = sorted(on_prefix)
        if len(pts) >= 2:
            (v1, d1), (v2, d2) = pts[0], pts[-1]
            slope = (d2 - d1) / (v2 - v1) if v2 != v1 and d2 != d1 else 1.0
        else:
            slope = 1.0
        v, d = min(pts, key=lambda p: abs(p[1] - theta_v))
        return v - (d - theta_v) / slope

    run(design_guess_v(k, n_bits))
    while not on_prefix:                # towards the edge's prefix in half-LSB steps, or between two probes
        if below and above:
            run(0.5 * (below[0] + above[0]))
        else:
            run(below[0] + 0.5 * lsb if above is None else above[0] - 0.5 * lsb)
    rounds = 0
    while below is None or above is None or above[0] - below[0] > tol:
        lo = below[0] if below else -np.inf
        hi = above[0] if above else np.inf
        x = estimate() if rounds < SECANT_ROUNDS else 0.5 * (lo + hi)
        rounds += 1
        if not lo < x < hi or rounds > SECANT_ROUNDS:
            if np.isfinite(lo) and np.isfinite(hi):
                run(0.5 * (lo + hi))
            else:                       # one side still unknown: step past the known probe
                run(lo + 0.5 * lsb if np.isfinite(lo) else hi - 0.5 * lsb)
            continue
        for v in (x - 0.5 * tol, x + 0.5 * tol):
            if lo < v < hi and not (below and above and above[0] - below[0] <= tol):
                run(v)
                lo = below[0] if below else -np.inf
                hi = above[0] if above else np.inf
    level = 0.5 * (below[0] + above[0])
    (v1, d1), (v2, d2) = below, above
    threshold = d1 + (d2 - d1) * (level - v1) / (v2 - v1) if d1 is not None and d2 is not None else theta_v
    return {"level_V": level, "below_V": below[0], "above_V": above[0], "threshold_V": threshold, "probes": probes}


def _clock(session) -> tuple[float, float]:
    """The deck's clock as ngspice holds it (``@vclk[pulse]`` = v1 v2 delay rise fall width period): the first
    rising edge t0 (s) and the period T (s)."""
    import re

    text = session.command("print @vclk[pulse]")
    values = [float(x) for x in re.findall(r"[-+]?\d+(?:\.\d*)?e[-+]?\d+", text.split("=", 1)[-1])]
    if len(values) < 7:
        raise SpiceError(f"sar_adc: unexpected clock source {values} in the deck")
    return values[2], values[6]


def simulate(session, task) -> dict:
    """SPICE task: transition levels T_k (V) of the rows (k, n_bits) of ``task.inputs`` in the loaded deck
    (nominal models), with their brackets and probe counts. The comparator threshold θ learnt at one edge
    seeds the next (the rows share a deck and a comparator)."""
    rows = np.asarray(task.inputs, float).reshape(-1, 2)
    vdd = session.deck_param("vdd_v")
    t0, t_clk = _clock(session)
    out = {key: np.empty(len(rows)) for key in ("level_V", "below_V", "above_V", "threshold_V", "probes")}
    thresholds = []
    for i, (k, n) in enumerate(rows):
        n = int(n)
        theta = float(np.mean(thresholds)) if thresholds else 0.0
        result = find_edge(lambda v, j: _probe(session, v, n, j, vdd, t0, t_clk), int(k), n, theta)
        thresholds.append(result["threshold_V"])
        for key in out:
            out[key][i] = result[key]
    out["edge"] = rows[:, 0].astype(np.int64)
    out["n_bits"] = rows[:, 1].astype(np.int64)
    return out

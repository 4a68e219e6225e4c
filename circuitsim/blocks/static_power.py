"""Static (quiescent) supply power and off-state leakage of a block, measured in its own deck by DC
operating points, or for a block whose DC operating point is not its idle state by an idle window of a
transient (:func:`idle_window`) (SPEC: issue 17, item 2). Each block module's ``static(session, task)``
states what "on" and "off" mean for its deck and calls :func:`measure` (or :func:`idle_window`); the
runner stores the result in the artifact (``spice.npz`` keys ``static_*``, ``energy.json`` keys
``static_W``, ``leakage_W``, ``static_note``).

One condition = deck parameters set with ``alterparam`` (then ``reset``), then source values set with
``alter SOURCE dc=VALUE`` (sources the deck already has: a bias current, an idle clock, an input), then
``op``. Transient sources that are not altered sit at their DC value (``dc ...``) or, without one, at their
t = 0 value: clocks are idle at their first level.

Power of one supply at a condition: P_s = V_s · I_s, with I_s = −I_branch the current the source delivers
(ngspice reports the current into its positive terminal) and V_s the rail it stands for. The block's
power is the sum over its *charged* supplies, the ones its energy per action is integrated on; the deck's
other sources (shared bias references, test branches, ideal inputs) are recorded beside it, not summed.

Idle window (:func:`idle_window`): for clocked logic with dynamic and bistable nodes (the SAR ADC) a DC
operating point is an arbitrary state, not the one the block rests in. There the block's own transient
brings it to rest (a conversion, then the clock stopped and the inputs held) and I_s is the mean current
each source delivers over a window of the idle part, −∫ I_branch dt / (t₁ − t₀).
"""

from __future__ import annotations

import numpy as np

from circuitsim.spice.analyses import apply_point
from circuitsim.spice.measure import supply_energy_J


def supply_currents_A(session, supplies, *, params=None, sources=None, label: str = "") -> np.ndarray:
    """Currents (A) the voltage sources ``supplies`` deliver at the DC operating point of one condition:
    ``alterparam`` of ``params`` + ``reset``, ``alter`` of each source in ``sources`` to its DC value, ``op``."""
    apply_point(session, **(params or {}))
    for name, value in (sources or {}).items():
        session.command(f"alter {name.lower()} dc={float(value)!r}")
    session.analyse("op", point=label)
    return np.array([-float(session.vector(f"{s.lower()}#branch")[0]) for s in supplies])


def measure(session, supplies, *, on: dict, off: dict, charged=None, volts_v=None) -> dict:
    """Static and leakage power of one instance (W) and the per-supply data behind them.

    ``supplies``: voltage sources whose currents are read; ``charged``: those whose power counts (default
    all); ``volts_v``: rail voltage of each supply (default the deck's ``vdd_v``); ``on`` / ``off``: the two
    conditions as ``{"params": {...}, "sources": {...}}``. Returns ``static_W`` = Σ_charged V_s·I_s,on,
    ``leakage_W`` = Σ_charged V_s·I_s,off, and ``supply_names``, ``supply_V``, ``charged``, ``on_A``,
    ``off_A`` (one entry per supply)."""
    supplies = tuple(supplies)
    charged = tuple(charged or supplies)
    vdd = session.deck_param("vdd_v")
    volts = np.array([float((volts_v or {}).get(s, vdd)) for s in supplies])
    on_a = supply_currents_A(session, supplies, label="static (on)", **on)
    off_a = supply_currents_A(session, supplies, label="leakage (off)", **off)
    mask = np.array([s in charged for s in supplies])
    return {
        "static_W": np.float64(np.sum(volts[mask] * on_a[mask])),
        "leakage_W": np.float64(np.sum(volts[mask] * off_a[mask])),
        "supply_names": np.array(supplies),
        "supply_V": volts,
        "charged": mask,
        "on_A": on_a,
        "off_A": off_a,
    }


def idle_window(time_s, branch_currents_a: dict, supplies, window_s, *, charged=None, volts_v=None,
                sourcing_only=(), vdd_v: float) -> dict:
    """Static power of an instance at rest (W) from a transient that ends in an idle window ``window_s`` =
    (t₀, t₁) (s), and the per-supply data behind it, keyed as :func:`measure`'s result.

    ``branch_currents_a``: ngspice branch current of each source in ``supplies`` over ``time_s``; I_s = the
    mean current the source delivers over the window. P = Σ_charged V_s·I_s, with I_s replaced by
    max(I_s, 0) for the sources in ``sourcing_only`` (references modelled as buffers on a supply: they
    draw what they source and nothing for what they sink). ``volts_v``: rail voltage of each supply
    (default ``vdd_v``). The block has one rest state here, so ``leakage_W`` = ``static_W`` and ``off_A`` =
    ``on_A``; a block with a power-down state measures it in a second window. Also returned:
    ``window_s`` and ``drift``, the relative change of P between the window's two halves (how settled the
    window is)."""
    supplies = tuple(supplies)
    charged = tuple(charged or supplies)
    time_s = np.asarray(time_s, float)
    t0, t1 = (float(t) for t in window_s)
    volts = np.array([float((volts_v or {}).get(s, vdd_v)) for s in supplies])
    mask = np.array([s in charged for s in supplies])
    clip = np.array([s in sourcing_only for s in supplies])

    def mean_a(a: float, b: float) -> np.ndarray:
        return np.array([supply_energy_J(time_s, branch_currents_a[s], 1.0, (a, b)) / (b - a) for s in supplies])

    def power(current: np.ndarray) -> np.float64:
        current = np.where(clip, np.maximum(current, 0.0), current)
        return np.float64(np.sum((volts * current)[mask]))

    on_a = mean_a(t0, t1)
    mid = 0.5 * (t0 + t1)
    first, second = power(mean_a(t0, mid)), power(mean_a(mid, t1))
    static_w = power(on_a)
    return {
        "static_W": static_w,
        "leakage_W": static_w,
        "supply_names": np.array(supplies),
        "supply_V": volts,
        "charged": mask,
        "sourcing_only": clip,
        "on_A": on_a,
        "off_A": on_a.copy(),
        "window_s": np.array([t0, t1]),
        "drift": np.float64((second - first) / static_w) if static_w else np.float64(0.0),
    }

"""Static (quiescent) supply power and off-state leakage of a block, measured in its own deck by DC
operating points (SPEC: issue 17, item 2). Each block module's ``static(session, task)`` states what "on"
and "off" mean for its deck and calls :func:`measure`; the runner stores the result in the artifact
(``spice.npz`` keys ``static_*``, ``energy.json`` keys ``static_W``, ``leakage_W``, ``static_note``).

One condition = deck parameters set with ``alterparam`` (then ``reset``), then source values set with
``alter SOURCE dc=VALUE`` (sources the deck already has: a bias current, an idle clock, an input), then
``op``. Transient sources that are not altered sit at their DC value (``dc ...``) or, without one, at their
t = 0 value: clocks are idle at their first level.

Power of one supply at a condition: P_s = V_s · I_s, with I_s = −I_branch the current the source delivers
(ngspice reports the current into its positive terminal) and V_s the rail it stands for. The block's
power is the sum over its *charged* supplies, the ones its energy per action is integrated on; the deck's
other sources (shared bias references, test branches, ideal inputs) are recorded beside it, not summed.
"""

from __future__ import annotations

import numpy as np

from circuitsim.spice.analyses import apply_point


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

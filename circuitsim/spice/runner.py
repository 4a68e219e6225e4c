"""``circuitsim spice run``: load a rendered deck and run its own analyses (the dot-commands in it)."""

from __future__ import annotations

import pandas as pd

from circuitsim.spice.analyses import column_name
from circuitsim.spice.netlist import load_netlist, render_deck
from circuitsim.spice.session import SpiceSession
from circuitsim.technology import load_technology


def run_deck(netlist: str, technology: str = "sky130", corner: str = "tt", temp_c=None, *, mismatch=False,
             seed=None, vdd_v=None) -> pd.DataFrame:
    """Run the deck's analyses; the last plot's vectors as a DataFrame (unit-suffixed column names)."""
    tech = load_technology(technology)
    source = load_netlist(netlist)
    deck = render_deck(source, tech, corner, temp_c, mismatch=mismatch, vdd_v=vdd_v)
    session = SpiceSession.shared()
    session.load(deck, name=source.name)
    if seed is not None:
        session.set_seed(seed)
        session.reset()
    session.analyse("run", point=f"{source.name} as written")
    names = session.vector_names()
    scale = next((n for n in ("time", "frequency", "v-sweep", "i-sweep") if n in names), None)
    ordered = ([scale] if scale else []) + sorted(n for n in names if n != scale)
    data = {}
    for name in ordered:
        key = name if "#" in name or name in ("time", "frequency", "v-sweep", "i-sweep") else f"v({name})"
        values = session.vector(name)
        if values.dtype.kind == "c":
            values = abs(values)
        data[column_name(key)] = values
    return pd.DataFrame(data)

"""``circuitsim spice run``: load a rendered deck and run its own analyses (the dot-commands in it).

A deck without an analysis, and an analysis ngspice solved only through a singular matrix, are refused
(see :mod:`circuitsim.spice.session`). ngspice's warnings of an analysis that succeeded travel with the
result: ``table.attrs["ngspice_warnings"]`` (and ``["remedies"]``), and a warning on the
``circuitsim.spice`` logger, which reaches stderr when logging is not configured.
"""

from __future__ import annotations

import logging

import pandas as pd

from circuitsim.errors import NetlistError
from circuitsim.spice.analyses import column_name
from circuitsim.spice.netlist import load_netlist, render_deck
from circuitsim.spice.session import SpiceSession
from circuitsim.technology import load_technology

_log = logging.getLogger("circuitsim.spice")


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
    record = session.analyse("run")
    if session.plot_name.lower().startswith("const"):
        raise NetlistError(f"the deck {source.name} has no analysis; add .tran/.dc/.op/.ac to the netlist "
                           "before .end, e.g. '.op' or '.tran 10p 10n'")
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
    table = pd.DataFrame(data)
    warnings = list(dict.fromkeys([*session.load_warnings, *record.warnings]))
    table.attrs["ngspice_warnings"] = warnings
    table.attrs["remedies"] = list(record.remedies)
    if warnings or record.remedies:
        _log.warning("%s", _warning_paragraph(source.name, warnings, record.remedies))
    return table


def _warning_paragraph(name: str, warnings: list[str], remedies: list[str]) -> str:
    text = f"warning: ngspice's analyses of {name} succeeded"
    if remedies:
        text += f" only with {', then '.join(remedies)}"
    if warnings:
        text += ", with these warnings:\n  " + "\n  ".join(warnings)
    return text

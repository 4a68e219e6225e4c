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


def vector_key(spec: str) -> str:
    """A user's vector name -> ngspice's: ``v(out)`` -> ``out``, ``i(vdd)`` -> ``vdd#branch``, else unchanged."""
    s = spec.strip().lower()
    if s.startswith("v(") and s.endswith(")"):
        return s[2:-1]
    if s.startswith("i(") and s.endswith(")"):
        return f"{s[2:-1]}#branch"
    return s


def sample_rows(table: pd.DataFrame, rows: int) -> pd.DataFrame:
    """Exactly ``rows`` rows evenly spaced from the first to the last (all of them when there are fewer)."""
    import numpy as np

    if rows <= 0 or len(table) <= rows:
        return table
    if rows == 1:
        return table.iloc[[len(table) - 1]]
    return table.iloc[np.linspace(0, len(table) - 1, rows).round().astype(int)]


def run_deck(netlist: str, technology: str = "sky130", corner: str = "tt", temp_c=None, *, mismatch=False,
             seed=None, vdd_v=None, vectors: list[str] | None = None) -> pd.DataFrame:
    """Run the deck's analyses; the last plot's vectors as a DataFrame (unit-suffixed column names), the
    scale first. ``vectors`` (``["v(out)", "i(vdd)"]``) chooses the columns; an unknown one is refused with
    the deck's top-level vectors."""
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
    if vectors:
        lower = {n.lower(): n for n in names}
        missing = [v for v in vectors if vector_key(v) not in lower]
        if missing:
            top = [n for n in ordered if "." not in n and n != scale]
            shown = [f"i({n[:-7]})" if n.lower().endswith("#branch") else f"v({n})" for n in top]
            raise NetlistError(f"the deck {source.name} has no vector {', '.join(missing)}; its top-level "
                               f"vectors: {', '.join(shown) or 'none'}")
        ordered = ([scale] if scale else []) + [lower[vector_key(v)] for v in vectors]
    data = {}
    for name in ordered:
        key = name if "#" in name or name in ("time", "frequency", "v-sweep", "i-sweep") else f"v({name})"
        values = session.vector(name)
        if values.dtype.kind == "c":
            values = abs(values)
        data[column_name(key)] = values
    table = pd.DataFrame(data)
    # device-internal nodes of the model wrappers (m.xinv1n.xdev.msky130...#body): kept for --csv
    table.attrs["internal_columns"] = [column_name(n if "#" in n else f"v({n})") for n in ordered if "." in n]
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

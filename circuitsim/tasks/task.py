"""A calibration task: load one deck (netlist x technology x corner x temperature, nominal or mismatch
models) and run one batch of analyses in it. A task is a pure function of its fields, so its result can
be cached under a key made of them and any executor can run it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from circuitsim.spice.netlist import load_netlist, render_deck
from circuitsim.spice.session import SpiceSession
from circuitsim.store import sha256_bytes
from circuitsim.technology import load_technology

#: Bump when the meaning of cached results changes (the cache key includes it).
CACHE_FORMAT = 1


@dataclass(frozen=True)
class Task:
    """One unit of SPICE work.

    ``simulate(session, task) -> dict[str, ndarray]`` must be a module-level function (processes and
    Dask workers import it by name). ``inputs`` are the sweep points; ``seeds`` the ngspice seeds of
    the Monte Carlo samples ``sample_start .. sample_stop-1`` (empty for a nominal task).
    """

    block: str
    analysis: str
    simulate: Callable
    netlist: str
    netlist_sha256: str
    technology: str
    technology_sha256: str
    corner: str
    temp_c: float
    mismatch: bool
    inputs: tuple
    seed: int = 0
    sample_start: int = 0
    sample_stop: int = 0
    seeds: tuple = ()
    options: tuple = field(default_factory=tuple)

    @property
    def function_name(self) -> str:
        return f"{self.simulate.__module__}.{self.simulate.__qualname__}"

    @property
    def key(self) -> str:
        """Content address: SHA-256 over everything the result depends on."""
        payload = {
            "format": CACHE_FORMAT,
            "block": self.block,
            "analysis": self.analysis,
            "function": self.function_name,
            "netlist_sha256": self.netlist_sha256,
            "technology_sha256": self.technology_sha256,
            "corner": self.corner,
            "temp_c": float(self.temp_c),
            "mismatch": self.mismatch,
            "inputs": np.asarray(self.inputs, dtype=float).tolist(),
            "seed": self.seed,
            "samples": [self.sample_start, self.sample_stop],
            "seeds": list(self.seeds),
            "options": [list(o) for o in self.options],
        }
        return sha256_bytes(json.dumps(payload, sort_keys=True).encode())

    @property
    def label(self) -> str:
        samples = f" samples {self.sample_start}-{self.sample_stop - 1}" if self.seeds else ""
        return f"{self.block} {self.corner} {self.temp_c:g}C {self.analysis}{samples}"

    def option(self, name, default=None):
        return dict(self.options).get(name, default)


def execute(task: Task) -> dict[str, np.ndarray]:
    """Run a task in this process: render its deck, load it once, call ``task.simulate``.

    The netlist and technology files are re-read and checked against the hashes the task was planned
    with, so a file edited mid-run cannot be mixed into one artifact.
    """
    technology = load_technology(task.technology)
    netlist = load_netlist(task.netlist)
    for what, planned, now in (
        ("technology", task.technology_sha256, technology.sha256),
        ("netlist", task.netlist_sha256, netlist.sha256),
    ):
        if planned != now:
            from circuitsim.errors import CircuitsimError

            raise CircuitsimError(f"the {what} file changed while {task.label} was queued; re-run the calibration")
    deck = render_deck(netlist, technology, task.corner, task.temp_c, mismatch=task.mismatch)
    session = SpiceSession.shared()
    session.load(deck, name=f"{netlist.name} ({task.corner}, {task.temp_c:g} C)")
    result = dict(task.simulate(session, task))
    result["ngspice_version"] = np.array(session.ngspice_version)
    return result

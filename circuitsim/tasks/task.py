"""A calibration task: load one deck (netlist x technology x corner x temperature, nominal or mismatch
models) and run one batch of analyses in it. A task is a pure function of its fields and of the code that
runs it, so its result can be cached under a key made of them (the code by the hash of its source, see
:mod:`circuitsim.tasks.source_hash`) and any executor can run it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from circuitsim.spice.netlist import load_netlist, render_deck
from circuitsim.spice.session import SpiceSession
from circuitsim.store import sha256_bytes
from circuitsim.tasks.source_hash import source_sha256
from circuitsim.technology import load_technology

#: Bump when the meaning of cached results changes (the cache key includes it).
CACHE_FORMAT = 2


@dataclass(frozen=True)
class Task:
    """One unit of SPICE work.

    ``simulate(session, task) -> dict[str, ndarray]`` must be a module-level function (processes and
    Dask workers import it by name). ``inputs`` are the sweep points; ``seeds`` the ngspice seeds of
    the Monte Carlo samples ``sample_start .. sample_stop-1`` (empty for a nominal task).
    ``source_sha256`` (not an argument) hashes the source of ``simulate``'s module and the measurement
    code it imports; it is computed where the task is made, so a pickled task carries its planned value.
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
    source_sha256: str = field(init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "source_sha256", source_sha256(self.simulate.__module__))

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
            "source_sha256": self.source_sha256,
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

    The netlist and technology files and the measurement source are re-read and checked against the
    hashes the task was planned with, so a file edited mid-run cannot be mixed into one artifact.
    """
    netlist = load_netlist(task.netlist)
    technology = load_technology(task.technology).for_domain(netlist.domain())
    for what, planned, now in (
        ("the technology file", task.technology_sha256, technology.sha256),
        ("the netlist file", task.netlist_sha256, netlist.sha256),
        (f"the source of {task.simulate.__module__} (or of the measurement code it imports)", task.source_sha256,
         source_sha256(task.simulate.__module__)),
    ):
        if planned != now:
            from circuitsim.errors import CircuitsimError

            raise CircuitsimError(f"{what} changed while {task.label} was queued; re-run the calibration")
    deck = render_deck(netlist, technology, task.corner, task.temp_c, mismatch=task.mismatch)
    session = SpiceSession.shared()
    session.load(deck, name=f"{netlist.name} ({task.corner}, {task.temp_c:g} C)")
    result = dict(task.simulate(session, task))
    result["ngspice_version"] = np.array(session.ngspice_version)
    return result

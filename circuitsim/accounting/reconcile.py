"""Reconciliation (issue 19 item 2): how the energy ratio of two architectures moves from one set of budgets
to another (e.g. a paper profile to sky130), one line at a time.

A *line* is one thing a technology decides: a component's action budget ``(block, action)`` (every
resolution of a converter together), a component's static / leakage power ``(block, "power")``, or a
parameter value the technology sets (``("parameter", NAME)``: a profile's stated value, or a timing from the
calibrated blocks). Starting from ``from`` for every line, the lines are switched to ``to`` one after another
(in the order the engine asks for them: parameters, then the components of A, then those of B) and after each
switch both architectures are evaluated again:

    ratio_k = E_A,k / E_B,k        (energy per frame at each one's operating point, J / J)

so ratio_0 is A/B under ``from`` and ratio_n is A/B under ``to`` (the end points are the two reports).
Lines whose switch moves neither energy at their turn are switched silently (counted in ``identical``). A
line that cannot be switched alone (the mixed state is not a sensor: a component on longer than the frame
period) is switched together with the next one (``joined`` says which and why). The steps depend on the
order; the end points do not.
"""

from __future__ import annotations

from dataclasses import dataclass

from circuitsim.accounting.engine import evaluate, load_architecture
from circuitsim.accounting.resolver import BudgetResolver
from circuitsim.accounting.schema import ArchitectureError


class _Hybrid:
    """A resolver that answers each line from ``to`` once the line is switched, else from ``from``; it records
    the lines it was asked for, in order."""

    def __init__(self, source: BudgetResolver, target: BudgetResolver, switched: set):
        self.source, self.target, self.switched = source, target, switched
        self.asked: list = []
        self.table = source.table
        self.technology = f"{source.technology} -> {target.technology}"
        self.uses_artifacts = False
        self.point = None

    def describe(self) -> str:
        return f"reconciliation {self.technology} (switched: {len(self.switched)} lines)"

    def _pick(self, key):
        if key not in self.asked:
            self.asked.append(key)
        return self.target if key in self.switched else self.source

    def budget(self, component, action, where="", bits=None):
        return self._pick((component, action)).budget(component, action, where=where, bits=bits)

    def power(self, component, bits=None, where=""):
        return self._pick((component, "power")).power(component, bits, where)

    def timing_parameters(self, arch, overrides):
        a_vals, a_src = self.source.timing_parameters(arch, overrides)
        b_vals, b_src = self.target.timing_parameters(arch, overrides)
        values, sources = {}, {}
        for name in [*a_vals, *[n for n in b_vals if n not in a_vals]]:
            side = self._pick(("parameter", name))
            vals, src = (b_vals, b_src) if side is self.target else (a_vals, a_src)
            if name in vals:
                values[name] = vals[name]
            sources[name] = src.get(name, f"the architecture's stated {name}")
        return values, sources


@dataclass(frozen=True)
class Step:
    line: str
    energy_a_J: float
    energy_b_J: float

    @property
    def ratio(self) -> float:
        return self.energy_a_J / self.energy_b_J


def _label(key) -> str:
    if key[0] == "parameter":
        return f"parameter {key[1]}"
    return f"{key[0]} {key[1]}" if key[1] != "power" else f"{key[0]} static/leakage power"


def reconcile(arch_a, arch_b, source: str, target: str, calibration_root=None, overrides=None) -> dict:
    """``{"from", "to", "a", "b", "steps": [Step...], "identical": n}``; ``steps[0]`` is the start (all
    lines from ``source``), ``steps[-1]`` the end (all from ``target``)."""
    a, b = load_architecture(arch_a), load_architecture(arch_b)
    src = BudgetResolver(source, calibration_root)
    dst = BudgetResolver(target, calibration_root)
    overrides = dict(overrides or {})

    def run(switched):
        hybrid = _Hybrid(src, dst, switched)
        ea = evaluate(a, resolver=hybrid, overrides=overrides).summary()["energy_per_frame_J"]
        eb = evaluate(b, resolver=hybrid, overrides=overrides).summary()["energy_per_frame_J"]
        return ea, eb, hybrid.asked

    ea, eb, order = run(set())
    # the lines the target asks for too (a parameter only one side sets is asked of both)
    _, _, more = run(set(order))
    order += [k for k in more if k not in order]
    steps = [Step(f"start: all lines {src.technology}", ea, eb)]
    switched: set = set()
    identical, pending, joined = 0, [], []
    for i, key in enumerate(order):
        switched.add(key)
        pending.append(key)
        try:
            ea, eb, _ = run(set(switched))
        except ArchitectureError as exc:
            # a mixed state neither set of budgets describes (e.g. the sky130 row time with the literature's
            # column-amplifier cycle, which the literature fits inside its 1 us row): the line is switched
            # together with the next one, and the reason is kept
            if i == len(order) - 1:
                raise
            joined.append(f"{' + '.join(_label(k) for k in pending)}: {exc}")
            continue
        if ea == steps[-1].energy_a_J and eb == steps[-1].energy_b_J:
            identical += len(pending)
            pending = []
            continue
        steps.append(Step(" + ".join(_label(k) for k in pending), ea, eb))
        pending = []
    return {"from": src.technology, "to": dst.technology, "a": a.name, "b": b.name, "steps": steps,
            "identical": identical, "joined": joined}

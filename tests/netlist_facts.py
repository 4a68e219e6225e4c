"""Facts read straight from the netlists and the technology file, for tests that check the models against
the circuit (never against the code's own constants)."""

import re

import yaml

from circuitsim.config import project_root


def mim_density_and_edge() -> tuple[float, float]:
    """(F/µm², µm) of the sky130 MIM capacitor in circuitsim/technology/sky130.yaml."""
    tech = yaml.safe_load((project_root() / "circuitsim" / "technology" / "sky130.yaml").read_text())
    return tech["capacitors"]["mim_density_f_per_um2"], tech["capacitors"]["mim_edge_um"]


def netlist_text(netlist: str) -> str:
    return (project_root() / "netlists" / f"{netlist}.cir").read_text()


def mim_capacitance_f(netlist: str, instance: str) -> float:
    """C = density·(w + edge)·(l + edge) of a ``mim`` instance in ``netlists/<netlist>.cir`` (F)."""
    density, edge = mim_density_and_edge()
    m = re.search(rf"^{instance}\s+\S+\s+\S+\s+mim\s+w=([\d.]+)\s+l=([\d.]+)", netlist_text(netlist), re.M)
    assert m, f"{instance} is not a mim instance of netlists/{netlist}.cir"
    return density * (float(m.group(1)) + edge) * (float(m.group(2)) + edge)

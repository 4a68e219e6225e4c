"""Behavioral blocks, one module each. The registry maps a block name to its module, imported lazily;
each module declares ``SPEC`` (a :class:`circuitsim.calibration.contract.BlockSpec`)."""

from __future__ import annotations

import importlib

from circuitsim.errors import UnknownBlockError

_REGISTRY = {
    "sample_hold": "circuitsim.blocks.sample_hold",
    "psf": "circuitsim.blocks.psf",
    "fvf": "circuitsim.blocks.fvf",
    "scm": "circuitsim.blocks.scm_calibration",
    "comparator2t": "circuitsim.blocks.comparator2t",
    "pixel_4t": "circuitsim.blocks.pixel_4t",
    "cds": "circuitsim.blocks.cds",
    "inpixel_conv": "circuitsim.blocks.inpixel_conv",
    "ternary": "circuitsim.blocks.ternary",
    **{f"sar_adc_{n}b": f"circuitsim.blocks.sar_adc_calibration:SPEC_{n}B" for n in range(2, 9)},
}

#: Names that stand for several blocks on the command line.
_GROUPS = {"sar": [f"sar_adc_{n}b" for n in range(2, 9)]}


def block_names() -> list[str]:
    return list(_REGISTRY)


def expand_names(names) -> list[str]:
    """Block names with the groups (``sar`` = every SAR ADC resolution) expanded, order kept."""
    out = []
    for name in names:
        for block in _GROUPS.get(name, [name]):
            if block not in out:
                out.append(block)
    return out


def get_spec(name: str):
    """The BlockSpec of a registered block (``module`` or ``module:ATTRIBUTE``, default attribute ``SPEC``);
    unknown names are refused with the list of valid ones."""
    try:
        target = _REGISTRY[name]
    except KeyError:
        groups = "; groups: " + ", ".join(_GROUPS) if _GROUPS else ""
        raise UnknownBlockError(f"unknown block {name!r}; known blocks: {', '.join(_REGISTRY)}{groups}") from None
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute or "SPEC")

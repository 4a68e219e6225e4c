"""Behavioral blocks, one module each. The registry maps a block name to its module, imported lazily;
each module declares ``SPEC`` (a :class:`circuitsim.calibration.contract.BlockSpec`)."""

from __future__ import annotations

import importlib

from circuitsim.errors import UnknownBlockError

_REGISTRY = {
    "sample_hold": "circuitsim.blocks.sample_hold",
    "psf": "circuitsim.blocks.psf",
    "fvf": "circuitsim.blocks.fvf",
    "scm": "circuitsim.blocks.scm",
    "comparator2t": "circuitsim.blocks.comparator2t",
    "pixel_4t": "circuitsim.blocks.pixel_4t",
    "cds": "circuitsim.blocks.cds",
    "inpixel_conv": "circuitsim.blocks.inpixel_conv",
    "ternary": "circuitsim.blocks.ternary",
}


def block_names() -> list[str]:
    return list(_REGISTRY)


def get_spec(name: str):
    """The BlockSpec of a registered block; unknown names are refused with the list of valid ones."""
    try:
        module = _REGISTRY[name]
    except KeyError:
        raise UnknownBlockError(f"unknown block {name!r}; known blocks: {', '.join(_REGISTRY)}") from None
    return importlib.import_module(module).SPEC

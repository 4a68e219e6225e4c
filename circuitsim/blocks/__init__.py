"""Behavioral blocks, one module each. The registry maps a block name to its module, imported lazily;
each module declares ``SPEC`` (a :class:`circuitsim.calibration.contract.BlockSpec`).

Blocks of other distributions join through Python entry points in the group ``circuitsim.blocks``
(:data:`ENTRY_POINT_GROUP`), each ``NAME = "module:ATTRIBUTE"`` naming a BlockSpec, e.g. in a user's
``pyproject.toml``::

    [project.entry-points."circuitsim.blocks"]
    my_amp = "my_amp:SPEC"

The package's own names win: a plugin that reuses one (or a group name such as ``sar``) is refused with a
warning naming its distribution, and the package's block stays what the name means.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import warnings

from circuitsim.errors import UnknownBlockError

#: The entry-point group user blocks register under.
ENTRY_POINT_GROUP = "circuitsim.blocks"

_REGISTRY = {
    "sample_hold": "circuitsim.blocks.sample_hold",
    "psf": "circuitsim.blocks.psf",
    "fvf": "circuitsim.blocks.fvf",
    "scm": "circuitsim.blocks.scm_calibration",
    "comparator2t": "circuitsim.blocks.comparator2t",
    "pixel_4t": "circuitsim.blocks.pixel_4t",
    "pixel_4t_3v3": "circuitsim.blocks.pixel_4t:SPEC_3V3",
    "cds": "circuitsim.blocks.cds",
    "inpixel_conv": "circuitsim.blocks.inpixel_conv",
    "ternary": "circuitsim.blocks.ternary",
    "col_amp": "circuitsim.blocks.col_amp",
    **{f"sar_adc_{n}b": f"circuitsim.blocks.sar_adc_calibration:SPEC_{n}B" for n in range(2, 9)},
}

#: Names that stand for several blocks on the command line.
_GROUPS = {"sar": [f"sar_adc_{n}b" for n in range(2, 9)]}


def _distribution(entry_point) -> str:
    dist = getattr(entry_point, "dist", None)
    return f"distribution {dist.name!r}" if dist is not None else "an installed distribution"


def plugin_blocks() -> dict[str, str]:
    """Blocks registered by other distributions: {name: "module:ATTRIBUTE"}, read from the installed
    entry points of :data:`ENTRY_POINT_GROUP` on every call (nothing is imported). A name the package
    already uses, or one registered twice, is refused with a :class:`UserWarning`."""
    found: dict[str, str] = {}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        name, target = entry_point.name, entry_point.value
        if name in _REGISTRY or name in _GROUPS:
            warnings.warn(f"plugin block {name!r} ({target}, from {_distribution(entry_point)}) is refused: "
                          f"circuitsim already has a block or group named {name!r}; rename the entry point in "
                          f"the [project.entry-points.{ENTRY_POINT_GROUP!r}] table of that distribution",
                          UserWarning, stacklevel=2)
            continue
        if name in found and found[name] != target:
            warnings.warn(f"plugin block {name!r} is registered twice ({found[name]} and {target}, the second "
                          f"from {_distribution(entry_point)}); the first is kept", UserWarning, stacklevel=2)
            continue
        found[name] = target
    return found


def block_names(plugins: bool = True) -> list[str]:
    """Every block name :func:`get_spec` accepts: the package's, then (``plugins=True``) those of
    installed plugins (:func:`plugin_blocks`)."""
    return list(_REGISTRY) + (list(plugin_blocks()) if plugins else [])


def expand_names(names) -> list[str]:
    """Block names with the groups (``sar`` = every SAR ADC resolution) expanded, order kept."""
    out = []
    for name in names:
        for block in _GROUPS.get(name, [name]):
            if block not in out:
                out.append(block)
    return out


def get_spec(name: str):
    """The BlockSpec of a registered block (``module`` or ``module:ATTRIBUTE``, default attribute ``SPEC``),
    the package's own or a plugin's; unknown names are refused with the list of valid ones."""
    target = _REGISTRY.get(name)
    plugin = target is None
    if plugin:
        plugins = plugin_blocks()
        if name not in plugins:
            groups = "; groups: " + ", ".join(_GROUPS) if _GROUPS else ""
            users = f"; plugin blocks: {', '.join(plugins)}" if plugins else ""
            raise UnknownBlockError(f"unknown block {name!r}; known blocks: {', '.join(_REGISTRY)}{groups}{users}"
                                    ) from None
        target = plugins[name]
    module, _, attribute = target.partition(":")
    try:
        spec = getattr(importlib.import_module(module), attribute or "SPEC")
    except (ImportError, AttributeError) as exc:
        if not plugin:
            raise
        raise UnknownBlockError(f"plugin block {name!r} ({target}) cannot be loaded: {exc}") from None
    if plugin:
        from circuitsim.calibration.contract import BlockSpec

        if not isinstance(spec, BlockSpec):
            raise UnknownBlockError(f"plugin block {name!r} ({target}) is a {type(spec).__name__}, not a BlockSpec")
        if spec.name != name:
            raise UnknownBlockError(f"plugin block {name!r} ({target}) declares name {spec.name!r}; the entry "
                                    "point's name and BlockSpec.name must be the same")
    return spec

"""Process-wide settings read from the environment (no global random state here)."""

import os

#: numba ``fastmath`` for the behavioral kernels. Off by default: the kernels are compared against
#: their NumPy references bit-for-bit-close, and fastmath reorders floating-point sums.
FASTMATH = os.environ.get("CIRCUITSIM_FASTMATH", "0") == "1"



def default_cache_dir():
    """Where finished SPICE tasks are cached so an interrupted calibration resumes: ``CIRCUITSIM_CACHE``,
    else ``.circuitsim-cache/`` of the checkout (next to the artifacts, whatever the working directory)."""
    from pathlib import Path

    env = os.environ.get("CIRCUITSIM_CACHE")
    return Path(env) if env else project_root() / ".circuitsim-cache"


def project_root():
    """The source checkout holding ``netlists/`` and ``calibration/`` (the package's parent directory).

    circuitsim is installed editable (``pip install -e .``) from a checkout, so committed artifacts and
    netlists are found next to the package. ``CIRCUITSIM_ROOT`` overrides it.
    """
    from pathlib import Path

    env = os.environ.get("CIRCUITSIM_ROOT")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent

"""``circuitsim new-block NAME``: the files of a user block outside the package, ready to calibrate.

Writes into one directory (default: ``./NAME``):

- ``NAME.cir``: a working deck (an NMOS source follower with a mirrored 10 uA sink on a 100 fF MIM load)
  in the technology's generic devices (nmos, pmos, mim) to replace with the user's circuit;
- ``NAME.py``: the block module, a :class:`~circuitsim.calibration.contract.BlockSpec` whose ``simulate``,
  ``fit`` and ``model`` come from the DC-transfer LUT helpers of :mod:`circuitsim.blocks.buffers`
  (the ones ``psf`` and ``fvf`` use), with a numba kernel and its NumPy reference;
- ``test_NAME.py``: the contract check, kernel vs reference, and (marked ``spice``) a quick calibration
  judged by :func:`circuitsim.testing.quick_check`;
- ``pyproject.toml`` (only if absent): a distribution registering the block under the entry-point group
  ``circuitsim.blocks``, so ``pip install -e DIR`` makes ``circuitsim calibrate NAME`` work.

Existing files are never overwritten.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from string import Template

from circuitsim.errors import CircuitsimError

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

NETLIST = Template("""\
* $name: NMOS source follower with a mirrored 10 uA sink on a 100 fF MIM load (scaffolded by circuitsim new-block)
*
* Replace the circuit with yours; keep what $name.py relies on, or change both together:
* - devices: the technology's generic nmos / pmos / mim (and nmos_lvt / pmos_lvt where the PDK has them),
*   geometry in microns; supply source `vdd` at {vdd_v} (the technology's supply), ideal bias on `vddb`;
* - input source `vin` (DC sweep for the transfer, pwl step vprev_v -> vin_v at 1 ns for the settling),
*   output node `out`;
* - parameters vin_v and vprev_v (set per point with alterparam).
* Sizes: follower 4/0.5 um (body to ground, so the gain is below 1 by the body effect), sink 2/1 um mirroring
* an ideal 10 uA reference; load 100 fF MIM: C = 2 fF/um^2 * (6.92 + 0.15)^2 (sky130's MIM density).
.param vin_v=1.3
.param vprev_v=1.3

vdd vdd 0 {vdd_v}
vddb vddb 0 {vdd_v}
vin in 0 dc {vin_v} pwl(0 {vprev_v} 1n {vprev_v} 1.05n {vin_v})

* bias reference (separate supply, not charged to the block) and the sink
iref vddb bn 10u
xmref bn bn 0 0 nmos w=2 l=1
xmsink out bn 0 0 nmos w=2 l=1

* source follower and its load
xmsf vdd in out 0 nmos w=4 l=0.5
xcl out 0 mim w=6.92 l=6.92

.dc vin 1.0 1.7 0.05
.end
""")

MODULE = Template('''\
"""$name: NMOS source follower with a mirrored 10 uA sink on a 100 fF load (``$name.cir``), a user block
scaffolded by ``circuitsim new-block``.

Model of one operation (SI units, V):

    v_out = LUT(v_in) + sigma(v_in) * z,    z ~ N(0, 1)

LUT is the nominal DC transfer from SPICE on the fit grid (linear interpolation), sigma the mismatch spread
from Monte Carlo. Energy per operation (J): VDD * I_VDD * T_OP from the DC operating point, fitted as
e0 + e1*v + e2*v^2. Latency (s): settling of the output to SETTLE_TOL_V after a full-scale input step.
The kernel, its reference and the SPICE/fit steps are the shared ones of :mod:`circuitsim.blocks.buffers`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from circuitsim.blocks import buffers
from circuitsim.blocks.buffers import BufferLut
from circuitsim.blocks.modes import Mode
from circuitsim.calibration.contract import BlockSpec, Fit, Prediction

NETLIST_PATH = Path(__file__).resolve().with_name("$name.cir")
#: One operation: the time the block is biased per use (s).
T_OP_S = 10e-9
# Timing of the settling transient (s)
T_STEP_S = 1.0e-9
T_FINAL_S = 25.0e-9
TRAN_STEP_S = 20e-12
#: Settling tolerance of the latency figure (V): half an LSB at the judged resolution.
SETTLE_TOL_V = 0.5 * 1.8 / 2**8
V_IN_RANGE_V = (1.0, 1.7)


def $name(v_in_v, lut: BufferLut, mode: Mode | str = Mode.HARD, rng: np.random.Generator | None = None) -> np.ndarray:
    """Output for each input (V); numba kernel. ``rng`` required in noisy mode."""
    return buffers.transfer("v_in", v_in_v, lut, Mode.parse(mode), 0.0, rng)


def ${name}_reference(v_in_v, lut: BufferLut, mode: Mode | str = Mode.HARD,
                      rng: np.random.Generator | None = None) -> np.ndarray:
    """Plain NumPy oracle of :func:`$name` (same draws for the same ``rng`` state)."""
    return buffers.transfer_reference("v_in", v_in_v, lut, Mode.parse(mode), 0.0, rng)


def ${name}_energy_J(v_in_v, lut: BufferLut) -> np.ndarray:
    """Energy per operation from VDD (J): e0 + e1*v + e2*v^2."""
    return buffers.energy_J(v_in_v, lut)


# -- calibration (the block contract) ---------------------------------------------------------------
def simulate(session, task) -> dict:
    """SPICE task. Monte Carlo: one DC sweep per mismatch draw. Nominal: one DC sweep (transfer and supply
    current) and one full-scale step transient per point (settling time)."""
    if task.seeds:
        return buffers.monte_carlo_transfer(session, task, "vin", "out")
    return buffers.nominal_transfer(session, task, "vin", "out", V_IN_RANGE_V, energy_window_s=T_OP_S,
                                    step_s=TRAN_STEP_S, stop_s=T_FINAL_S + 1e-9, t_start_s=T_STEP_S,
                                    t_final_s=T_FINAL_S, tolerance_v=SETTLE_TOL_V)


def fit(data) -> Fit:
    return buffers.fit_transfer(data, op="op")


def validation_model(arrays, x, rng, n_samples) -> Prediction:
    return buffers.prediction(arrays, x, rng, n_samples, "v_in")


#: Fit and held-out grids (V): the held-out points lie halfway between fit points, one DC sweep covers both.
FIT_GRID = tuple(np.round(np.arange(1.0, 1.7001, 0.05), 6))
HOLDOUT_GRID = tuple(np.round(np.arange(1.025, 1.6751, 0.05), 6))

SPEC = BlockSpec(
    name="$name",
    netlist=str(NETLIST_PATH),
    summary="NMOS source follower, mirrored 10 uA sink, 100 fF load (user block)",
    input_label="v_in_V",
    fit_grid=FIT_GRID,
    holdout_grid=HOLDOUT_GRID,
    simulate=simulate,
    fit=fit,
    model=validation_model,
    output_bits=8,
    full_scale_v=(0.0, 1.8),
    resolution_note="8-bit over 0..1.8 V (LSB 7.03 mV)",
    mc_batch=50,
)
''')

TEST = Template('''\
"""Tests of the user block $name (scaffolded by ``circuitsim new-block``). Run: python -m pytest $dir
(the SPICE test needs ngspice and the PDK; deselect it with -m "not spice")."""

import numpy as np
import pytest

import $name as block
from circuitsim.blocks.buffers import BufferLut
from circuitsim.testing import check_contract, quick_check


def test_contract():
    check_contract(block.SPEC)


def _lut():
    x = np.asarray(block.FIT_GRID)
    return BufferLut(x, 0.85 * x - 0.7, np.full_like(x, 2e-3), np.array([2e-13, 0.0, 0.0]), np.array([-0.7, 0.85]))


@pytest.mark.parametrize("mode", ["ideal", "hard", "noisy"])
def test_kernel_matches_reference(mode):
    v = np.linspace(block.FIT_GRID[0], block.FIT_GRID[-1], 101)
    got = block.$name(v, _lut(), mode, np.random.default_rng(1))
    want = block.${name}_reference(v, _lut(), mode, np.random.default_rng(1))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_out_of_range_input_is_refused():
    with pytest.raises(Exception, match="v_in"):
        block.$name([block.FIT_GRID[-1] + 0.5], _lut())


@pytest.mark.spice
def test_quick_calibration_meets_the_bar(tmp_path):
    """One corner, 20 Monte Carlo samples: the transfer and energy at the full bar, sigma within the chance
    band of 20 samples (the full bar needs circuitsim calibrate $name with its 200-sample Monte Carlo)."""
    quick_check(block.SPEC, tmp_path, mc_samples=20)
''')

PYPROJECT = Template('''\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "circuitsim-$dist"
version = "0.1.0"
description = "circuitsim user block $name"
dependencies = ["circuitsim"]

[tool.setuptools]
py-modules = ["$name"]

# circuitsim finds the block through this entry point (name = module:BlockSpec)
[project.entry-points."circuitsim.blocks"]
$name = "$name:SPEC"

[tool.pytest.ini_options]
markers = ["spice: runs real ngspice simulations (needs libngspice and the PDK)"]
''')


def check_block_name(name: str) -> str:
    """A new block's name: a lowercase Python identifier not used by circuitsim's own blocks or groups."""
    from circuitsim.blocks import _GROUPS, _REGISTRY

    if not _NAME.match(name) or keyword.iskeyword(name):
        raise CircuitsimError(f"block name {name!r} must be a lowercase Python identifier (letters, digits, _; "
                              "starting with a letter), e.g. my_amp")
    if name in _REGISTRY or name in _GROUPS:
        raise CircuitsimError(f"block name {name!r} is one of circuitsim's own blocks or groups; choose another")
    return name


def new_block(name: str, directory: Path | None = None) -> list[Path]:
    """Write the netlist, module, test (and a ``pyproject.toml`` if the directory has none) of a new user
    block ``name`` into ``directory`` (default ``./name``); returns the files written. Refuses to
    overwrite any file."""
    check_block_name(name)
    directory = Path(directory) if directory is not None else Path(name)
    files = {
        directory / f"{name}.cir": NETLIST.substitute(name=name),
        directory / f"{name}.py": MODULE.substitute(name=name),
        directory / f"test_{name}.py": TEST.substitute(name=name, dir=directory),
    }
    existing = [p for p in files if p.exists()]
    if existing:
        raise CircuitsimError(f"not overwriting {', '.join(map(str, existing))}; choose another --dir or name")
    pyproject = directory / "pyproject.toml"
    if not pyproject.exists():
        files[pyproject] = PYPROJECT.substitute(name=name, dist=name.replace("_", "-"))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path, text in files.items():
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CircuitsimError(f"cannot write the block into {directory}: {exc.strerror or exc}") from None
    return list(files)


def next_steps(name: str, directory: Path, written: list[Path]) -> str:
    """What the user runs next (printed by the CLI)."""
    registered = any(p.name == "pyproject.toml" for p in written)
    register = (f"  pip install -e {directory}          # registers {name} (entry point circuitsim.blocks)"
                if registered else
                f"  add to your pyproject.toml: [project.entry-points.\"circuitsim.blocks\"] {name} = \"{name}:SPEC\","
                f" then pip install -e .")
    return "\n".join([
        *[f"wrote {p}" for p in written],
        "next:",
        register,
        f"  python -m pytest {directory}          # contract, kernel vs reference, quick SPICE calibration",
        f"  circuitsim calibrate {name} --corners tt --mc 20 --out /tmp/{name}_cal   # quick look",
        f"  circuitsim calibrate {name} --out calibration   # the technology's full plan, 200-sample Monte Carlo",
    ])

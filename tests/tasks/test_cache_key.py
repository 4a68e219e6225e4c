"""The task cache key covers the source that made a result: editing a block module moves that block's keys
and no other block's, editing a shared helper moves every block that imports it, and the key is the same in
every process. Nothing here runs ngspice; repository files are never edited (their reading is patched, or
a temporary copy of a block module is imported)."""

import dataclasses
import importlib
import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest

import circuitsim
from circuitsim.blocks import get_spec
from circuitsim.calibration.runner import make_plan, plan_tasks
from circuitsim.errors import CircuitsimError
from circuitsim.tasks import source_hash
from circuitsim.tasks.task import Task, execute

PACKAGE = Path(circuitsim.__file__).resolve().parent
SPECS = {name: get_spec(name) for name in ("sample_hold", "psf", "scm")}
SAMPLE_HOLD = SPECS["sample_hold"].simulate.__module__  # the module that makes sample_hold's SPICE results
WINDOW = re.compile(r"^(T_[A-Z_]*_S) = .*$", re.MULTILINE)  # a timing constant, e.g. T_READ_S = 9.5e-9


def _source_file(module: str) -> Path:
    return Path(sys.modules[module].__file__).resolve()


@pytest.fixture(autouse=True)
def fresh_digests():
    source_hash._digest.cache_clear()
    yield
    source_hash._digest.cache_clear()


def _keys(sky130) -> dict[str, list[str]]:
    plan = make_plan(sky130, ["tt"], [27], mc_samples=4, seed=3)
    return {name: [t.key for t in plan_tasks(spec, sky130, plan)] for name, spec in SPECS.items()}


def _patch_source(monkeypatch, target: Path, edit):
    """Make the hasher read ``edit(text)`` for one file (the file itself is untouched)."""
    real = source_hash._read_source

    def read(path):
        data = real(path)
        return edit(data.decode()).encode() if Path(path).resolve() == target else data

    monkeypatch.setattr(source_hash, "_read_source", read)
    source_hash._digest.cache_clear()


def _edit_window(text: str, value: str) -> str:
    """The first timing constant of a block module set to ``value`` (s)."""
    match = WINDOW.search(text)
    assert match, "expected a timing constant T_..._S in the block module"
    return text[:match.start()] + f"{match.group(1)} = {value}" + text[match.end():]


def _moved(before, after):
    return {name for name in before if before[name] != after[name]}


def test_editing_a_measurement_window_moves_only_that_blocks_keys(sky130, monkeypatch):
    """The bug: T_READ_S in sample_hold.py edited, sample_hold tasks keep their keys, stale results reused."""
    before = _keys(sky130)
    _patch_source(monkeypatch, _source_file(SAMPLE_HOLD), lambda s: _edit_window(s, "1.234e-9"))
    after = _keys(sky130)
    assert _moved(before, after) == {"sample_hold"}
    assert not set(before["sample_hold"]) & set(after["sample_hold"]), "every sample_hold task must move"


@pytest.mark.parametrize("helper, moved", [
    ("blocks/buffers.py", {"psf"}),                            # psf measures through buffers.dc_transfer
    ("spice/measure.py", {"sample_hold", "psf", "scm"}),       # settling / energy helpers of all three
    ("spice/session.py", {"sample_hold", "psf", "scm"}),       # every task runs in a session
])
def test_editing_a_shared_helper_moves_every_block_using_it(sky130, monkeypatch, helper, moved):
    before = _keys(sky130)
    _patch_source(monkeypatch, PACKAGE / helper, lambda s: s + "\n_EDITED_FOR_THE_TEST = 1\n")
    assert _moved(before, _keys(sky130)) == moved


def test_fitting_code_and_formatting_do_not_move_keys(sky130, monkeypatch):
    """Fitting runs on cached results (calibration/ is not followed); comments, docstrings and layout are
    not code, so editing them must not throw away hours of SPICE."""
    before = _keys(sky130)
    _patch_source(monkeypatch, PACKAGE / "calibration/fitting.py", lambda s: s + "\n_EDITED_FOR_THE_TEST = 1\n")
    assert _keys(sky130) == before
    _patch_source(monkeypatch, _source_file(SAMPLE_HOLD),
                  lambda s: '"""Another docstring."""\n# a comment\n' + s.split('"""', 2)[2].replace(
                      "\ndef simulate(", "\n\n# measurement\ndef simulate("))
    assert _keys(sky130) == before


def test_dependency_rule():
    """Own module, the measurement modules it imports (transitively) and the execute path; no registry,
    no calibration code, no unrelated block."""
    shd = source_hash.measurement_modules(SAMPLE_HOLD)
    assert {SAMPLE_HOLD, "circuitsim.spice.analyses", "circuitsim.spice.measure", "circuitsim.spice.session",
            "circuitsim.spice.netlist", "circuitsim.technology"} <= set(shd)
    assert "circuitsim.blocks" not in shd and "circuitsim.blocks.buffers" not in shd
    assert not [m for m in shd if m.startswith("circuitsim.calibration")]
    psf = SPECS["psf"].simulate.__module__
    assert {psf, "circuitsim.blocks.buffers"} <= set(source_hash.measurement_modules(psf))


def _write_block(directory: Path, window_s: str) -> None:
    """A copy of sample_hold's module, importable as ``edited_block``, with one timing constant set."""
    text = _source_file(SAMPLE_HOLD).read_text()
    path = directory / "edited_block.py"
    previous = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(_edit_window(text, window_s))
    stamp = max(previous + 1_000_000_000, path.stat().st_mtime_ns)  # a new stamp even on a coarse clock
    os.utime(path, ns=(stamp, stamp))


def _task(simulate) -> Task:
    return Task(block="sample_hold", analysis="nominal", simulate=simulate, netlist="sample_hold",
                netlist_sha256="", technology="sky130", technology_sha256="", corner="tt", temp_c=27.0,
                mismatch=False, inputs=(0.9,))


def test_a_block_module_edited_on_disk_gets_a_new_key(tmp_path, monkeypatch):
    """The real read path: one importable module, edited and reloaded; its function name stays the same, so
    a key made of the name alone would not move."""
    monkeypatch.syspath_prepend(str(tmp_path))
    _write_block(tmp_path, "1.0e-9")
    module = importlib.import_module("edited_block")
    try:
        first = _task(module.simulate)
        _write_block(tmp_path, "1.234e-9")
        second = _task(importlib.reload(module).simulate)
        assert first.function_name == second.function_name
        assert first.key != second.key
        assert "edited_block" in source_hash.measurement_modules("edited_block")
    finally:
        sys.modules.pop("edited_block", None)


def test_a_block_module_edited_while_queued_is_refused(sky130, tmp_path, monkeypatch):
    """execute re-hashes the source as it re-reads the netlist: an edit between planning and running is an
    error (raised before any ngspice work), never a result stored under the old key."""
    from circuitsim.spice.netlist import load_netlist

    monkeypatch.syspath_prepend(str(tmp_path))
    _write_block(tmp_path, "1.0e-9")
    module = importlib.import_module("edited_block")
    try:
        task = dataclasses.replace(_task(module.simulate), netlist_sha256=load_netlist("sample_hold").sha256,
                                   technology_sha256=sky130.sha256)
        _write_block(tmp_path, "1.234e-9")
        with pytest.raises(CircuitsimError, match="source of edited_block.*changed while"):
            execute(task)
    finally:
        sys.modules.pop("edited_block", None)


def test_the_source_hash_travels_with_the_task_and_follows_replace():
    task = _task(SPECS["sample_hold"].simulate)
    copy = pickle.loads(pickle.dumps(task))
    assert copy.source_sha256 == task.source_sha256 and copy.key == task.key
    psf = SPECS["psf"].simulate
    moved = dataclasses.replace(task, simulate=psf)  # not the old hash carried over
    assert moved.source_sha256 == source_hash.source_sha256(psf.__module__) != task.source_sha256


_CHILD = """
import json
from circuitsim.blocks import get_spec
from circuitsim.calibration.runner import make_plan, plan_tasks
from circuitsim.technology import load_technology
tech = load_technology("sky130")
plan = make_plan(tech, ["tt"], [27], mc_samples=4, seed=3)
names = ("sample_hold", "psf", "scm")
print(json.dumps({name: [t.key for t in plan_tasks(get_spec(name), tech, plan)] for name in names}))
"""


def test_keys_are_the_same_in_a_fresh_process(sky130):
    """No id(), no set or dict order: another interpreter with another hash seed plans the same keys."""
    env = dict(os.environ, PYTHONHASHSEED="12345")
    child = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, env=env,
                           timeout=300, check=True)
    assert json.loads(child.stdout.strip().splitlines()[-1]) == _keys(sky130)

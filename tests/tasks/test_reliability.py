"""What a hostile but fair user broke in the task cache and the artifact store (issue "Reliability"):
each test reproduces one report and fails on the behaviour it describes."""

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from circuitsim.calibration.validate import validate_artifact
from circuitsim.errors import ArtifactError, CircuitsimError
from circuitsim.store import (
    ENERGY_FILE,
    MODEL_FILE,
    SPICE_FILE,
    ArtifactStore,
    OperatingPoint,
    StaleArtifactWarning,
    atomic_write_bytes,
    json_bytes,
    npz_bytes,
)
from circuitsim.tasks.cache import TaskCache

REPO = Path(__file__).resolve().parents[2]
TT = OperatingPoint("tt", 27.0)


def _copy_point(block: str, root: Path, point: OperatingPoint = TT) -> Path:
    """A copy of one committed artifact under ``root`` (a calibration root)."""
    target = ArtifactStore(root).path(block, point)
    shutil.copytree(ArtifactStore().path(block, point), target)
    return target


# 2. a damaged cache entry is redone, never a traceback on every later run
@pytest.mark.parametrize("damage", ["flip a byte", "zero bytes", "truncate"])
def test_damaged_cache_entry_counts_as_not_done(tmp_path, damage):
    cache = TaskCache(tmp_path)
    cache.store("ab" * 32, {"out_V": np.linspace(0, 1, 50)})
    path = cache.path("ab" * 32)
    data = bytearray(path.read_bytes())
    if damage == "flip a byte":
        data[len(data) // 2] ^= 0xFF
    elif damage == "zero bytes":
        data = bytearray()
    else:
        data = data[: len(data) // 3]
    path.write_bytes(bytes(data))
    assert cache.load("ab" * 32) is None
    assert not path.exists()  # removed, so the task is simply run again


def test_unwritable_cache_is_refused_before_any_work(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(CircuitsimError, match="is not writable.*--cache DIR"):
        TaskCache(blocker / "cache").check_writable()


# 11. the default cache belongs to the checkout, not to the working directory
def test_default_cache_is_the_checkouts_whatever_the_working_directory(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CIRCUITSIM_CACHE"}
    code = "from circuitsim.config import default_cache_dir; print(default_cache_dir())"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert Path(out) == REPO / ".circuitsim-cache"


# 3. replacing an artifact is atomic: a kill at any step leaves a complete artifact
_KILL_DURING_WRITE = """
import os, signal, sys
from pathlib import Path
import circuitsim.store as store
from circuitsim.store import ArtifactStore, OperatingPoint, json_bytes, npz_bytes
step = sys.argv[2]
if step == "before-exchange":
    store._exchange = lambda a, b: os.kill(os.getpid(), signal.SIGKILL)
else:  # after the exchange, before the old copy is removed
    store.shutil.rmtree = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
files = {"model.npz": npz_bytes({"v": [2.0]}), "spice.npz": npz_bytes({}),
         "energy.json": json_bytes({"component": "psf", "actions": []})}
point = OperatingPoint()
ArtifactStore(sys.argv[1]).write("psf", point, files, {"block": "psf", **point.as_dict()})
"""


@pytest.mark.parametrize("step, value", [("before-exchange", 1.0), ("after-exchange", 2.0)])
def test_killed_replacement_leaves_a_complete_artifact(tmp_path, step, value):
    store = ArtifactStore(tmp_path)
    files = {MODEL_FILE: npz_bytes({"v": [1.0]}), SPICE_FILE: npz_bytes({}),
             ENERGY_FILE: json_bytes({"component": "psf", "actions": []})}
    store.write("psf", TT, files, {"block": "psf", **TT.as_dict()})
    run = subprocess.run([sys.executable, "-c", _KILL_DURING_WRITE, str(tmp_path), step], capture_output=True)
    assert run.returncode == -signal.SIGKILL
    assert float(store.model_arrays("psf", TT)["v"][0]) == value  # old or new, never missing or mixed
    store.write("psf", TT, files, {"block": "psf", **TT.as_dict()})
    assert sorted(p.name for p in store.path("psf", TT).parent.iterdir()) == ["psf"]  # leftovers cleaned


def test_validate_refuses_a_block_missing_a_plan_point(tmp_path):
    from circuitsim.blocks import get_spec
    from circuitsim.calibration.validate import validate_block

    for point in ArtifactStore().points("psf").values():
        if point.name != "ss_27C":
            _copy_point("psf", tmp_path, point)
    with pytest.raises(ArtifactError, match="no artifact at ss_27C of the sky130 calibration plan"):
        validate_block(get_spec("psf"), ArtifactStore(tmp_path), "sky130")


# 4. provenance labels and file lists are checked; exported metadata is hash-checked
def test_edited_provenance_label_is_refused(tmp_path):
    directory = _copy_point("psf", tmp_path)
    prov = json.loads((directory / "provenance.json").read_text())
    (directory / "provenance.json").write_text(json.dumps(dict(prov, corner="ff")))
    with pytest.raises(ArtifactError, match="corner 'ff' \\(expected 'tt'\\)"):
        ArtifactStore(tmp_path).open("psf", TT)


def test_provenance_without_files_does_not_turn_the_checks_off(tmp_path):
    directory = _copy_point("psf", tmp_path)
    prov = json.loads((directory / "provenance.json").read_text())
    (directory / "provenance.json").write_text(json.dumps(dict(prov, files={})))
    with pytest.raises(ArtifactError, match="records no files"):
        ArtifactStore(tmp_path).open("psf", TT)


def test_edited_export_metadata_is_refused(tmp_path):
    from circuitsim.export import METADATA_KEY, export_luts, read_lut_file

    path = tmp_path / "luts.npz"
    export_luts(["psf"], path)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays[METADATA_KEY]))
    meta["blocks"]["psf"]["corner"] = "ff"
    arrays[METADATA_KEY] = np.array(json.dumps(meta, sort_keys=True))
    path.write_bytes(npz_bytes(arrays))
    with pytest.raises(ArtifactError, match="metadata does not match its recorded hash"):
        read_lut_file(path, "psf")


# 5. a missing energy.json is an error, never a quiet literature fallback
def test_missing_energy_file_is_an_error_not_a_fallback(tmp_path):
    from circuitsim.accounting.resolver import BudgetResolver

    directory = _copy_point("psf", tmp_path)
    (directory / ENERGY_FILE).unlink()
    with pytest.raises(ArtifactError, match="energy.json is missing"):
        BudgetResolver("sky130", tmp_path, point=TT).budget("psf", "read")


# 6. stale artifacts: a warning on use, an error in validate
def test_artifact_of_an_edited_netlist_warns_on_use_and_fails_validation(tmp_path, monkeypatch):
    from circuitsim.blocks import get_spec

    (tmp_path / "netlists").mkdir()
    text = (REPO / "netlists" / "psf.cir").read_text()
    (tmp_path / "netlists" / "psf.cir").write_text(text.replace("20u", "21u", 1) if "20u" in text else text + "\n*")
    directory = _copy_point("psf", tmp_path / "calibration")
    monkeypatch.setenv("CIRCUITSIM_ROOT", str(tmp_path))
    with pytest.warns(StaleArtifactWarning, match="made from a different netlists/psf.cir.*circuitsim calibrate psf"):
        ArtifactStore(tmp_path / "calibration").open("psf", TT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StaleArtifactWarning)
        with pytest.raises(ArtifactError, match="made from a different netlists/psf.cir"):
            validate_artifact(get_spec("psf"), directory)


def test_committed_artifacts_are_not_stale():
    """Every committed artifact matches this checkout's netlists and technology file."""
    from circuitsim.blocks import block_names
    from circuitsim.store import stale_reason

    store = ArtifactStore()
    stale = {(b, p): stale_reason(store.open(b, pt)) for b in block_names() for p, pt in store.points(b).items()}
    assert {k: v for k, v in stale.items() if v} == {}


# 12. atomic writes never replace a non-regular file, and use the usual permissions
def test_atomic_write_refuses_a_non_regular_target(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ArtifactError, match="not a regular file"):
        atomic_write_bytes(fifo, b"x")
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    with pytest.raises(ArtifactError, match="not a regular file"):
        atomic_write_bytes(tmp_path, b"x")


def test_written_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "out.npz", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.npz").stat().st_mode) == 0o644


# 13. provenance records what changes results, not the spelling of the command
def test_reproduce_command_ignores_options_that_do_not_change_results():
    from circuitsim.calibration.runner import make_plan, reproduce_command
    from circuitsim.technology import load_technology

    tech = load_technology("sky130")
    full = make_plan(tech, mc_samples=200, seed=1)
    assert reproduce_command("psf", tech, full, "ss", 27.0) == \
        "circuitsim calibrate psf --technology sky130 --mc 200 --seed 1"
    one = make_plan(tech, corners=["ss"], mc_samples=0, seed=3)
    assert reproduce_command("psf", tech, one, "ss", 27.0) == \
        "circuitsim calibrate psf --technology sky130 --corners ss --temps 27 --mc 0 --seed 3"

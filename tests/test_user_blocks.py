"""User blocks without editing the package: entry points (group circuitsim.blocks) merged into the registry,
the ``circuitsim new-block`` scaffold, and the quick-calibration test mode (circuitsim.testing)."""

import importlib.metadata
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from circuitsim import blocks
from circuitsim.blocks import block_names, get_spec, plugin_blocks
from circuitsim.errors import UnknownBlockError
from circuitsim.testing import quick_sigma_band

ROOT = Path(__file__).resolve().parent.parent
HERE = __name__  # entry points below name objects of this module, as pytest imported it


def run_cli(*args, env=None):
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "circuitsim.cli", *args], capture_output=True, text=True,
                          env=full_env, cwd=ROOT, timeout=600)


def _entry_points(monkeypatch, *pairs):
    eps = [importlib.metadata.EntryPoint(name, value, blocks.ENTRY_POINT_GROUP) for name, value in pairs]

    def fake(**kwargs):
        assert kwargs == {"group": blocks.ENTRY_POINT_GROUP}
        return eps

    monkeypatch.setattr(importlib.metadata, "entry_points", fake)


def _scaffold(tmp_path, name="my_sf"):
    result = run_cli("new-block", name, "--dir", str(tmp_path / name))
    assert result.returncode == 0, result.stderr
    return tmp_path / name


def _env(*paths):
    return {"PYTHONPATH": os.pathsep.join([*map(str, paths), str(ROOT), os.environ.get("PYTHONPATH", "")])}


def _dist_info(site, name):
    """An installed distribution on ``site`` registering ``name`` as an entry point (what pip install -e writes)."""
    info = site / f"circuitsim_{name}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: circuitsim-{name}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[circuitsim.blocks]\n{name} = {name}:SPEC\n")


# -- the registry -------------------------------------------------------------------------------------
def test_plugin_block_joins_the_registry(monkeypatch):
    _entry_points(monkeypatch, ("sh_copy", f"{HERE}:SH_COPY"))
    assert plugin_blocks() == {"sh_copy": f"{HERE}:SH_COPY"}
    assert block_names()[-1] == "sh_copy" and "sh_copy" not in block_names(plugins=False)
    assert get_spec("sh_copy") is SH_COPY


def test_a_clash_with_the_package_is_refused_and_the_package_wins(monkeypatch):
    _entry_points(monkeypatch, ("psf", f"{HERE}:SH_COPY"), ("sar", f"{HERE}:SH_COPY"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert plugin_blocks() == {}
    assert [str(w.message).split(" (")[0] for w in caught] == ["plugin block 'psf'", "plugin block 'sar'"]
    assert "is refused: circuitsim already has a block or group named 'psf'" in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert get_spec("psf").summary.startswith("LeCA i-buffer")


@pytest.mark.parametrize("target, message", [
    (f"{HERE}:NOT_A_SPEC", "is a str, not a BlockSpec"),
    (f"{HERE}:SH_RENAMED", "declares name 'other'"),
    ("no_such_module_xyz:SPEC", "cannot be loaded: No module named 'no_such_module_xyz'"),
])
def test_bad_plugins_are_refused_with_a_message(monkeypatch, target, message):
    _entry_points(monkeypatch, ("sh_copy", target))
    with pytest.raises(UnknownBlockError, match=message):
        get_spec("sh_copy")


def test_unknown_block_lists_plugins(monkeypatch):
    _entry_points(monkeypatch, ("sh_copy", f"{HERE}:SH_COPY"))
    with pytest.raises(UnknownBlockError, match="known blocks: sample_hold.*; plugin blocks: sh_copy"):
        get_spec("nope")


def _spec_copies():
    import dataclasses

    from circuitsim.blocks.sample_hold import SPEC

    return dataclasses.replace(SPEC, name="sh_copy"), dataclasses.replace(SPEC, name="other")


SH_COPY, SH_RENAMED = _spec_copies()
NOT_A_SPEC = "sh_copy"


# -- the scaffold -------------------------------------------------------------------------------------
def test_new_block_writes_a_block_whose_own_tests_pass(tmp_path):
    directory = _scaffold(tmp_path)
    assert sorted(p.name for p in directory.iterdir()) == ["my_sf.cir", "my_sf.py", "pyproject.toml", "test_my_sf.py"]
    assert '[project.entry-points."circuitsim.blocks"]\nmy_sf = "my_sf:SPEC"' in (directory / "pyproject.toml").read_text()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not spice",
                             str(directory)], capture_output=True, text=True, cwd=directory, timeout=300,
                            env=dict(os.environ, **_env(directory)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed, 1 deselected" in result.stdout


def test_new_block_refuses_overwrites_and_package_names(tmp_path):
    _scaffold(tmp_path)
    again = run_cli("new-block", "my_sf", "--dir", str(tmp_path / "my_sf"))
    assert again.returncode == 2 and "not overwriting" in again.stderr
    for name, message in (("psf", "one of circuitsim's own blocks"), ("My-Amp", "lowercase Python identifier")):
        result = run_cli("new-block", name, "--dir", str(tmp_path / "x"))
        assert result.returncode == 2 and message in result.stderr


def test_quick_sigma_band():
    lo, hi = quick_sigma_band(20, 20)
    assert 0.4 < lo < 0.45 and 2.2 < hi < 2.4
    assert quick_sigma_band(800, 200)[0] > lo


# -- end to end: scaffold -> entry point -> calibrate (CLI) -> validate ------------------------------
@pytest.mark.spice
def test_user_block_end_to_end(tmp_path):
    """A scaffolded block registered by an installed distribution's entry point, calibrated by the CLI at one
    corner with 20 Monte Carlo samples, validated from that directory (no committed calibration)."""
    directory = _scaffold(tmp_path)
    site = tmp_path / "site"
    _dist_info(site, "my_sf")
    env = _env(directory, site)
    cal = tmp_path / "cal"
    result = run_cli("calibrate", "my_sf", "--corners", "tt", "--mc", "20", "--out", str(cal),
                     "--cache", str(tmp_path / "cache"), "--quiet", env=env)
    assert result.returncode == 0, result.stderr
    assert (cal / "sky130" / "tt_27C" / "my_sf" / "model.npz").is_file()
    check = textwrap.dedent(f"""
        from circuitsim.blocks import get_spec
        from circuitsim.testing import check_artifacts
        records = check_artifacts(get_spec("my_sf"), {str(cal)!r}, "sky130", quick=True)
        rec = records["tt_27C"]
        print(rec["max_error_lsb"], rec["energy_ratio"], rec["sigma_ratio"], rec["mc_samples"])
    """)
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env=dict(os.environ, **env))
    assert done.returncode == 0, done.stdout + done.stderr
    error_lsb, energy_ratio, sigma_ratio, mc_samples = map(float, done.stdout.split())
    assert error_lsb <= 0.5 and abs(energy_ratio - 1) <= 0.05 and mc_samples == 20

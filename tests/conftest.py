import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent

#: Rows of the PSF -> SCM -> FVF chain the suite runs in SPICE (tests/blocks/test_pe_chain.py): each is a
#: ~2.8 s transient, so the suite runs the first 24 of the 88 the README's figure is measured on (row 21,
#: the worst of the 88, is among them); `pytest -s tests/blocks/test_pe_chain.py --pe-chain-rows 88` runs all.
PE_CHAIN_SUITE_ROWS = 24


def pytest_addoption(parser):
    parser.addoption("--pe-chain-rows", type=int, default=PE_CHAIN_SUITE_ROWS,
                     help="rows of 16 MACs the PE-chain SPICE test runs (88 = the README's figure)")


@pytest.fixture(scope="session")
def pe_chain_rows(request):
    return request.config.getoption("--pe-chain-rows")


@pytest.fixture(scope="session")
def sky130():
    from circuitsim.technology import load_technology

    return load_technology("sky130")


def run_cli(*args, env=None, cwd=None):
    """Run the circuitsim CLI in a subprocess; returns CompletedProcess (text)."""
    import subprocess

    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "circuitsim.cli", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd or ROOT, timeout=600)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """One ``circuitsim demo`` for the whole suite (it takes ~35 s), without ngspice (a library path that does
    not exist: the demo must run from the committed artifacts alone): (CompletedProcess, output directory)."""
    out = tmp_path_factory.mktemp("demo")
    result = run_cli("demo", "--out", str(out), env={"NGSPICE_LIBRARY_PATH": "/nonexistent/libngspice.so"})
    return result, out

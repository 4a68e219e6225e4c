import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent


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

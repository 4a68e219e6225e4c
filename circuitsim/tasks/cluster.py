"""A real Dask cluster on this machine, as a user starts one: a ``dask scheduler`` process and worker
processes (``dask worker``, one thread each), for the benchmark and the test that run calibrations on it
(``--scheduler tcp://...``). Not a scheduler of our own: Dask distributed schedules, this only starts and
stops its processes."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from circuitsim.errors import CircuitsimError

_SCHEDULER = ("-m", "distributed.cli.dask_scheduler")
_WORKER = ("-m", "distributed.cli.dask_worker")


@contextlib.contextmanager
def local_dask_processes(workers: int = 2, timeout_s: float = 120.0):
    """Start a scheduler and ``workers`` worker processes on localhost (OMP_NUM_THREADS=1, as the other
    executors); yield the scheduler's ``tcp://`` address once every worker has joined; stop them on exit."""
    try:
        import distributed
    except ImportError:
        raise CircuitsimError("Dask is not installed; install the extra with: pip install 'circuitsim[dask]'") from None
    env = dict(os.environ, OMP_NUM_THREADS="1")
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "scheduler.json"
        procs = [subprocess.Popen([sys.executable, *_SCHEDULER, "--scheduler-file", str(file), "--port", "0",
                                   "--no-dashboard"], **quiet)]
        try:
            deadline = time.monotonic() + timeout_s
            while not file.exists():
                if time.monotonic() > deadline or procs[0].poll() is not None:
                    raise CircuitsimError(f"the dask scheduler did not start within {timeout_s:g} s")
                time.sleep(0.2)
            procs += [subprocess.Popen([sys.executable, *_WORKER, "--scheduler-file", str(file), "--nthreads", "1",
                                        "--nworkers", "1", "--no-dashboard"], **quiet) for _ in range(workers)]
            address = json.loads(file.read_text())["address"]
            with distributed.Client(address, timeout=f"{timeout_s:g}s") as client:
                client.wait_for_workers(workers, timeout=timeout_s)
            yield address
        finally:
            for proc in reversed(procs):
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()

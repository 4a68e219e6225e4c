"""Executors: the same task code runs in this process, in a local process pool, or on Dask distributed
(``local-dask`` starts a LocalCluster; ``tcp://HOST:PORT`` joins a running scheduler)."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from dataclasses import dataclass, field

from tqdm.auto import tqdm

from circuitsim.errors import CircuitsimError
from circuitsim.tasks.cache import TaskCache
from circuitsim.tasks.task import Task, execute


@dataclass
class RunSummary:
    """Results in task order, plus which tasks ran now and which came from the cache."""

    results: list
    executed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)


def _init_worker():
    os.environ["OMP_NUM_THREADS"] = "1"


def task_cost(task: Task) -> int:
    """Relative cost of a task: its analyses, sweep points × Monte Carlo samples (1 for a nominal task)."""
    return len(task.inputs) * max(1, len(task.seeds))


def longest_first(tasks: list[Task], pending: list[int]) -> list[int]:
    """``pending`` (indices into ``tasks``) ordered by :func:`task_cost`, largest first (stable), so that the
    longest tasks start first and the short ones fill the workers at the end instead of one long task
    running alone."""
    return sorted(pending, key=lambda i: -task_cost(tasks[i]))


def check_scheduler(scheduler: str | None) -> None:
    """Refuse a scheduler that is neither local-dask nor a tcp:// address."""
    if scheduler not in (None, "local", "local-dask") and not str(scheduler).startswith("tcp://"):
        raise CircuitsimError(
            f"unknown scheduler {scheduler!r}; use 'local-dask' (start a Dask LocalCluster) or "
            "'tcp://HOST:PORT' (a running Dask scheduler); omit it for local processes (--workers N)"
        )


def run_tasks(tasks: list[Task], cache: TaskCache, *, workers: int = 1, scheduler: str | None = None,
              progress: bool = True, description: str = "SPICE tasks") -> RunSummary:
    """Run every task whose result is not cached yet; store each result as soon as it finishes.

    If a task fails, the ones already finished stay cached and the error is raised: a re-run resumes.
    """
    check_scheduler(scheduler)
    if workers < 1:
        raise CircuitsimError(f"--workers must be at least 1, got {workers}")
    summary = RunSummary(results=[None] * len(tasks))
    cache.check_writable()
    pending = []
    for i, task in enumerate(tasks):
        hit = cache.load(task.key)
        if hit is None:
            pending.append(i)
        else:
            summary.results[i] = hit
            summary.cached.append(task.key)
    pending = longest_first(tasks, pending)
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(pending), desc=description, unit="task",
               disable=not progress, leave=False)

    def finish(i, result):
        cache.store(tasks[i].key, result)
        summary.results[i] = result
        summary.executed.append(tasks[i].key)
        bar.update(1)

    try:
        if not pending:
            pass
        elif scheduler in ("local-dask",) or str(scheduler).startswith("tcp://"):
            _run_dask(tasks, pending, finish, workers, scheduler)
        elif workers == 1 or len(pending) == 1:
            for i in pending:
                finish(i, execute(tasks[i]))
        else:
            _run_pool(tasks, pending, finish, workers)
    finally:
        bar.close()
    return summary


def _run_pool(tasks, pending, finish, workers):
    context = multiprocessing.get_context("spawn")  # a fresh ngspice per worker, no inherited state
    with cf.ProcessPoolExecutor(max_workers=min(workers, len(pending)), mp_context=context,
                                initializer=_init_worker) as pool:
        futures = {pool.submit(execute, tasks[i]): i for i in pending}
        try:
            for future in cf.as_completed(futures):
                finish(futures[future], future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _run_dask(tasks, pending, finish, workers, scheduler):
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise CircuitsimError(
            "Dask is not installed; install the extra with: pip install 'circuitsim[dask]'"
        ) from None
    cluster = None
    if scheduler == "local-dask":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, env={"OMP_NUM_THREADS": "1"})
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as exc:
            raise CircuitsimError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        # priority: the scheduler starts the costliest first (pending is already in that order)
        futures = {client.submit(execute, tasks[i], pure=False, key=f"circuitsim-{tasks[i].key}",
                                 priority=task_cost(tasks[i])): i
                   for i in pending}
        for future in as_completed(list(futures)):
            finish(futures[future], future.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

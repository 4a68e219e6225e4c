"""Resumable calibration and executor equivalence on a reduced sample-hold calibration
(3 fit + 2 held-out points, 4 Monte Carlo samples in batches of 2: 5 tasks, plus its static-power task)."""

import dataclasses

import pytest

import circuitsim.tasks.executors as executors
from circuitsim.blocks.sample_hold import SPEC
from circuitsim.calibration.runner import calibrate, make_plan, plan_static_tasks, plan_tasks

pytestmark = [pytest.mark.spice, pytest.mark.slow]

SMALL = dataclasses.replace(SPEC, fit_grid=(0.3, 0.9, 1.5), holdout_grid=(0.6, 1.2), mc_batch=2, mc_fit_factor=1)


@pytest.fixture(scope="module", autouse=True)
def fixed_date():
    """Module scope, so the module-scoped reference run is made with the same fixed date."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", "1767225600")
        yield


def _plan(tech):
    return make_plan(tech, ["tt"], [27], mc_samples=4, seed=3)


def _run(tech, tmp, name, **kwargs):
    out = calibrate([SMALL], tech, _plan(tech), out_dir=tmp / name / "out", cache_dir=tmp / name / "cache",
                    progress=False, **kwargs)
    return {p.name: p.read_bytes() for p in sorted(out[0].iterdir())}


@pytest.fixture(scope="module")
def reference(sky130, tmp_path_factory):
    """An uninterrupted in-process run."""
    return _run(sky130, tmp_path_factory.mktemp("ref"), "ref")


def test_plan_has_nominal_and_two_seed_streams(sky130):
    tasks = plan_tasks(SMALL, sky130, _plan(sky130))
    assert [t.analysis for t in tasks] == ["nominal", "mc-fit", "mc-fit", "mc-holdout", "mc-holdout"]
    assert len({t.key for t in tasks}) == 5
    fit_seeds = {s for t in tasks if t.analysis == "mc-fit" for s in t.seeds}
    holdout_seeds = {s for t in tasks if t.analysis == "mc-holdout" for s in t.seeds}
    assert len(fit_seeds) == 4 and not fit_seeds & holdout_seeds


def test_interrupted_run_resumes_without_redoing_tasks(sky130, tmp_path, monkeypatch, reference):
    real_execute = executors.execute
    k = 2
    calls = []

    def failing(task):
        if len(calls) == k:
            raise RuntimeError("injected failure (simulated crash)")
        calls.append(task.key)
        return real_execute(task)

    monkeypatch.setattr(executors, "execute", failing)
    with pytest.raises(RuntimeError, match="injected failure"):
        _run(sky130, tmp_path, "run")
    first = list(calls)
    assert len(first) == k
    assert not (tmp_path / "run" / "out").exists(), "no artifact may be written by a failed run"

    resumed = []

    def recording(task):
        resumed.append(task.key)
        return real_execute(task)

    monkeypatch.setattr(executors, "execute", recording)
    files = _run(sky130, tmp_path, "run")
    total = len(plan_tasks(SMALL, sky130, _plan(sky130))) + len(plan_static_tasks(SMALL, sky130, _plan(sky130)))
    assert total == 6
    assert len(resumed) == total - k and not set(first) & set(resumed), "finished tasks must not run again"
    assert files == reference, "the resumed artifact must equal an uninterrupted run byte for byte"


def test_process_pool_matches_in_process(sky130, tmp_path, reference):
    assert _run(sky130, tmp_path, "pool", workers=2) == reference


def test_dask_local_cluster_matches_local_processes(sky130, tmp_path, reference):
    assert _run(sky130, tmp_path, "dask", workers=2, scheduler="local-dask") == reference


def test_separate_monte_carlo_grids_only_move_the_mc_tasks(sky130):
    """A block may declare smaller Monte Carlo grids; by default they are the fit / held-out grids, and the
    nominal tasks (and every key of a block that declares none) stay as they were."""
    assert SMALL.mc_fit_inputs == SMALL.fit_grid and SMALL.mc_holdout_inputs == SMALL.holdout_grid
    reduced = dataclasses.replace(SMALL, mc_fit_grid=(0.3, 1.5), mc_holdout_grid=(0.9,))
    base, tasks = plan_tasks(SMALL, sky130, _plan(sky130)), plan_tasks(reduced, sky130, _plan(sky130))
    assert [t.analysis for t in tasks] == [t.analysis for t in base]
    assert tasks[0].key == base[0].key and tasks[0].inputs == (0.3, 0.9, 1.5, 0.6, 1.2)
    assert {t.inputs for t in tasks if t.analysis == "mc-fit"} == {(0.3, 1.5)}
    assert {t.inputs for t in tasks if t.analysis == "mc-holdout"} == {(0.9,)}
    explicit = dataclasses.replace(SMALL, mc_fit_grid=SMALL.fit_grid, mc_holdout_grid=SMALL.holdout_grid)
    assert [t.key for t in plan_tasks(explicit, sky130, _plan(sky130))] == [t.key for t in base]


@pytest.fixture()
def dask_cluster():
    """A real Dask cluster on localhost: a ``dask scheduler`` and two ``dask worker`` processes."""
    pytest.importorskip("distributed")
    from circuitsim.tasks.cluster import local_dask_processes

    with local_dask_processes(2) as address:
        yield address


def test_a_real_dask_cluster_matches_local_processes(sky130, tmp_path, reference, dask_cluster):
    """Issue 21 item 4: a scheduler and two worker processes started as a user would (not a LocalCluster in
    this process) produce the in-process run's artifact byte for byte."""
    assert dask_cluster.startswith("tcp://")
    assert _run(sky130, tmp_path, "cluster", workers=2, scheduler=dask_cluster) == reference


def test_the_longest_tasks_are_scheduled_first(sky130):
    """The Monte Carlo batches (points × samples) start before the nominal task and the static one, so no long
    task is left running alone at the end."""
    tasks = plan_tasks(SMALL, sky130, _plan(sky130)) + plan_static_tasks(SMALL, sky130, _plan(sky130))
    order = executors.longest_first(tasks, list(range(len(tasks))))
    costs = [executors.task_cost(tasks[i]) for i in order]
    assert costs == sorted(costs, reverse=True)
    # 3 fit points x 2 samples = 6 > 5 nominal points > 2 held-out x 2 = 4 > 1 static point
    assert [tasks[i].analysis for i in order][:2] == ["mc-fit", "mc-fit"]
    assert costs == [6, 6, 5, 4, 4, 1]

"""The grid on Dask workers: how it is cut into work units, and the cluster that runs them.

Rows that train a shared run stay in one unit (else two workers would train it at once); each
(protocol, seed)'s Stage 1 is a task of its own that the group's units wait for. A new-user setting
(``user-unlabeled`` ...) reads the runs the ``user`` protocol stores, so its units wait for the ``user``
unit of the same seed and rows, and share its Stage 1. A local cluster
(``jobs`` worker processes of one thread each) is the default; ``scheduler="tcp://host:8786"`` (or
``$MYOSEM_SCHEDULER``) sends the tasks to a cluster of the user's, whose workers must see the same
runs folder and data. A unit lost with its worker is run again by Dask. Results come back in the
serial order and do not depend on the number of workers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time

from myosem_core.data.protocols import protocol_options
from myosem_core.errors import ConfigError
from myosem_core.presets import make_config
from myosem_core.run_store import RETRAIN_ENV
from myosem_core.threads import set_threads

from .experiment import Context, run_experiment
from .results import cached_result
from .rows import MODELS, rows_under


def default_jobs() -> int:
    """Worker processes for the grid: ``$MYOSEM_JOBS`` (the Makefile's ``JOBS``), else 1."""
    text = os.environ.get("MYOSEM_JOBS", "1").strip() or "1"
    try:
        jobs = int(text)
    except ValueError:
        raise ConfigError(f"environment variable MYOSEM_JOBS must be a whole number of processes, got {text!r}")
    if jobs < 1:
        raise ConfigError(f"environment variable MYOSEM_JOBS must be at least 1, got {jobs}")
    return jobs


SCHEDULER_ENV = "MYOSEM_SCHEDULER"
#: the environment a worker needs from the caller: preset overrides, device, caches, and --force's mark
FORWARDED_ENV = ("MYOSEM_SET", "MYOSEM_DEVICE", "MYOSEM_CACHE", "MYOSEM_RUNS", RETRAIN_ENV)


def forwarded_env() -> dict[str, str]:
    """This process's values of :data:`FORWARDED_ENV`, to run a worker's task under (:func:`environment`)."""
    return {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}


@contextlib.contextmanager
def environment(env: dict, n_threads: int):
    """Run a task under the caller's environment and intra-op thread count: Stage 1 and the evaluations use
    the global setting, and another count changes their floating-point sums, hence the numbers."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    set_threads(n_threads)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _run_group(models, protocol, seed, preset, dataset, data_dir, runs, force, env, n_threads,
               _stage1=None, _trained=None) -> list[dict]:
    """One worker's unit of the grid: ``models`` of one (protocol, seed), in order, sharing one memo
    (``_stage1``: the group's Stage-1 task, ``_trained``: the unit that trains its models; Dask finishes both
    first)."""
    with environment(env, n_threads):
        ctx = Context(runs, progress=False)
        return [run_experiment(m, protocol, seed, preset, dataset, data_dir, runs, ctx, False, force) for m in models]


def _prepare_stage1(protocol, seed, preset, dataset, data_dir, runs, env, n_threads) -> str:
    """Train (or read) one group's Stage-1 text space in a worker."""
    with environment(env, n_threads):
        Context(runs, progress=False).prototypes("stage1", make_config(preset, dataset, data_dir, seed), protocol)
    return f"{protocol}-{seed}"


def training_protocol(protocol: str) -> str:
    """The protocol whose trained models a grid protocol scores: ``user`` for its new-user settings."""
    return protocol_options(protocol)[0]


def _shared_run(name: str) -> str:
    """Rows with the same value train a shared run, so they must stay in one worker (else both train it)."""
    spec = MODELS[name]
    if spec.is_myosem and not spec.encoder:
        return "myosem-stage2"  # MyoSem, its text rows and the head-only ablations: one Stage-2 run
    if spec.emg in ("cpep", "embridge"):
        return "pose-mae"  # one pose MAE under both rows
    return name


def work_units(models, groups) -> list[tuple[str, int, tuple[str, ...]]]:
    """The grid as ``(protocol, seed, models)`` units for worker processes, the costliest first.

    Rows that train a shared run (:func:`_shared_run`) form one unit; every other row is a unit of its
    own, so even a single (protocol, seed), as notebook 05 trains it in the quick preset, uses every core.
    Longest first (by the rows' :attr:`ModelSpec.cost`) keeps a long unit from starting last while the
    other workers sit idle.
    """
    units = []
    for protocol, seed in groups:
        by_run: dict[str, list[str]] = {}
        for m in rows_under(models, protocol):
            by_run.setdefault(_shared_run(m), []).append(m)
        units += [(protocol, seed, tuple(ms)) for ms in by_run.values()]
    return sorted(units, key=lambda u: -sum(MODELS[m].cost for m in u[2]))  # stable: ties keep the grid's order


#: Dask starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also fixes glibc's mmap threshold at
#: 128 KiB: every activation and gradient buffer of a training step is then mapped and unmapped afresh, and a
#: third of the grid's CPU went to page faults in the kernel. Unset, glibc's adaptive thresholds keep the
#: buffers in the heap (same numbers; ``benchmarks/bench_grid.py --dask-trim`` measures the difference).
WORKER_ALLOCATOR = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


@contextlib.contextmanager
def local_cluster(jobs: int, environ: dict[str, str] | None = None):
    """A Dask cluster on this machine: ``jobs`` worker processes of one thread each (with ``environ`` set in
    theirs, e.g. native thread counts), closed afterwards.

    ``scripts/execute_notebooks.py`` starts one for a whole build and hands its address to every notebook
    (``$MYOSEM_SCHEDULER``), so notebooks running at once share ``jobs`` workers instead of each starting
    its own (two grids on two clusters would run twice as many trainings as there are cores)."""
    import dask
    from dask.distributed import LocalCluster

    # no dashboard, and the scheduler's HTTP server on a free port: two clusters at once would otherwise both
    # ask for 8787 and the second warn into the book
    spawn_env = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in (environ or {}).items()}
    with dask.config.set({**WORKER_ALLOCATOR, **spawn_env}), LocalCluster(
            n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None,
            scheduler_kwargs={"dashboard_address": ":0"}, silence_logs=logging.ERROR) as cluster:
        yield cluster


@contextlib.contextmanager
def dask_client(jobs: int, scheduler: str | None = None):
    """A Dask client: on ``scheduler`` (an address such as ``tcp://host:8786``, default ``$MYOSEM_SCHEDULER``), or
    on a :func:`local_cluster` of ``jobs`` workers, closed afterwards."""
    from dask.distributed import Client

    scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with local_cluster(jobs) as cluster, Client(cluster) as client:
        yield client


def _call(fn, args, env, n_threads):
    with environment(env, n_threads):
        return fn(*args)


def map_on_workers(fn, calls: list[tuple], jobs: int | None = None, scheduler: str | None = None) -> list:
    """``[fn(*args) for args in calls]``, each call a task on the grid's workers (:func:`dask_client`) under this
    process's environment (:data:`FORWARDED_ENV`) and thread count; in this process when there is one call or one
    job and no scheduler. Calls that train the same run wait for each other (:func:`myosem_core.run_store.claimed`)."""
    import torch

    jobs = default_jobs() if jobs is None else int(jobs)
    scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if not scheduler and (jobs < 2 or len(calls) < 2):
        return [fn(*args) for args in calls]
    env = forwarded_env()
    with dask_client(min(jobs, len(calls)), scheduler) as client:
        futures = [client.submit(_call, fn, args, env, torch.get_num_threads(), pure=False) for args in calls]
        return client.gather(futures)


def run_in_parallel(models, groups, preset, dataset, data_dir, runs, force, jobs, progress,
                    n_threads: int, scheduler: str | None = None) -> list[dict]:
    """The grid's :func:`work_units` as Dask tasks (:func:`dask_client`); results in the serial order.

    Each (protocol, seed)'s Stage-1 text space, which almost every row needs, is one task that its group's
    units depend on, so no two workers train the same one and no worker waits for another group's.
    """
    from dask.distributed import as_completed
    from tqdm.auto import tqdm

    done: dict = {}
    if not force:  # rows already computed with today's recipe need no worker
        for p, s in groups:
            for m in rows_under(models, p):
                r = cached_result(m, p, s, preset, dataset, data_dir, runs)
                if r is not None:
                    done[(p, s, m)] = r
    todo = [(p, s) for p, s in groups if any((p, s, m) not in done for m in rows_under(models, p))]
    units = [(p, s, tuple(m for m in ms if (p, s, m) not in done)) for p, s, ms in work_units(models, todo)]
    units = [u for u in units if u[2]]
    if not units:
        return [done[(p, s, m)] for p, s in groups for m in models if (p, s, m) in done]
    env = forwarded_env()
    if force:
        env[RETRAIN_ENV] = str(time.time())  # every run made before now is retrained, once
    protocol, seed = todo[0]  # build the window cache once here, not in every worker at once
    with environment(env, n_threads):
        Context(runs, False).data(make_config(preset, dataset, data_dir, seed), protocol)
    with dask_client(min(jobs, len(units)), scheduler) as client:
        stage1 = {}
        for p, s in todo:
            if any(MODELS[m].text == "stage1" for pp, ss, ms in units if (pp, ss) == (p, s) for m in ms):
                key = (training_protocol(p), s)
                if key not in stage1:
                    stage1[key] = client.submit(_prepare_stage1, key[0], s, preset, dataset, data_dir, runs, env,
                                                n_threads, pure=False, priority=10_000)
        futures, trainer = [], {}  # trainer: (seed, model) -> the unit that trains it under its protocol
        for p, s, ms in sorted(units, key=lambda u: training_protocol(u[0]) != u[0]):  # trainers submitted first
            trains = training_protocol(p)
            waits = {trainer[(s, m)].key: trainer[(s, m)] for m in ms if trains != p and (s, m) in trainer}
            futures.append(client.submit(_run_group, ms, p, s, preset, dataset, data_dir, runs, force, env, n_threads,
                                         stage1.get((trains, s)), list(waits.values()) or None,
                                         pure=False, priority=int(sum(MODELS[m].cost for m in ms))))
            if trains == p:
                trainer.update({(s, m): futures[-1] for m in ms})
        for f in tqdm(as_completed(futures), total=len(futures), desc=f"experiments ({len(client.nthreads())} workers)",
                      disable=not progress):
            for r in f.result():
                done[(r["protocol"], r["seed"], r["model"])] = r
    return [done[(p, s, m)] for p, s in groups for m in models if (p, s, m) in done]

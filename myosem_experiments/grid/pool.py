"""The grid on worker processes: how it is cut into work units, and the process pool that runs them.

Rows that train a shared run stay in one unit (else two workers would train it at once); Stage 1 is
trained first, one worker per (protocol, seed). Results come back in the serial order and do not depend
on the number of workers.
"""

from __future__ import annotations

import os

from myosem_core.errors import ConfigError
from myosem_core.presets import make_config
from myosem_core.threads import set_threads

from .experiment import Context, run_experiment
from .results import cached_result
from .rows import MODELS


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


def _init_worker(n_threads: int) -> None:
    """Worker processes use the caller's intra-op thread count: Stage 1 and the evaluations run on the
    global setting, and a different count changes their floating-point sums, hence the numbers."""
    set_threads(n_threads)


def _run_group(models, protocol, seed, preset, dataset, data_dir, runs, force) -> list[dict]:
    """One worker's unit of the grid: ``models`` of one (protocol, seed), in order, sharing one memo."""
    ctx = Context(runs, progress=False)
    return [run_experiment(m, protocol, seed, preset, dataset, data_dir, runs, ctx, False, force) for m in models]


def _prepare_stage1(protocol, seed, preset, dataset, data_dir, runs) -> None:
    """Train (or read) one group's Stage-1 text space in a worker."""
    Context(runs, progress=False).prototypes("stage1", make_config(preset, dataset, data_dir, seed), protocol)


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
        for m in models:
            by_run.setdefault(_shared_run(m), []).append(m)
        units += [(protocol, seed, tuple(ms)) for ms in by_run.values()]
    return sorted(units, key=lambda u: -sum(MODELS[m].cost for m in u[2]))  # stable: ties keep the grid's order


def run_in_parallel(models, groups, preset, dataset, data_dir, runs, force, jobs, progress,
                    n_threads: int) -> list[dict]:
    """The grid's :func:`work_units` on ``jobs`` spawned processes; results in the serial order.

    Stage 1, which almost every row needs, is trained (or read) first, one worker per group, so that
    no two workers train the same one at once.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm.auto import tqdm

    done: dict = {}
    if not force:  # rows already computed with today's recipe need no worker
        for p, s in groups:
            for m in models:
                r = cached_result(m, p, s, preset, dataset, data_dir, runs)
                if r is not None:
                    done[(p, s, m)] = r
    todo = [(p, s) for p, s in groups if any((p, s, m) not in done for m in models)]
    units = [(p, s, tuple(m for m in ms if (p, s, m) not in done)) for p, s, ms in work_units(models, todo)]
    units = [u for u in units if u[2]]
    if not units:
        return [done[(p, s, m)] for p, s in groups for m in models if (p, s, m) in done]
    needs_stage1 = any(MODELS[m].text == "stage1" for _, _, ms in units for m in ms)
    protocol, seed = todo[0]  # build the window cache once here, not in every worker at once
    Context(runs, False).data(make_config(preset, dataset, data_dir, seed), protocol)
    with ProcessPoolExecutor(min(jobs, len(units)), mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_worker, initargs=(n_threads,)) as pool:
        if needs_stage1:  # first wave: each group's Stage-1 text space, so no two units train it at once
            list(pool.map(_prepare_stage1, *zip(*[(p, s, preset, dataset, data_dir, runs) for p, s in todo])))
        futures = {pool.submit(_run_group, ms, p, s, preset, dataset, data_dir, runs, force): (p, s)
                   for p, s, ms in units}
        for f in tqdm(as_completed(futures), total=len(futures), desc=f"experiments ({jobs} processes)",
                      disable=not progress):
            for r in f.result():
                done[(r["protocol"], r["seed"], r["model"])] = r
    return [done[(p, s, m)] for p, s in groups for m in models if (p, s, m) in done]

"""The whole grid: every model x protocol x seed, in this process or on worker processes (:mod:`.pool`)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from myosem_core.errors import ConfigError
from myosem_core.presets import report_seeds
from myosem_core.run_store import RETRAIN_ENV
from myosem_core.threads import set_threads

from .experiment import Context, run_experiment
from .pool import SCHEDULER_ENV, default_jobs, environment, run_in_parallel, work_units
from .rows import MODELS, PROTOCOLS, model_spec, rows_under


def run_experiments(models=None, protocols=PROTOCOLS, seeds=None, preset: str = "quick", dataset: str = "synthetic",
                    data_dir: str | None = None, runs: str | Path | None = None, progress: bool = True,
                    force: bool = False, threads: int | None = 1, jobs: int | None = None,
                    model_progress: bool = True, scheduler: str | None = None) -> list[dict]:
    """Every model x protocol x seed; the cached result wherever its recipe still matches.

    ``progress`` shows a bar over the grid; ``model_progress`` also each training's own bars.

    ``jobs`` (default :func:`~.pool.default_jobs`) > 1 spreads the grid's :func:`~.pool.work_units` over that
    many Dask workers on this machine, ``scheduler`` (or ``$MYOSEM_SCHEDULER``) over a cluster's
    (:mod:`.pool`): every trainer here uses one intra-op thread, so the grid's wall time falls about with
    the number of units run at once. Each training is seeded on its own and the workers keep this
    process's thread count, so the results do not depend on ``jobs``. ``force`` recomputes every result
    and retrains the runs it reads.
    """
    import torch
    from tqdm.auto import tqdm

    set_threads(threads)
    named = models is not None
    models = list(models or MODELS)
    seeds = list(report_seeds(preset) if seeds is None else seeds)
    for name in models:  # fail here, before any worker starts
        spec = model_spec(name)
        if named and not any(spec.runs_on(p) for p in protocols):
            raise ConfigError(f"model {name!r} has no result under {list(protocols)}; it runs under {list(spec.protocols)}")
    jobs = default_jobs() if jobs is None else int(jobs)
    groups = [(p, s) for s in seeds for p in protocols]
    scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if scheduler or (jobs > 1 and len(work_units(models, groups)) > 1):
        return run_in_parallel(models, groups, preset, dataset, data_dir, runs, force, jobs, progress,
                               torch.get_num_threads(), scheduler)
    mark = {RETRAIN_ENV: str(time.time())} if force else {}  # every run made before now is retrained, once
    ctx = Context(runs, progress and model_progress)  # the trainings' own bars
    out = []
    bar = tqdm([(g, m) for g in groups for m in rows_under(models, g[0])], desc="experiments", disable=not progress)
    with environment(mark, torch.get_num_threads()):
        for (protocol, seed), name in bar:
            bar.set_postfix_str(f"{name}, {protocol}, seed {seed}", refresh=False)
            out.append(run_experiment(name, protocol, seed, preset, dataset, data_dir, runs, ctx,
                                      progress and model_progress, force))
    return out

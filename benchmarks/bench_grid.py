"""The comparison grid's wall time on 1 and on N Dask workers, same rows, same machine, one run.

Run:  .venv/bin/python benchmarks/bench_grid.py --data-dir ../shared/data/ninapro-db1 [--workers 1 2]
          [--models lda rf se-cnn plain-cnn] [--protocols rand user] [--preset quick] [--dask-trim]

Each worker count trains the same rows from an empty runs folder (the window cache is shared and built first),
so the times compare the schedules, not the caches. ``1`` runs in this process; more run on a local Dask
cluster (:mod:`myosem_experiments.grid.pool`), one thread per worker. Every run's results are checked to be
identical to the first's, and its CPU seconds are split into user and system (kernel) time. ``--dask-trim``
adds a run on the most workers with Dask's own worker environment (``MALLOC_TRIM_THRESHOLD_=65536``, which the
grid unsets: :data:`~myosem_experiments.grid.pool.WORKER_ALLOCATOR`). Writes ``<runs>/benchmarks/grid-workers.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import tempfile
import time
from unittest.mock import patch

from myosem_core.io import write_json
from myosem_core.paths import runs_root
from myosem_core.prepare import load_data
from myosem_core.presets import make_config
from myosem_experiments.grid import run_experiments


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--models", nargs="+", default=["lda", "rf", "se-cnn", "plain-cnn"])
    ap.add_argument("--protocols", nargs="+", default=["rand", "user"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--dask-trim", action="store_true",
                    help="also run on the most workers with Dask's MALLOC_TRIM_THRESHOLD_=65536 in the workers")
    args = ap.parse_args(argv)
    for p in args.protocols:  # the window cache, once, outside the timing
        load_data(make_config(args.preset, "ninapro-db1", args.data_dir, 0), p, progress=False)
    runs_to_time = [(n, "adaptive") for n in args.workers]
    if args.dask_trim:
        runs_to_time.append((max(args.workers), "dask-trim-65536"))
    rows, first = [], None
    for n, allocator in runs_to_time:
        with tempfile.TemporaryDirectory(prefix=f"grid-{n}-") as runs, _allocator(allocator):
            cpu0, t0 = _cpu_seconds(), time.perf_counter()
            results = run_experiments(args.models, args.protocols, args.seeds, args.preset, "ninapro-db1",
                                      args.data_dir, runs, progress=False, jobs=n)
            wall, (user, system) = time.perf_counter() - t0, _cpu_seconds() - cpu0
        metrics = [(r["protocol"], r["seed"], r["model"], r["emg_to_text"]["R@1"]) for r in results]
        first = first or metrics
        rows.append({"workers": n, "worker_allocator": allocator, "wall_seconds": round(wall, 1),
                     "user_seconds": round(float(user), 1), "system_seconds": round(float(system), 1),
                     "units": len(results), "same_results_as_first": metrics == first})
        print(rows[-1], flush=True)
    base = rows[0]["wall_seconds"]
    for r in rows:
        r["speed_up"] = round(base / r["wall_seconds"], 2)
    out = runs_root() / "benchmarks" / "grid-workers.json"
    write_json(out, {"models": args.models, "protocols": args.protocols, "seeds": args.seeds, "preset": args.preset,
                     "cpu_count": os.cpu_count(), "load_1min_at_start": os.getloadavg()[0], "rows": rows})
    print(f"{'workers':>7} {'allocator':>16} {'wall s':>8} {'user s':>8} {'system s':>8} {'speed-up':>8} "
          f"{'same results':>12}")
    for r in rows:
        print(f"{r['workers']:7d} {r['worker_allocator']:>16} {r['wall_seconds']:8.1f} {r['user_seconds']:8.1f} "
              f"{r['system_seconds']:8.1f} {r['speed_up']:8.2f} {str(r['same_results_as_first']):>12}")
    print(f"wrote {out}")
    return 0


def _cpu_seconds():
    """User and system CPU seconds of this process and of every child it has reaped (the Dask workers)."""
    import numpy as np

    mine, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return np.array([mine.ru_utime + kids.ru_utime, mine.ru_stime + kids.ru_stime])


def _allocator(kind: str):
    """``dask-trim-65536``: the workers started in the block inherit Dask's own allocator setting; the
    environment is restored as it was afterwards."""
    if kind == "adaptive":
        return contextlib.nullcontext()
    return patch.dict(os.environ, {"MALLOC_TRIM_THRESHOLD_": "65536"})


if __name__ == "__main__":
    raise SystemExit(main())

"""The comparison grid's wall time on 1 and on N Dask workers, same rows, same machine, one run.

Run:  .venv/bin/python benchmarks/bench_grid.py --data-dir ../shared/data/ninapro-db1 [--workers 1 2]
          [--models lda rf se-cnn plain-cnn] [--protocols rand user] [--preset quick]

Each worker count trains the same rows from an empty runs folder (the window cache is shared and built first),
so the times compare the schedules, not the caches. ``1`` runs in this process; more run on a local Dask
cluster (:mod:`myosem_experiments.grid.pool`), one thread per worker. Every run's results are checked to be
identical to the first's. Writes ``<runs>/benchmarks/grid-workers.json``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

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
    args = ap.parse_args(argv)
    for p in args.protocols:  # the window cache, once, outside the timing
        load_data(make_config(args.preset, "ninapro-db1", args.data_dir, 0), p, progress=False)
    rows, first = [], None
    for n in args.workers:
        with tempfile.TemporaryDirectory(prefix=f"grid-{n}-") as runs:
            t0 = time.perf_counter()
            results = run_experiments(args.models, args.protocols, args.seeds, args.preset, "ninapro-db1",
                                      args.data_dir, runs, progress=False, jobs=n)
            wall = time.perf_counter() - t0
        metrics = [(r["protocol"], r["seed"], r["model"], r["emg_to_text"]["R@1"]) for r in results]
        first = first or metrics
        rows.append({"workers": n, "wall_seconds": round(wall, 1), "units": len(results),
                     "same_results_as_first": metrics == first})
        print(rows[-1], flush=True)
    base = rows[0]["wall_seconds"]
    for r in rows:
        r["speed_up"] = round(base / r["wall_seconds"], 2)
    out = runs_root() / "benchmarks" / "grid-workers.json"
    write_json(out, {"models": args.models, "protocols": args.protocols, "seeds": args.seeds, "preset": args.preset,
                     "cpu_count": os.cpu_count(), "load_1min_at_start": os.getloadavg()[0], "rows": rows})
    print(f"{'workers':>7} {'wall s':>8} {'speed-up':>8} {'same results':>12}")
    for r in rows:
        print(f"{r['workers']:7d} {r['wall_seconds']:8.1f} {r['speed_up']:8.2f} {str(r['same_results_as_first']):>12}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

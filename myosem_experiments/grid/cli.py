"""``python -m myosem_experiments.grid``: run (or reuse) the comparison grid and regenerate its tables.

    python -m myosem_experiments.grid --preset full --data-dir ../shared/data/ninapro-db1 --seeds 0 1 2

writes one result JSON per model, protocol and seed into the experiment folder
(:func:`~.results.experiment_folder`) and the tables of :data:`~.rows.TABLES` into ``tables.md`` beside them.
"""

from __future__ import annotations

import argparse

from myosem_core.data.protocols import PROTOCOLS
from myosem_core.io import write_text
from myosem_core.presets import preset_names, report_seeds

from .results import experiment_folder, load_experiment_results
from .rows import GRID_PROTOCOLS, MODELS
from .runner import run_experiments
from .views import experiment_tables, tables_markdown


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m myosem_experiments.grid",
                                 description="Run (or reuse) every comparison experiment and regenerate the tables.")
    ap.add_argument("--preset", default="quick", choices=preset_names())
    ap.add_argument("--dataset", default="ninapro-db1")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--seeds", type=int, nargs="+", default=None, help="default: 0 (quick), 0 1 2 (full)")
    ap.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=GRID_PROTOCOLS + ("cross-dataset",))
    ap.add_argument("--models", nargs="+", default=None, choices=list(MODELS))
    ap.add_argument("--runs", default=None, help="runs root (default $MYOSEM_RUNS or <repo>/runs)")
    ap.add_argument("--threads", type=int, default=1,
                    help="intra-op threads of each process (default 1: the trainers use one; more helps Stage 1 only)")
    ap.add_argument("--jobs", type=int, default=None,
                    help="Dask worker processes on this machine (default $MYOSEM_JOBS or 1)")
    ap.add_argument("--scheduler", default=None,
                    help="a Dask scheduler's address (tcp://host:8786) whose workers run the grid instead "
                         "(default $MYOSEM_SCHEDULER); they must see the same runs folder and data")
    ap.add_argument("--force", action="store_true", help="retrain even when a cached result matches")
    ap.add_argument("--tables-only", action="store_true", help="regenerate the tables from existing results")
    args = ap.parse_args(argv)
    if "cross-dataset" in args.protocols:
        raise SystemExit("cross-dataset needs two datasets (e.g. DB2 -> DB3); only one dataset "
                         f"({args.dataset}) is given here, so it is not run")
    if args.dataset != "synthetic" and not args.data_dir:
        raise SystemExit(f"--data-dir is required for dataset {args.dataset!r}")
    seeds = report_seeds(args.preset) if args.seeds is None else args.seeds
    if not args.tables_only:
        run_experiments(args.models, args.protocols, seeds, args.preset, args.dataset, args.data_dir, args.runs,
                        threads=args.threads, force=args.force, jobs=args.jobs,
                        scheduler=args.scheduler)
    folder = experiment_folder(args.preset, args.dataset, args.data_dir, args.runs)
    results = [r for r in load_experiment_results(folder) if r["seed"] in set(seeds) and r["dataset"] == args.dataset]
    text = tables_markdown(experiment_tables(results, args.protocols, seeds, args.preset))
    write_text(folder / "tables.md", text)
    print(text)
    print(f"results and tables.md in {folder}")
    return 0

"""Run every scale benchmark in one process; write the JSON and the book's table.

    .venv/bin/python benchmarks/run_all.py                       # real DB1 beside the repo, else synthetic
    .venv/bin/python benchmarks/run_all.py --book-quick          # also execute the notebooks (preset quick)
    .venv/bin/python benchmarks/run_all.py --smoke               # seconds: tiny sizes, nothing written to book/
    .venv/bin/python benchmarks/run_all.py --book-page           # what `make book` runs: no comparison grid

Writes ``<runs>/benchmarks/scale.json`` (every figure, with the machine and the
settings) and ``book/executed/scale_results.md`` (the tables the "Running at
scale" page includes; generated from the JSON by every ``make book``, never
committed or edited by hand).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_scale  # noqa: E402
from myosem_experiments.report.machine import machine  # noqa: E402

REPO = bench_scale.REPO
DEFAULT_DATA = REPO.parent / "shared" / "data" / "ninapro-db1"
BOOK_TABLE = REPO / "book" / "executed" / "scale_results.md"
GPU_RESULTS = sorted((REPO / "book" / "results").glob("gpu-full-grid-*.json"))
GPU_TABLE = REPO / "book" / "executed" / "gpu_full_grid.md"


def load_bench_windows(data_dir: Path | None, preset: str, seed: int):
    """The training windows of the protocol ``rand`` of the real DB1 (or the synthetic set), as the book uses them."""
    from myosem_core.data import make_split
    from myosem_core.prepare import load_config_windows
    from myosem_core.presets import make_config

    dataset = "ninapro-db1" if data_dir else "synthetic"
    cfg = make_config(preset, dataset, str(data_dir) if data_dir else None, seed)
    ws = load_config_windows(cfg, progress=False)
    return ws.subset(make_split(ws, "rand").train), dataset


def run(args) -> dict:
    from myosem_core.io import write_json
    from myosem_core.paths import runs_root

    data_dir = None if args.synthetic else Path(args.data_dir) if args.data_dir else (
        DEFAULT_DATA if DEFAULT_DATA.is_dir() else None)
    ws, dataset = load_bench_windows(data_dir, "quick", args.seed)
    rng = np.random.default_rng(args.seed)
    P = rng.standard_normal((ws.n_classes, args.embed_dim)).astype(np.float32)
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    t_start = time.perf_counter()
    out = {"command": "python benchmarks/run_all.py " + " ".join(args.argv), "dataset": dataset,
           "synthetic": dataset == "synthetic", "n_windows": len(ws),
           "measured_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
           "prototypes": f"random unit vectors, D={args.embed_dim} (the Stage-1 MiniLM space's size)"}
    presets = ["quick"] if args.smoke else ["quick", "full"]
    out["training"] = {p: bench_scale.training_throughput(ws, P, p, n_threads=args.threads,
                                                          steps=2 if args.smoke else 10,
                                                          repeats=1 if args.smoke else 3) for p in presets}
    print("training throughput done", flush=True)
    out["inference"] = {p: bench_scale.inference_latency(ws, P, p, n_single=20 if args.smoke else 200)
                        for p in presets}
    print("inference latency done", flush=True)
    sizes = [1_000, 10_000] if args.smoke else [10_000, 100_000, 1_000_000]
    out["search"] = bench_scale.search_scaling(sizes, dim=args.embed_dim, n_threads=args.threads,
                                               repeats=2 if args.smoke else 5)
    print("search done", flush=True)
    if args.smoke:
        out["grid"] = bench_scale.grid_parallel(None, models=("lda", "rf"), jobs=2)
    elif args.book_page:
        print("comparison grid skipped (--book-page): the book build's own times are on the page", flush=True)
    else:
        out["grid"] = bench_scale.grid_parallel(data_dir, jobs=max(2, min(4, os.cpu_count() or 1)))
    print("comparison grid done", flush=True)
    if args.book_quick and not args.book_page:
        out["book_quick_wall_s"] = bench_scale.execute_quick_book(data_dir)
    out["book"] = bench_scale.book_build_times()
    out["benchmark_seconds"] = time.perf_counter() - t_start
    folder = runs_root() / "benchmarks"
    write_json(folder / ("scale-smoke.json" if args.smoke else "scale.json"), out)
    if not args.smoke:
        from myosem_core.io import write_text

        write_text(BOOK_TABLE, render_markdown(out))
        write_text(GPU_TABLE, render_gpu_grids(GPU_RESULTS))
    return out


# ------------------------------------------------------------------ the book's table


def _fmt(v, digits=3) -> str:
    if v is None:
        return "—"
    if isinstance(v, (int, np.integer)) or (isinstance(v, float) and v >= 100):
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def _big(r: dict) -> int:
    return next(iter(r["inference"].values())).get("big_batch", 256)


def render_gpu_grids(paths) -> str:
    """The ``full`` preset's comparison grid timed on a lent GPU (``book/results/gpu-full-grid-*.json``)."""
    import json

    if not paths:
        return "No GPU run of the `full` preset's grid is recorded in `book/results/`.\n"
    parts = []
    for path in paths:
        r = json.loads(Path(path).read_text())
        rows = ["| model | wall s | training s | EMG→text R@1 | text→EMG R@1 |", "|---|---:|---:|---:|---:|"]
        rows += [f"| {x['model']} | {x['wall_seconds']:.1f} | {x['train_seconds']:.1f} | {100 * x['emg_to_text R@1']:.1f} | "
                 f"{100 * x['text_to_emg R@1']:.1f} |" for x in r["rows"]]
        parts.append(f"`{Path(path).name}`: the `{r['preset']}` preset's grid, protocol `{r['protocol']}`, seed "
                     f"{r['seed']}, every row one after the other on one {r['gpu']} ({r['cpu']}, {r['cpu_count']} cores, "
                     f"{r['threads']} CPU threads for the parts that stay on the CPU: Stage 1, EMBridge/CPEP, AEMG, the "
                     f"forest), torch {r['torch']}: **{r['wall_seconds'] / 60:.1f} min** of wall time from empty runs"
                     f"{'' if r.get('complete') else ' (stopped before the last row)'}. Training seconds of rows that "
                     "share a Stage-2 run count it again; wall seconds do not. GPU numbers are close to, not identical "
                     "with, CPU numbers.\n\n" + "\n".join(rows) + "\n")
    return "\n".join(parts)


def render_markdown(r: dict) -> str:
    """The benchmark tables as MyST markdown, every number read from the result dict ``r``."""
    m = r["machine"]
    data = "the **synthetic** generator" if r["synthetic"] else f"real **{r['dataset']}**"
    lines = [f"Measured {r['measured_utc']} by `{r['command'].strip()}` on {m['cpus_visible']} CPU(s) of an {m['cpu']} "
             f"(load average {m['load_avg_1min_at_start']} when it started: "
             f"{'other jobs shared the machine' if m['load_avg_1min_at_start'] >= 1 else 'the machine was otherwise idle'}), "
             f"torch {m['torch']}, on windows of {data} ({r['n_windows']:,} training windows of the `rand` split). "
             "*CPU* columns are the process's CPU time (the cost on a core of its own); *wall* columns are "
             "elapsed time, which includes waiting for a core while the machine is shared. "
             "Raw figures: `runs/benchmarks/scale.json`.", ""]
    t0 = next(iter(r["training"].values()))
    lines += ["### Training throughput", "",
              f"One training step (forward, backward, AdamW) at batch {t0['batch_size']} on the same windows, "
              f"{t0['threads']} thread. Ratio: windows/s (CPU) relative to the Atzori CNN's classification step "
              "of the same preset.", "",
              "| preset | model | trained parameters | windows/s (CPU) | windows/s (wall) | ratio to Atzori CNN (CE) |",
              "| --- | --- | ---: | ---: | ---: | ---: |"]
    for preset, t in r["training"].items():
        for name, row in t["models"].items():
            lines.append(f"| {preset} | {name} | {row['trained_parameters']:,} | {_fmt(row['windows_per_s'])} | "
                         f"{_fmt(row['windows_per_s_wall'])} | {row['ratio_to_atzori_ce']:.2f} |")
    big = _big(r)
    lines += ["", "### Inference", "",
              "Embedding one window at batch 1 on one thread (model only; end to end = normalise the raw window "
              f"and embed it, as `Stage3Run.embed`), and throughput at batch {big} on one thread. Target: under "
              f"{r['inference'][next(iter(r['inference']))]['target_batch1_ms']:g} ms per window.", "",
              "| preset | model | batch 1, CPU (ms) | batch 1, wall median (ms) | batch 1, wall fastest (ms) | "
              f"end to end, CPU (ms) | end to end, wall median (ms) | batch {big} (windows/s, CPU) |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for preset, inf in r["inference"].items():
        for name, row in inf["models"].items():
            lines.append(f"| {preset} | {name} | {_fmt(row['batch1_cpu_ms'])} | {_fmt(row['batch1_wall_ms'])} | "
                         f"{_fmt(row['batch1_wall_ms_fastest'])} | {_fmt(row.get('batch1_end_to_end_cpu_ms'))} | "
                         f"{_fmt(row.get('batch1_end_to_end_wall_ms'))} | {_fmt(row[f'batch{big}_windows_per_s'])} |")
    s = r["search"]
    lines += ["", "### Text → EMG search", "",
              f"Exact top-{s['k']} over N stored {s['dim']}-d float32 embeddings memory-mapped from `.npy` "
              f"(random unit vectors), {s['chunk_rows']:,} rows per chunk, {s['threads']} BLAS thread; one query, "
              f"and a batch of {s['batch_queries']} queries (as many as DB1 has class prototypes). Working memory = "
              "peak allocation during one search, beyond the stored corpus. Full sort = every score, then "
              "`argsort` (the naive reference).", "",
              f"| stored embeddings | corpus (MiB) | 1 query, CPU (ms) | 1 query, wall (ms) | "
              f"{s['batch_queries']} queries, CPU (ms) | full sort, 1 query, CPU (ms) | working memory (MiB) | "
              "CPU time vs previous size |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for n, row in sorted(s["sizes"].items(), key=lambda kv: int(kv[0])):
        ratio = (f"{row['time_ratio_to_previous']:.1f}× for {row['size_ratio_to_previous']:.0f}× the rows"
                 if "time_ratio_to_previous" in row else "—")
        lines.append(f"| {int(n):,} | {_fmt(row['corpus_mib'])} | {_fmt(row['query_cpu_ms'])} | "
                     f"{_fmt(row['query_wall_ms'])} | {_fmt(row['batch_cpu_ms'])} | "
                     f"{_fmt(row['full_sort_query_cpu_ms'])} | {_fmt(row['working_mib_one_query'])} | {ratio} |")
    if "growth_exponent" in s:
        lines += ["", f"CPU time per query grows as N^{s['growth_exponent']:.2f} over these sizes (1.00 = linear)."]
    if r.get("grid"):
        g = r["grid"]
        lines += ["", "### Comparison grid on worker processes", "",
                  f"The runner of notebooks 05/06 (`myosem_experiments.grid.run_experiments`) on a small grid "
                  f"({', '.join(g['models'])} × {', '.join(g['protocols'])} × seed {', '.join(map(str, g['seeds']))}, "
                  f"preset {g['preset']}, fresh run folders): one process, then {g['jobs']} worker processes "
                  f"(`--jobs {g['jobs']}`), {g['groups']} (protocol, seed) groups, on {g['cpus_visible']} CPU(s).", "",
                  "| serial (s) | workers | with workers (s) | speed-up | same numbers |", "| ---: | ---: | ---: | ---: | --- |",
                  f"| {_fmt(g['serial_wall_s'])} | {g['jobs']} | {_fmt(g['parallel_wall_s'])} | {g['speedup']:.2f}× | "
                  f"{'yes' if g['same_results'] else '**no**'} |"]
        if not g["same_results"]:
            lines += ["", "Rows whose numbers differed between the two runs: "
                      + (", ".join(f"`{d}`" for d in g.get("differing_rows", [])) or "(not recorded)") + "."]
    lines += ["", "### Book build", ""]
    if r.get("book"):
        lines += ["Notebook execution time recorded by `scripts/execute_notebooks.py` (`build_info.json` of the "
                  "last build of each preset found). *Current notebooks executed* counts how many of the book's "
                  "present notebooks that build ran: a build older than the latest notebooks covers fewer.", "",
                  "| preset | dataset | built | notebooks executed | current notebooks executed | execution (s) | "
                  "commit |", "| --- | --- | --- | ---: | ---: | ---: | --- |"]
        for bk in r["book"].values():
            lines.append(f"| {bk['preset']} | {bk['dataset']} | {bk['built_utc']} | {bk['notebooks']} | "
                         f"{bk['covers_current_notebooks']} of {bk['notebooks_in_book']} | {_fmt(bk['total_s'])} | "
                         f"`{bk['commit']}` |")
    else:
        lines.append("No executed book was found when the benchmark ran (run `make book` first).")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None, help=f"NinaPro DB1 folder (default {DEFAULT_DATA} if it exists)")
    ap.add_argument("--synthetic", action="store_true", help="use the synthetic generator even if DB1 exists")
    ap.add_argument("--threads", type=int, default=1, help="threads for training steps and search (default 1)")
    ap.add_argument("--embed-dim", type=int, default=384)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--book-quick", action="store_true", help="also execute every notebook with preset quick")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, quick preset only; writes scale-smoke.json")
    ap.add_argument("--book-page", action="store_true",
                    help="for `make book`: skip the comparison grid (it retrains models); the page shows the build's times")
    args = ap.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    out = run(args)
    print(f"wrote {BOOK_TABLE}" if not args.smoke else "smoke run done")
    return out


if __name__ == "__main__":
    main()

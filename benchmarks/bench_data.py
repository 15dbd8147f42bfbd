"""Load + window time and peak memory for a dataset (default: the 18 real NinaPro DB1 subjects).

Run:  .venv/bin/python benchmarks/bench_data.py --data-dir ../shared/data/ninapro-db1
Prints a table and writes ``<runs>/benchmarks/data.json``. Ratios (cached load vs
cold load, windowing vs reading) are measured within the one run, so they compare
across machines; absolute seconds are this machine's.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import tracemalloc

from myosem_core.data import WindowConfig, load_recordings, load_windows, make_windows
from myosem_core.io import write_json
from myosem_core.paths import runs_root


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="ninapro-db1")
    ap.add_argument("--data-dir", default="../shared/data/ninapro-db1")
    ap.add_argument("--length-s", type=float, default=1.0)
    ap.add_argument("--hop-s", type=float, default=0.25)
    args = ap.parse_args(argv)
    cfg = WindowConfig(args.length_s, args.hop_s)
    data_dir = args.data_dir if args.dataset != "synthetic" else None

    tracemalloc.start()
    t0 = time.perf_counter()
    recs = load_recordings(args.dataset, data_dir, progress=False)
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    ws = make_windows(recs, cfg)
    t_window = time.perf_counter() - t0
    _, peak_py = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with tempfile.TemporaryDirectory() as cache:
        load_windows(args.dataset, data_dir, cfg, cache_dir=cache, progress=False)  # writes the cache
        t0 = time.perf_counter()
        load_windows(args.dataset, data_dir, cfg, cache_dir=cache, progress=False)
        t_cached = time.perf_counter() - t0
    out = {
        "dataset": args.dataset,
        "subjects": len(recs),
        "windows": len(ws),
        "window": {"length_s": cfg.length_s, "hop_s": cfg.hop_s},
        "read_s": round(t_read, 3),
        "window_s": round(t_window, 3),
        "cached_load_s": round(t_cached, 3),
        "ratio_window_to_read": round(t_window / t_read, 3),
        "ratio_cached_to_cold": round(t_cached / (t_read + t_window), 3),
        "peak_traced_mib": round(peak_py / 2**20, 1),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    write_json(runs_root() / "benchmarks" / "data.json", out)
    for k, v in out.items():
        print(f"{k:>22}: {v}")
    return out


if __name__ == "__main__":
    main()

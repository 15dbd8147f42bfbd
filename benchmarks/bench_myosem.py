"""MyoSem speed: Stage 2+3 training wall time, inference latency per window (batch 1, one thread), peak memory.

Run:  .venv/bin/python benchmarks/bench_myosem.py --data-dir ../shared/data/ninapro-db1 --preset full
Trains Stages 2-3 from scratch (no cache) on the ``rand`` split of all subjects,
with random unit prototypes of the text encoder's size (the training cost does
not depend on which prototypes), then times single-window inference. Writes
``<runs>/benchmarks/myosem-<preset>.json``. Targets (issue 4): training < 15 min
on 2 cores with ``full``; < 2 ms per window; peak memory < 4 GiB. The machine is
shared, so the load average at start and end is recorded beside the seconds.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
import torch

from myosem_core.io import write_json
from myosem_core.paths import runs_root
from myosem_core.presets import make_config
from myosem_core.threads import set_threads
from myosem_core.training import train_stage2, train_stage3
from myosem_core.prepare import load_data
from myosem_core.presets import preset_section


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="ninapro-db1")
    ap.add_argument("--data-dir", default="../shared/data/ninapro-db1")
    ap.add_argument("--preset", default="full")
    ap.add_argument("--threads", type=int, default=2, help="training threads (inference always uses one)")
    ap.add_argument("--embed-dim", type=int, default=384)
    ap.add_argument("--repeats", type=int, default=500, help="single-window inference calls timed")
    args = ap.parse_args(argv)
    cfg = make_config(args.preset, args.dataset, args.data_dir if args.dataset != "synthetic" else None)
    ws, split = load_data(cfg, "rand")
    tr, va = ws.subset(split.train), ws.subset(split.val)
    P = np.random.default_rng(0).normal(size=(ws.n_classes, args.embed_dim)).astype(np.float32)
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    s2cfg = preset_section(args.preset, "stage2")
    s3cfg = preset_section(args.preset, "stage3")
    from dataclasses import replace

    s2cfg, s3cfg = replace(s2cfg, threads=args.threads), replace(s3cfg, threads=args.threads)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    s2 = train_stage2(tr, va, s2cfg, seed=0)
    t_s2 = time.perf_counter() - t0
    t0 = time.perf_counter()
    s3 = train_stage3(tr, va, s2, P, s3cfg, seed=0)
    t_s3 = time.perf_counter() - t0
    load1 = os.getloadavg()[0]

    set_threads(1)
    model, norm = s3.model.eval(), s3.normalizer
    x = ws.X[:1]
    with torch.no_grad():
        for _ in range(20):  # warm-up
            model(torch.from_numpy(norm.transform(x)))
        times = []
        for i in range(args.repeats):
            xi = ws.X[i % len(ws): i % len(ws) + 1]
            t = time.perf_counter()
            model(torch.from_numpy(norm.transform(xi)))
            times.append(time.perf_counter() - t)
    times = np.array(times) * 1e3
    out = {
        "dataset": args.dataset, "preset": args.preset, "train_windows": len(tr), "val_windows": len(va),
        "train_threads": args.threads,
        "stage2_s": round(t_s2, 1), "stage2_epochs": len(s2.curves),
        "stage3_s": round(t_s3, 1), "stage3_epochs": len(s3.curves),
        "train_total_s": round(t_s2 + t_s3, 1), "train_total_min": round((t_s2 + t_s3) / 60, 2),
        "infer_ms_median": round(float(np.median(times)), 3), "infer_ms_p95": round(float(np.percentile(times, 95)), 3),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "loadavg_start": round(load0, 2), "loadavg_end": round(load1, 2), "cpus": os.cpu_count(),
    }
    write_json(runs_root() / "benchmarks" / f"myosem-{args.preset}.json", out)
    for k, v in out.items():
        print(f"{k:>18}: {v}")
    return out


if __name__ == "__main__":
    main()

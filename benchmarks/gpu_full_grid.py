"""Time the ``full`` preset's comparison grid for one protocol and seed on a GPU machine, row by row.

    MYOSEM_DEVICE=cuda MYOSEM_SET="embridge.threads=8;aemg.threads=8" \
        python benchmarks/gpu_full_grid.py --data-dir ../shared/data/ninapro-db1 --out book/results/gpu-full-grid-rand-seed0.json

Every row runs one after the other in this process from an empty runs folder; the JSON is rewritten after every
row, so a run stopped by a time limit still reports what it did. The "Running at scale" page shows it.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from myosem_core.io import write_json
from myosem_core.threads import set_threads
from myosem_experiments.grid import MODELS, run_experiments
from myosem_experiments.report.machine import machine


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--protocol", default="rand")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=8, help="CPU threads of the parts that stay on the CPU")
    args = ap.parse_args(argv)
    import subprocess

    set_threads(args.threads)
    gpu = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                         text=True).stdout.strip()
    m = machine()
    out = {"preset": "full", "protocol": args.protocol, "seed": args.seed, "gpu": gpu, "cpu": m["cpu"],
           "cpu_count": m["cpus_visible"], "torch": m["torch"], "threads": args.threads, "rows": [], "complete": False}
    runs, t0 = tempfile.mkdtemp(prefix="gpu-grid-"), time.perf_counter()
    for name in MODELS:
        t = time.perf_counter()
        r = run_experiments([name], [args.protocol], [args.seed], "full", "ninapro-db1", args.data_dir, runs,
                            progress=False, threads=args.threads, jobs=1)[0]
        out["rows"].append({"model": name, "wall_seconds": round(time.perf_counter() - t, 1),
                            "train_seconds": round(r.get("train_seconds", 0.0), 1),
                            "emg_to_text R@1": round(r["emg_to_text"]["R@1"], 4),
                            "text_to_emg R@1": round(r["text_to_emg"]["R@1"], 4)})
        out["wall_seconds"] = round(time.perf_counter() - t0, 1)
        write_json(args.out, out)
        print(out["rows"][-1], flush=True)
    out["complete"] = True
    write_json(args.out, out)
    print(f"{len(out['rows'])} rows in {out['wall_seconds']:.0f} s -> {args.out}; runs in {runs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

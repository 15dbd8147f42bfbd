"""Training seconds and validation accuracy of every EMG model under two recipes, same machine, one run.

Run:  .venv/bin/python benchmarks/bench_recipe.py --data-dir ../shared/data/ninapro-db1 [--old quick --new book]
          [--models myosem tcn atzori-cnn ...] [--seeds 0] [--threads 1]

For each model, on the ``rand`` training windows (validation = repetition 10; test windows are never read),
the whole training the comparison grid runs (MyoSem: Stages 2 and 3; a deep baseline: classification, then
alignment to the prototypes) is done through the one fit loop with the ``--old`` preset's recipe and with the
``--new`` preset's, one after the other in one process on ``--threads`` threads. The prototypes are the frozen
sentence encoder's label embeddings (Stage 1 would add minutes and is the same for every row); validation
R@1 is each validation window's nearest prototype. ``--old-arch`` sets architecture options the old recipe
trained with (default: the TCN and the Atzori CNN at full temporal resolution, ``stride=1``, as before their
strided stems). Reported per model: CPU seconds of the training process (one thread: what a shared machine's
load does not inflate the way it inflates wall time), epochs, validation R@1, and new/old ratios; each
model's seconds are also given as a multiple of the median deep row's. Writes
``<runs>/benchmarks/recipe-<old>-vs-<new>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from dataclasses import replace

from myosem_core.baselines.registry import DEEP_BASELINES
from myosem_core.io import write_json
from myosem_core.paths import runs_root
from myosem_core.prepare import load_data
from myosem_core.presets import deep_config, make_config, preset_section
from myosem_core.threads import set_threads

OLD_ARCH = {"tcn": {"stride": 1}, "atzori-cnn": {"stride": 1}}


def val_r1(embed, val, P) -> float:
    """Share of validation windows whose nearest prototype (cosine) is their class's."""
    return float(((embed(val.X) @ P.T).argmax(1) == val.y).mean())


def train_myosem(preset: str, train, val, P, seed: int) -> tuple[float, int, float]:
    """MyoSem's Stages 2 and 3 under the preset's sections."""
    from myosem_core.training import train_stage2, train_stage3

    t0 = time.process_time()
    s2 = train_stage2(train, val, preset_section(preset, "stage2"), seed=seed, progress=False)
    s3 = train_stage3(train, val, s2, P, preset_section(preset, "stage3"), seed=seed, progress=False)
    return time.process_time() - t0, len(s2.curves) + len(s3.curves), val_r1(s3.embed, val, P)


def train_baseline(arch: str, preset: str, arch_options: dict, train, val, P, seed: int) -> tuple[float, int, float]:
    """Both steps of a deep baseline under the preset's recipe (as :func:`deep_config` derives it)."""
    from myosem_core.baselines.deep import train_deep

    cfg = deep_config(preset, "rand")
    cfg = replace(cfg, arch_options={**cfg.arch_options, arch: {**cfg.arch_options.get(arch, {}), **arch_options}})
    t0 = time.process_time()
    run = train_deep(arch, train, val, P, cfg, seed=seed, progress=False)
    return time.process_time() - t0, len(run.curves), val_r1(run.embed, val, P)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--old", default="quick", help="preset of the old recipe")
    ap.add_argument("--new", default="book", help="preset of the new recipe")
    ap.add_argument("--old-arch", default=json.dumps(OLD_ARCH), help="JSON: architecture options of the old recipe")
    ap.add_argument("--new-arch", default="{}", help="JSON: architecture options of the new recipe (default: the "
                                                     "preset's)")
    ap.add_argument("--models", nargs="+", default=["myosem", *DEEP_BASELINES])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    set_threads(args.threads)
    old_arch, new_arch = json.loads(args.old_arch), json.loads(args.new_arch)
    ws, split = load_data(make_config(args.new, "ninapro-db1", args.data_dir, 0), "rand", progress=False)
    train, val = ws.subset(split.train), ws.subset(split.val)
    from myosem_core.baselines.text import frozen_prototypes
    from myosem_core.text.views import build_views

    P = frozen_prototypes(build_views(ws, split), "label")
    rows = []
    for model in args.models:
        for recipe, preset in (("old", args.old), ("new", args.new)):
            for seed in args.seeds:
                sec, epochs, acc = (train_myosem(preset, train, val, P, seed) if model == "myosem" else
                                    train_baseline(model, preset, (old_arch if recipe == "old" else new_arch).get(model, {}),
                                                   train, val, P, seed))
                rows.append({"model": model, "recipe": recipe, "preset": preset, "seed": seed,
                             "seconds": round(sec, 1), "epochs": epochs, "val_r1": round(acc, 4)})
                print(json.dumps(rows[-1]), flush=True)
    summary = {}
    for model in args.models:
        mean = {r: {k: statistics.mean(x[k] for x in rows if x["model"] == model and x["recipe"] == r)
                    for k in ("seconds", "val_r1")} for r in ("old", "new")}
        summary[model] = {"seconds_old": round(mean["old"]["seconds"], 1), "seconds_new": round(mean["new"]["seconds"], 1),
                          "seconds_new_over_old": round(mean["new"]["seconds"] / mean["old"]["seconds"], 2),
                          "val_r1_old": round(mean["old"]["val_r1"], 4), "val_r1_new": round(mean["new"]["val_r1"], 4),
                          "val_r1_gain_points": round(100 * (mean["new"]["val_r1"] - mean["old"]["val_r1"]), 1)}
    for recipe in ("old", "new"):
        deep = [summary[m][f"seconds_{recipe}"] for m in args.models if m in DEEP_BASELINES]
        if deep:
            median = statistics.median(deep)
            for m in args.models:
                summary[m][f"over_median_deep_{recipe}"] = round(summary[m][f"seconds_{recipe}"] / median, 2)
    out = runs_root() / "benchmarks" / f"recipe-{args.old}-vs-{args.new}.json"
    write_json(out, {"old": args.old, "new": args.new, "old_arch": old_arch, "new_arch": new_arch, "threads": args.threads,
                     "seeds": args.seeds, "load_1min_at_start": os.getloadavg()[0], "rows": rows, "summary": summary})
    print(f"{'model':14} {'s old':>7} {'s new':>7} {'new/old':>7} {'x med old':>9} {'x med new':>9} "
          f"{'R@1 old':>8} {'R@1 new':>8}")
    for m, s in summary.items():
        print(f"{m:14} {s['seconds_old']:7.1f} {s['seconds_new']:7.1f} {s['seconds_new_over_old']:7.2f} "
              f"{s.get('over_median_deep_old', float('nan')):9.2f} {s.get('over_median_deep_new', float('nan')):9.2f} "
              f"{100 * s['val_r1_old']:8.1f} {100 * s['val_r1_new']:8.1f}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

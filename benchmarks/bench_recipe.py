"""Old training recipe vs the EMG recipe of the one fit loop: seconds and validation accuracy, same machine, one run.

Run:  .venv/bin/python benchmarks/bench_recipe.py --data-dir ../shared/data/ninapro-db1 [--preset quick]
          [--models myosem se-cnn] [--threads 1]

For each model, on the preset's ``rand`` training windows (validation = repetition 10; test windows are never
read), step 1 / Stage 2 is trained twice through the same fit loop: with the recipe the book used before the fit
loop (``OLD``: cosine schedule, no label smoothing or clipping, 8 (quick) or 20 (full) epochs, early stopping
on validation CE, gain offsets 0.3) and with the current preset. Reported: wall seconds, epochs run, best
validation top-1, and the new/old ratios. Both use one process and ``--threads`` threads, so the ratios hold on
the machine that ran them. Writes ``<runs>/benchmarks/recipe-<preset>.json``.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

import torch

from myosem_core.io import write_json
from myosem_core.paths import runs_root
from myosem_core.presets import make_config
from myosem_core.threads import set_threads
from myosem_core.training import Stage2Config
from myosem_core.training.augment import AugmentConfig
from myosem_core.prepare import load_data
from myosem_core.presets import deep_config, preset_section

#: what the presets trained with before the one fit loop (settings of the last release's presets)
OLD = {"quick": dict(lr=2e-3, weight_decay=0.05, schedule="cosine", grad_clip=None, label_smoothing=0.0,
                     monitor="val_ce", max_epochs=8, patience=3, augment=AugmentConfig(0.3, 0.3, 0.05)),
       "full": dict(lr=2e-3, weight_decay=0.05, schedule="cosine", grad_clip=None, label_smoothing=0.0,
                    monitor="val_ce", max_epochs=20, patience=5, augment=AugmentConfig(0.3, 0.3, 0.05))}
OLD_ENCODER = {"quick": dict(dropout=0.2), "full": dict(d_model=96, dropout=0.2, codebook_size=128, conv_stem=0)}


def recipes(preset: str) -> dict[str, Stage2Config]:
    new = preset_section(preset, "stage2")
    old = replace(new, encoder=replace(new.encoder, **OLD_ENCODER[preset]), **OLD[preset])
    return {"old": old, "new": new}


def train_myosem(s2: Stage2Config, train, val) -> tuple[float, int, float]:
    from myosem_core.training import train_stage2

    t0 = time.perf_counter()
    run = train_stage2(train, val, s2, seed=0, progress=False)
    return time.perf_counter() - t0, len(run.curves), max(r["val_acc"] for r in run.curves)


def train_baseline(arch: str, s2: Stage2Config, train, val, preset: str) -> tuple[float, int, float]:
    """Step 1 (CE) of a deep baseline with the recipe of ``s2`` (as the presets derive it)."""
    from myosem_core.baselines.deep import train_deep

    cfg = replace(deep_config(preset), pretrain_epochs=s2.max_epochs, pretrain_patience=s2.patience,
                  pretrain_lr=s2.lr, weight_decay=s2.weight_decay, label_smoothing=s2.label_smoothing,
                  schedule=s2.schedule, monitor="val_acc" if s2.monitor == "val_acc" else "val_loss",
                  augment=s2.augment)
    cfg = replace(cfg, align=replace(cfg.align, phase1_epochs=0, phase2_epochs=0))  # step 1 only
    P = torch.nn.functional.normalize(torch.randn(train.n_classes, 8), dim=1).numpy()
    t0 = time.perf_counter()
    run = train_deep(arch, train, val, P, cfg, seed=0, progress=False)
    steps = [r for r in run.curves if r["step"] == "pretrain"]
    return time.perf_counter() - t0, len(steps), max(r["val_acc"] for r in steps)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--preset", default="quick", choices=("quick", "full"))
    ap.add_argument("--models", nargs="+", default=["myosem", "se-cnn"])
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    set_threads(args.threads)
    cfg = make_config(args.preset, "ninapro-db1", args.data_dir, 0)
    ws, split = load_data(cfg, "rand")
    train, val = ws.subset(split.train), ws.subset(split.val)
    rows = []
    for model in args.models:
        for name, s2 in recipes(args.preset).items():
            s2 = replace(s2, threads=args.threads)
            sec, epochs, acc = (train_myosem(s2, train, val) if model == "myosem"
                                else train_baseline(model, s2, train, val, args.preset))
            rows.append({"model": model, "recipe": name, "seconds": round(sec, 1), "epochs": epochs,
                         "val_top1": round(acc, 4)})
            print(rows[-1], flush=True)
    ratios = {}
    for model in args.models:
        old, new = (next(r for r in rows if r["model"] == model and r["recipe"] == k) for k in ("old", "new"))
        ratios[model] = {"seconds_new_over_old": round(new["seconds"] / old["seconds"], 2),
                         "val_top1_gain_points": round(100 * (new["val_top1"] - old["val_top1"]), 1)}
    out = runs_root() / "benchmarks" / f"recipe-{args.preset}.json"
    write_json(out, {"preset": args.preset, "threads": args.threads, "load_1min_at_start": os.getloadavg()[0],
                     "rows": rows, "ratios": ratios})
    print(ratios)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Training time of every EMG baseline (and MyoSem Stages 2-3 for reference) on 2 cores, quick and full presets.

Run:  .venv/bin/python benchmarks/bench_baselines.py --data-dir ../shared/data/ninapro-db1 [--presets quick full]

For each preset: the preset's windows of the ``rand`` training split (its
validation repetition validates), every model trained one after the other in
this process with ``--threads`` intra-op threads. Deep models and MyoSem run
``--epochs`` epochs of each training step (deep: CE, align-head, align-finetune;
MyoSem: Stage 2, Stage 3 head, Stage 3 finetune) with early stopping off, so
``s/epoch`` compares like with like; ``budget s`` = s/epoch x the preset's maximum
epochs (early stopping usually ends sooner). LDA and the random forest are fitted
once. The prototypes are fixed random unit vectors of Stage 1's size (384): the
training cost does not depend on what they encode. Ratios are to the Atzori CNN
measured in the same run, so they compare across machines; absolute seconds are
this machine's (and a machine shared with other jobs inflates them).
Writes ``<runs>/benchmarks/baselines.json``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
import torch

from myosem_core.baselines.deep import ARCHITECTURES, DeepConfig, train_deep
from myosem_core.config import make_config
from myosem_core.io import write_json
from myosem_core.paths import runs_root
from myosem_core.pipeline import load_data
from myosem_core.retrievers import make_retriever

REFERENCE = "atzori-cnn"


def deep_row(arch, train, val, P, preset, epochs, threads):
    base = DeepConfig.preset_named(preset)
    cfg = replace(base, pretrain_epochs=epochs, pretrain_patience=epochs + 1, threads=threads,
                  align=replace(base.align, phase1_epochs=epochs, phase2_epochs=epochs, patience=epochs + 1))
    run = train_deep(arch, train, val, P, cfg, seed=0, progress=False)
    n_epochs = len(run.curves)
    budget = base.pretrain_epochs + base.align.phase1_epochs + base.align.phase2_epochs
    params = sum(p.numel() for p in run.model.backbone.parameters())
    return {"model": arch, "seconds": run.train_seconds, "epochs": n_epochs, "s_per_epoch": run.train_seconds / n_epochs,
            "budget_epochs": budget, "budget_s": run.train_seconds / n_epochs * budget, "backbone_params": params}


def myosem_row(train, val, P, preset, epochs, threads):
    from myosem_core.training import Stage2Config, Stage3Config, train_stage2, train_stage3

    s2, s3 = Stage2Config.preset_named(preset), Stage3Config.preset_named(preset)
    budget = s2.max_epochs + s3.phase1_epochs + s3.phase2_epochs
    s2r = replace(s2, max_epochs=epochs, patience=epochs + 1)
    s3r = replace(s3, phase1_epochs=epochs, phase2_epochs=epochs, patience=epochs + 1)
    if "threads" in Stage2Config.__dataclass_fields__:
        s2r, s3r = replace(s2r, threads=threads), replace(s3r, threads=threads)
    t0 = time.perf_counter()
    run2 = train_stage2(train, val, s2r, 0, None, False)
    run3 = train_stage3(train, val, run2, P, s3r, 0, None, False)
    seconds = time.perf_counter() - t0
    n_epochs = len(run2.curves) + len(run3.curves)
    params = sum(p.numel() for p in run2.model.parameters())
    return {"model": "myosem (stages 2+3)", "seconds": seconds, "epochs": n_epochs, "s_per_epoch": seconds / n_epochs,
            "budget_epochs": budget, "budget_s": seconds / n_epochs * budget, "backbone_params": params}


def classical_row(name, train, val, preset):
    t0 = time.perf_counter()
    make_retriever(name, seed=0, preset=preset, n_jobs=2).fit(train, val, None)
    s = time.perf_counter() - t0
    return {"model": name, "seconds": s, "epochs": None, "s_per_epoch": None, "budget_epochs": None, "budget_s": s,
            "backbone_params": None}


def bench_preset(preset, dataset, data_dir, epochs, threads, models):
    cfg = make_config(preset, dataset, data_dir)
    ws, split = load_data(cfg, "rand")
    train, val = ws.subset(split.train), ws.subset(split.val)
    rng = np.random.default_rng(0)
    P = rng.normal(size=(ws.n_classes, 384)).astype(np.float32)
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    rows = []
    for m in models:
        if m in ARCHITECTURES:
            rows.append(deep_row(m, train, val, P, preset, epochs, threads))
        elif m == "myosem":
            rows.append(myosem_row(train, val, P, preset, epochs, threads))
        else:
            rows.append(classical_row(m, train, val, preset))
        print(f"  [{preset}] {rows[-1]['model']}: {rows[-1]['seconds']:.1f} s", flush=True)
    ref = next((r for r in rows if r["model"] == REFERENCE), None)
    for r in rows:
        if ref is not None:
            r["ratio_to_atzori_cnn"] = r["budget_s"] / ref["budget_s"]
            if r["s_per_epoch"] is not None:
                r["s_per_epoch_ratio"] = r["s_per_epoch"] / ref["s_per_epoch"]
    return {"preset": preset, "n_train": len(train), "n_val": len(val), "window": list(ws.X.shape[1:]), "rows": rows}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="ninapro-db1")
    ap.add_argument("--data-dir", default="../shared/data/ninapro-db1")
    ap.add_argument("--presets", nargs="+", default=["quick", "full"], choices=["quick", "full"])
    ap.add_argument("--epochs", type=int, default=2, help="epochs of each training step (early stopping off)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", nargs="+", default=[REFERENCE, *[a for a in ARCHITECTURES if a != REFERENCE],
                                                     "myosem", "lda", "rf"])
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    data_dir = args.data_dir if args.dataset != "synthetic" else None
    out = {"threads": args.threads, "epochs_per_step": args.epochs, "dataset": args.dataset,
           "presets": [bench_preset(p, args.dataset, data_dir, args.epochs, args.threads, args.models)
                       for p in args.presets]}
    write_json(runs_root() / "benchmarks" / "baselines.json", out)
    for res in out["presets"]:
        print(f"\npreset {res['preset']}: {res['n_train']} training windows {res['window']}, "
              f"{args.threads} threads, {args.epochs} epochs per step")
        print(f"{'model':22s} {'params':>8s} {'s/epoch':>8s} {'ratio':>6s} {'budget ep':>9s} {'budget s':>9s} "
              f"{'ratio':>6s}")
        for r in res["rows"]:
            spe = f"{r['s_per_epoch']:.2f}" if r["s_per_epoch"] is not None else "-"
            rpe = f"{r['s_per_epoch_ratio']:.2f}" if "s_per_epoch_ratio" in r else "-"
            print(f"{r['model']:22s} {r['backbone_params'] or '-':>8} {spe:>8s} {rpe:>6s} "
                  f"{r['budget_epochs'] or '-':>9} {r['budget_s']:9.1f} {r.get('ratio_to_atzori_cnn', float('nan')):6.2f}")
    print(f"\nwritten to {runs_root() / 'benchmarks' / 'baselines.json'}")
    return out


if __name__ == "__main__":
    main()

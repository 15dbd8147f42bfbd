"""Training time of every EMG baseline (and MyoSem Stages 2-3 for reference) on 2 cores, quick and full presets.

Run:  .venv/bin/python benchmarks/bench_baselines.py --data-dir ../shared/data/ninapro-db1 [--presets quick full]

For each preset, on the preset's real windows (``rand`` training split) and
with ``--threads`` intra-op threads, every model is timed one after the other
in this process:

- deep baselines: ``--steps`` training steps (AdamW, batch size of the preset)
  of step 1 (backbone + classifier, CE) and of step 2 (backbone + projection,
  InfoNCE against the prototypes + auxiliary CE), augmentation included;
- MyoSem: ``--steps`` steps of Stage 2 (CE + reconstruction + VQ) and of Stage 3
  (encoder + semantic-query head, InfoNCE + auxiliary CE);
- LDA and the random forest: one full ``fit`` on the training split.

Models are timed round-robin ``--rounds`` times and each keeps its fastest
round, so load from other jobs that comes and goes disturbs the ratios less.
``budget s`` = seconds per step x steps per epoch x the preset's maximum epochs
(step 1 / Stage 2: ``max_epochs``; step 2 / Stage 3: both phases, every step
counted as a full fine-tuning step, so an upper bound; early stopping usually
ends sooner). Wall and CPU seconds are both reported: on a machine shared with
other jobs wall time is inflated, CPU time (all threads of this process) is what
a step costs on cores of its own. Ratios are to the Atzori CNN measured in the
same run. Writes ``<runs>/benchmarks/baselines.json``.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
import torch

from myosem_core.baselines.deep import ARCHITECTURES, AlignedBaseline, DeepConfig
from myosem_core.baselines.registry import make_retriever
from myosem_core.io import write_json
from myosem_core.losses import classification_loss, prototype_info_nce, stage2_loss
from myosem_core.paths import runs_root
from myosem_core.presets import make_config
from myosem_core.threads import set_threads
from myosem_core.training.augment import augment
from myosem_core.prepare import load_data
from myosem_core.presets import deep_config

REFERENCE = "atzori-cnn"


def time_steps(step, n_steps: int, warmup: int = 2) -> tuple[float, float]:
    """Mean wall and CPU seconds of ``step(i)`` over ``n_steps`` calls after ``warmup`` untimed ones."""
    for i in range(warmup):
        step(i)
    w0, c0 = time.perf_counter(), time.process_time()
    for i in range(n_steps):
        step(warmup + i)
    return (time.perf_counter() - w0) / n_steps, (time.process_time() - c0) / n_steps


def batch_source(X: torch.Tensor, y: torch.Tensor, batch_size: int, aug):
    gen = torch.Generator().manual_seed(0)

    def get(i):
        idx = torch.randint(0, len(X), (batch_size,), generator=gen)
        return augment(X[idx], aug), y[idx]

    return get


def deep_steps(arch, X, y, P, cfg: DeepConfig):
    torch.manual_seed(0)
    backbone = ARCHITECTURES[arch](X.shape[2], X.shape[1], width=cfg.width)
    model = AlignedBaseline(backbone, int(y.max()) + 1, P.shape[1])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.pretrain_lr, weight_decay=cfg.weight_decay)
    get = batch_source(X, y, cfg.batch_size, cfg.augment)

    def ce_step(i):
        x, t = get(i)
        loss = classification_loss(model.classifier(model.segment(x)), t)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def align_step(i):
        x, t = get(i)
        z = model.embed(x)
        loss = prototype_info_nce(z, P, t, cfg.align.temperature) + cfg.align.w_aux * classification_loss(
            model.aux_classifier(z), t)
        opt.zero_grad()
        loss.backward()
        opt.step()

    model.train()
    params = sum(p.numel() for p in backbone.parameters())
    return arch, params, (ce_step, cfg.pretrain_epochs), (align_step, cfg.align.phase1_epochs + cfg.align.phase2_epochs)


def myosem_steps(ws_train, X, y, P, preset):
    from myosem_core.models.activation_encoder import ActivationAwareEncoder
    from myosem_core.training.stage2 import encoder_config_for
    from myosem_core.training.stage3 import build_model
    from myosem_experiments.grid import stage_presets

    s2, s3 = stage_presets(preset)
    torch.manual_seed(0)
    enc = ActivationAwareEncoder(encoder_config_for(ws_train, s2))
    opt = torch.optim.AdamW(enc.parameters(), lr=s2.lr, weight_decay=s2.weight_decay)
    get = batch_source(X, y, s2.batch_size, s2.augment)

    def stage2_step(i):
        x, t = get(i)
        loss, _ = stage2_loss(enc(x), x, t, s2.w_rec, s2.w_vq)
        opt.zero_grad()
        loss.backward()
        opt.step()

    enc.train()
    model = build_model(enc, s3, P.shape[1])
    opt3 = torch.optim.AdamW(model.parameters(), lr=s3.phase2_head_lr, weight_decay=s3.weight_decay)
    get3 = batch_source(X, y, s3.batch_size, s3.augment)

    def stage3_step(i):
        x, t = get3(i)
        z = model(x).embedding
        loss = prototype_info_nce(z, P, t, s3.temperature) + s3.w_aux * classification_loss(model.aux_classifier(z), t)
        opt3.zero_grad()
        loss.backward()
        opt3.step()

    model.train()
    params = sum(p.numel() for p in enc.parameters())
    return "myosem", params, (stage2_step, s2.max_epochs), (stage3_step, s3.phase1_epochs + s3.phase2_epochs)


def classical_row(name, train, val, preset):
    w0, c0 = time.perf_counter(), time.process_time()
    make_retriever(name, seed=0, preset=preset, n_jobs=2).fit(train, val, None)
    return {"model": name, "params": None, "step_wall_s": None, "step_cpu_s": None, "budget_epochs": None,
            "budget_wall_s": time.perf_counter() - w0, "budget_cpu_s": time.process_time() - c0}


def bench_preset(preset, dataset, data_dir, n_steps, rounds, models):
    cfg = make_config(preset, dataset, data_dir)
    ws, split = load_data(cfg, "rand")
    train, val = ws.subset(split.train), ws.subset(split.val)
    deep_cfg = deep_config(preset)
    log = deep_cfg.log_normalize if deep_cfg.log_normalize is not None else train.signal_kind == "rms"
    from myosem_core.training.normalization import InputNormalizer

    X = torch.from_numpy(InputNormalizer.fit(train.X, log, deep_cfg.log_eps_quantile).transform(train.X))
    y = torch.from_numpy(train.y)
    rng = np.random.default_rng(0)
    P = rng.normal(size=(ws.n_classes, 384)).astype(np.float32)
    P = torch.from_numpy(P / np.linalg.norm(P, axis=1, keepdims=True))
    neural = [m for m in models if m not in ("lda", "rf")]
    built = {m: (myosem_steps(train, X, y, P, preset) if m == "myosem" else deep_steps(m, X, y, P, deep_cfg))
             for m in neural}
    best: dict[tuple[str, int], tuple[float, float]] = {}
    for _ in range(rounds):  # round-robin, keep each model's fastest round: load from other jobs comes and goes
        for m in neural:
            for k, (fn, _) in enumerate(built[m][2:]):
                w, c = time_steps(fn, n_steps)
                old = best.get((m, k))
                best[(m, k)] = (min(w, old[0]), min(c, old[1])) if old else (w, c)
    steps = math.ceil(len(train) / deep_cfg.batch_size)
    rows = []
    for m in models:
        if m in ("lda", "rf"):
            rows.append(classical_row(m, train, val, preset))
            continue
        name, params, (_, e1), (_, e2) = built[m]
        s1, s2 = best[(m, 0)], best[(m, 1)]
        rows.append({"model": name, "params": params, "step_wall_s": (s1[0] + s2[0]) / 2,
                     "step_cpu_s": (s1[1] + s2[1]) / 2, "budget_epochs": e1 + e2,
                     "budget_wall_s": steps * (s1[0] * e1 + s2[0] * e2),
                     "budget_cpu_s": steps * (s1[1] * e1 + s2[1] * e2)})
    for r in rows:
        print(f"  [{preset}] {r['model']}: budget {r['budget_wall_s']:.1f} s wall, {r['budget_cpu_s']:.1f} s CPU",
              flush=True)
    ref = next((r for r in rows if r["model"] == REFERENCE), None)
    for r in rows:
        if ref is not None:
            r["ratio_wall"] = r["budget_wall_s"] / ref["budget_wall_s"]
            r["ratio_cpu"] = r["budget_cpu_s"] / ref["budget_cpu_s"]
    return {"preset": preset, "n_train": len(train), "window": list(ws.X.shape[1:]), "width": deep_cfg.width,
            "batch_size": deep_cfg.batch_size, "rows": rows}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="ninapro-db1")
    ap.add_argument("--data-dir", default="../shared/data/ninapro-db1")
    ap.add_argument("--presets", nargs="+", default=["quick", "full"], choices=["quick", "full"])
    ap.add_argument("--steps", type=int, default=20, help="timed training steps per step kind and model")
    ap.add_argument("--rounds", type=int, default=3, help="round-robin repetitions; the fastest round counts")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", nargs="+", default=[REFERENCE, *[a for a in ARCHITECTURES if a != REFERENCE],
                                                     "myosem", "lda", "rf"])
    args = ap.parse_args(argv)
    set_threads(args.threads)
    data_dir = args.data_dir if args.dataset != "synthetic" else None
    out = {"threads": args.threads, "steps": args.steps, "rounds": args.rounds, "dataset": args.dataset,
           "load_average_1min_at_start": os.getloadavg()[0],
           "presets": [bench_preset(p, args.dataset, data_dir, args.steps, args.rounds, args.models) for p in args.presets]}
    write_json(runs_root() / "benchmarks" / "baselines.json", out)
    for res in out["presets"]:
        print(f"\npreset {res['preset']}: {res['n_train']} training windows {res['window']}, backbone width "
              f"{res['width']}, batch {res['batch_size']}, {args.threads} threads")
        print(f"{'model':12s} {'params':>8s} {'ms/step':>8s} {'CPU ms':>7s} {'epochs':>6s} {'budget s':>9s} "
              f"{'CPU s':>8s} {'ratio':>6s} {'CPU ratio':>9s}")
        for r in res["rows"]:
            ms = f"{1000 * r['step_wall_s']:.0f}" if r["step_wall_s"] is not None else "-"
            cms = f"{1000 * r['step_cpu_s']:.0f}" if r["step_cpu_s"] is not None else "-"
            print(f"{r['model']:12s} {r['params'] or '-':>8} {ms:>8s} {cms:>7s} {r['budget_epochs'] or '-':>6} "
                  f"{r['budget_wall_s']:9.1f} {r['budget_cpu_s']:8.1f} {r.get('ratio_wall', float('nan')):6.2f} "
                  f"{r.get('ratio_cpu', float('nan')):9.2f}")
    print(f"\nwritten to {runs_root() / 'benchmarks' / 'baselines.json'}")
    return out


if __name__ == "__main__":
    main()

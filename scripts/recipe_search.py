"""Choose the EMG training recipe of Stage 2 (and so of every deep model) without touching test data.

    .venv/bin/python scripts/recipe_search.py --data-dir ../shared/data/ninapro-db1 --jobs 2
    MYOSEM_DEVICE=cuda python scripts/recipe_search.py --data-dir ... --jobs 8     # on a GPU machine

Every candidate (a set of Stage-2 overrides on the preset's config) is trained
through the one fit loop on two selection splits and scored by the Stage-2
classifier's top-1 / top-3 accuracy:

- ``rand-val``: the ``rand`` protocol's training repetitions, scored on its
  validation repetition 10 (early stopping sees the same windows, as in the
  real protocol; the test repetitions 2, 5, 7 are never read);
- ``user-dev``: the development split of ``scripts/user_dev_selection.py``:
  train S1-S4, S7-S12 (early stopping on their repetition 10), scored on the
  whole subjects S13-S16; the ``user`` test subjects S17-S20 are never read.

The chosen recipe is the candidate with the best mean top-1 over both splits.
Results go to ``<runs>/recipe-search-<preset>.json`` (rows of earlier runs with
other candidates are kept), one row per candidate, split and seed.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path

import numpy as np
from myosem_core.presets import preset_section

DEV_TRAIN = [f"S{i}" for i in (1, 2, 3, 4, *range(7, 13))]
DEV_TEST = [f"S{i}" for i in range(13, 17)]
SPLITS = ("rand-val", "user-dev")

#: candidate name -> Stage-2 overrides (``encoder`` and ``augment`` are dicts of their fields)
CANDIDATES: dict[str, dict] = {
    "base": {},
    "epochs60": {"max_epochs": 60, "patience": 15},
    "d128": {"encoder": {"d_model": 128}},
    "layers3": {"encoder": {"n_layers": 3}},
    "dropout0.2": {"encoder": {"dropout": 0.2}},
    "conv32": {"encoder": {"conv_stem": 32}},
    "conv64-d128": {"encoder": {"conv_stem": 64, "d_model": 128}},
    "patch0.05": {"patch_s": 0.05},
    "lr1e-3": {"lr": 1e-3},
    "lr6e-3": {"lr": 6e-3},
    "batch64": {"batch_size": 64},
    "no-smoothing": {"label_smoothing": 0.0},
    "no-time-shift": {"augment": {"time_shift": 0.0}},
    "channel-dropout0.1": {"augment": {"channel_dropout": 0.1}},
    "gain0.5": {"augment": {"channel_offset": 0.5, "global_offset": 0.5}},
    "no-augment": {"augment": {"channel_offset": 0.0, "global_offset": 0.0, "noise": 0.0, "time_shift": 0.0}},
    "w_rec0.1": {"w_rec": 0.1},
    "monitor-ce": {"monitor": "val_ce"},
    "wd0.01": {"weight_decay": 0.01},
    "conv32-patch0.05-epochs60": {"encoder": {"conv_stem": 32}, "patch_s": 0.05, "max_epochs": 60, "patience": 15},
    "conv64-d128-epochs60": {"encoder": {"conv_stem": 64, "d_model": 128}, "max_epochs": 60, "patience": 15},
    # round 2: gain offsets hurt within-subject (rand-val) and help across people (user-dev): smaller ones
    "gain0.1": {"augment": {"channel_offset": 0.1, "global_offset": 0.1}},
    "shift-only": {"augment": {"channel_offset": 0.0, "global_offset": 0.0, "noise": 0.0}},
    "big-no-augment": {"encoder": {"conv_stem": 64, "d_model": 128}, "max_epochs": 60, "patience": 15,
                       "augment": {"channel_offset": 0.0, "global_offset": 0.0, "noise": 0.0, "time_shift": 0.0}},
    "big-gain0.1": {"encoder": {"conv_stem": 64, "d_model": 128}, "max_epochs": 60, "patience": 15,
                    "augment": {"channel_offset": 0.1, "global_offset": 0.1}},
    "big-gain0.15-channel": {"encoder": {"conv_stem": 64, "d_model": 128}, "max_epochs": 60, "patience": 15,
                             "augment": {"channel_offset": 0.15, "global_offset": 0.0}},
    "big-shift-noise": {"encoder": {"conv_stem": 64, "d_model": 128}, "max_epochs": 60, "patience": 15,
                        "augment": {"channel_offset": 0.0, "global_offset": 0.0}},
    "big-gain0.1-patch0.05": {"encoder": {"conv_stem": 64, "d_model": 128}, "max_epochs": 60, "patience": 15,
                              "patch_s": 0.05, "augment": {"channel_offset": 0.1, "global_offset": 0.1}},
    "big-gain0.1-w_rec0.1": {"encoder": {"conv_stem": 64, "d_model": 128}, "max_epochs": 60, "patience": 15,
                             "w_rec": 0.1, "augment": {"channel_offset": 0.1, "global_offset": 0.1}},
    # the CPU budget frontier (book/results/recipe-budget-quick-cpu.json): accuracy against training seconds
    "epochs30": {"max_epochs": 30, "patience": 10},
    "epochs40": {"max_epochs": 40, "patience": 10},
    "batch256-lr6e-3-epochs30": {"batch_size": 256, "lr": 6e-3, "max_epochs": 30, "patience": 10},
    "batch512-lr6e-3-epochs40": {"batch_size": 512, "lr": 6e-3, "max_epochs": 40, "patience": 10},
}


def stage2_config(preset: str, overrides: dict):
    """The preset's Stage-2 config with a candidate's overrides."""

    base = preset_section(preset, "stage2")
    over = dict(overrides)
    enc, aug = over.pop("encoder", {}), over.pop("augment", {})
    return replace(base, encoder=replace(base.encoder, **enc), augment=replace(base.augment, **aug), **over)


def selection_split(ws, name: str):
    """(train, val, scored) windows of a selection split; no test window of a real protocol is among them."""
    from myosem_core.data.protocols import make_split

    if name == "rand-val":
        s = make_split(ws, "rand")
        return ws.subset(s.train), ws.subset(s.val), ws.subset(s.val)
    if name == "user-dev":
        s = make_split(ws, "user", train_subjects=DEV_TRAIN, test_subjects=DEV_TEST)
        return ws.subset(s.train), ws.subset(s.val), ws.subset(s.test)
    raise ValueError(f"unknown selection split {name!r}; expected one of {SPLITS}")


def run_one(data_dir: str, preset: str, name: str, split: str, seed: int) -> dict:
    """Train one candidate on one selection split; its scored accuracy and cost."""
    import torch

    from myosem_core.presets import make_config
    from myosem_core.threads import set_threads
    from myosem_core.training import train_stage2
    from myosem_core.prepare import load_data

    set_threads(1)
    cfg = make_config(preset, "ninapro-db1", data_dir, seed)
    ws, _ = load_data(cfg, "rand")
    train, val, scored = selection_split(ws, split)
    s2 = stage2_config(preset, CANDIDATES[name])
    t0 = time.perf_counter()
    run = train_stage2(train, val, s2, seed=seed, progress=False)
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        logits = torch.cat([run.model(torch.from_numpy(run.normalize(scored.X[i:i + 1024]))).logits
                            for i in range(0, len(scored), 1024)])
    top = logits.topk(3, 1).indices
    y = torch.from_numpy(scored.y)
    return {"candidate": name, "split": split, "seed": seed, "preset": preset,
            "top1": float((top[:, 0] == y).float().mean()), "top3": float((top == y[:, None]).any(1).float().mean()),
            "epochs": len(run.curves), "best_epoch": int(np.argmax([r["val_acc"] for r in run.curves])),
            "seconds": round(seconds, 1), "device": os.environ.get("MYOSEM_DEVICE", "cpu")}


def choose(rows: list[dict]) -> tuple[str | None, dict]:
    """The candidate with the best mean top-1 over every split and seed it ran on (complete rows only)."""
    by: dict[str, list] = {}
    for r in rows:
        by.setdefault(r["candidate"], []).append(r["top1"])
    splits = {(r["split"], r["seed"]) for r in rows}
    means = {c: float(np.mean(v)) for c, v in by.items() if len(v) == len(splits)}
    return (max(means, key=means.get) if means else None), means


def main(argv=None) -> int:
    from myosem_core.io import read_json, write_json
    from myosem_core.paths import runs_root

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--candidates", nargs="+", default=list(CANDIDATES))
    ap.add_argument("--splits", nargs="+", default=list(SPLITS), choices=SPLITS)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", default=None, help="results JSON (default <runs>/recipe-search-<preset>.json)")
    ap.add_argument("--note", default=None, help="how and where it ran (default: the file's note, else this "
                    "machine's cores and the trainings at once)")
    args = ap.parse_args(argv)
    unknown = sorted(set(args.candidates) - set(CANDIDATES))
    if unknown:
        ap.error(f"unknown candidates {unknown}; expected some of {list(CANDIDATES)}")
    data_dir = str(Path(args.data_dir).resolve())
    out = Path(args.out) if args.out else runs_root() / f"recipe-search-{args.preset}.json"
    todo = [(c, s, k) for c in args.candidates for s in args.splits for k in args.seeds]
    previous = read_json(out) if out.is_file() else {}
    rows = [r for r in previous.get("rows", []) if (r["candidate"], r["split"], r["seed"]) not in set(todo)]
    note = args.note or previous.get("note") or (
        f"run with MYOSEM_DEVICE={os.environ.get('MYOSEM_DEVICE', 'cpu')} on a {os.cpu_count()}-core machine, "
        f"{args.jobs} training(s) at once, one thread each")

    def save():
        best, means = choose(rows)
        write_json(out, {"preset": args.preset, "rule": "best mean top-1 over rand-val and user-dev",
                         "chosen": best, "mean_top1": means, "note": note, "rows": rows})

    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_one, data_dir, args.preset, *t) for t in todo]
        for f in as_completed(futures):
            r = f.result()
            rows.append(r)
            print(json.dumps(r), flush=True)
            save()
    save()
    best, means = choose(rows)
    for c, m in sorted(means.items(), key=lambda kv: -kv[1]):
        print(f"{c:32s} {m:.4f}")
    print(f"chosen: {best}  ({out})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

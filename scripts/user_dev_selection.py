"""Choose MyoSem's cross-user settings without touching the test users: a development protocol inside training.

    .venv/bin/python scripts/user_dev_selection.py --data-dir ../shared/data/ninapro-db1 --preset quick --seeds 0 1 2

The ``user`` protocol tests on S17-S20. To compare candidate settings honestly,
this script never reads those subjects: it trains on S1-S4, S7-S12 (validation
= their repetition 10) and tests on S13-S16, which are training subjects of the
real protocol. Each candidate is scored with MyoSem and with the LDA baseline on
the same windows, so a setting that helps every model shows as such. The chosen
setting is then run once on the real protocol (``myosem evaluate --protocol user``, or notebook 03).

Candidates: ``default``; ``calibrated`` (per-subject gain calibration of the
inputs, :mod:`myosem_core.data.calibration`, applied to every model's windows);
``calibrated+gain-aug``
(twice the per-channel gain augmentation); ``calibrated+small`` (d_model 32, dropout 0.3);
``adversarial-W`` and ``calibrated+adversarial-W`` (Stage-2 subject-adversarial head with weight W,
:mod:`myosem_core.training.subject_adversary`); ``...+val-subjects`` (validate and stop early on
whole training subjects S11, S12 instead of repetition 10); ``calibrated-rep1+...`` (each subject's
gains from its repetition-1 windows only).
Writes ``<runs>/user-dev-selection-<preset>.json``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

import numpy as np

from myosem_core.io import read_json, write_json
from myosem_core.paths import runs_root
from myosem_core.presets import make_config
from myosem_core.threads import set_threads
from myosem_core.training.augment import AugmentConfig
from myosem_experiments.pipeline import run_myosem
from myosem_core.presets import preset_section

DEV_SPLIT = {"train_subjects": [f"S{i}" for i in (1, 2, 3, 4, *range(7, 13))],
             "test_subjects": [f"S{i}" for i in range(13, 17)]}
DEV_VAL_SUBJECTS = ("S11", "S12")  # the dev split's counterpart of validating on whole subjects (S15, S16)


def candidates(preset: str) -> dict:
    """name -> (data-config changes, Stage-2 config, Stage-3 config[, split options]); None = the preset's."""
    s2, s3 = preset_section(preset, "stage2"), preset_section(preset, "stage3")
    cal = {"subject_calibration": True}
    strong = AugmentConfig(0.6, 0.3, 0.05)  # twice the per-channel gain offset
    return {"default": ({}, None, None),
            "calibrated": (cal, None, None),
            "calibrated+gain-aug": (cal, replace(s2, augment=strong), replace(s3, augment=strong)),
            "calibrated+small": (cal, replace(s2, encoder=replace(s2.encoder, d_model=32, dropout=0.3)), None),
            "adversarial-0.3": ({}, replace(s2, w_subject=0.3), None),
            "adversarial-1": ({}, replace(s2, w_subject=1.0), None),
            "calibrated+adversarial-0.3": (cal, replace(s2, w_subject=0.3), None),
            "calibrated+adversarial-1": (cal, replace(s2, w_subject=1.0), None),
            "calibrated+val-subjects": (cal, None, None, {"val_subjects": list(DEV_VAL_SUBJECTS)}),
            "calibrated+gain-aug+val-subjects": (cal, replace(s2, augment=strong), replace(s3, augment=strong),
                                                 {"val_subjects": list(DEV_VAL_SUBJECTS)}),
            "calibrated-rep1+val-subjects": ({"subject_calibration": {"repetitions": [1]}}, None, None,
                                             {"val_subjects": list(DEV_VAL_SUBJECTS)})}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="ninapro-db1")
    ap.add_argument("--data-dir", default="../shared/data/ninapro-db1")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--candidates", nargs="+", default=None)
    ap.add_argument("--runs", default=None)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    set_threads(args.threads)
    path = runs_root(args.runs) / f"user-dev-selection-{args.preset}.json"
    # rows of earlier calls (other candidates or seeds) are kept; the rows recomputed now replace theirs
    kept = read_json(path)["rows"] if path.is_file() else []
    rows = []
    for name, (data_changes, stage2, stage3, *split_extra) in candidates(args.preset).items():
        if args.candidates and name not in args.candidates:
            continue
        for seed in args.seeds:
            cfg = make_config(args.preset, args.dataset, args.data_dir, seed)
            cfg = replace(cfg, data=replace(cfg.data, **data_changes))
            out = run_myosem(cfg, "user", runs=args.runs, stage2=stage2, stage3=stage3, progress=False, query=False,
                             split_options={**DEV_SPLIT, **(split_extra[0] if split_extra else {})})
            for model, r in out.results.items():
                rows.append({"candidate": name, "seed": seed, "model": model,
                             **{f"e2t_{k}": r["emg_to_text"][k] for k in ("R@1", "R@3", "MRR")}})
                print(json.dumps(rows[-1]))
    fresh = {(r["candidate"], r["seed"], r["model"]) for r in rows}
    rows = [r for r in kept if (r["candidate"], r["seed"], r["model"]) not in fresh] + rows
    summary = {}
    for name in dict.fromkeys(r["candidate"] for r in rows):
        for model in dict.fromkeys(r["model"] for r in rows):
            sel = [r for r in rows if r["candidate"] == name and r["model"] == model]
            summary[f"{name}/{model}"] = {k: [float(np.mean([r[k] for r in sel])), float(np.std([r[k] for r in sel], ddof=1))
                                              if len(sel) > 1 else 0.0] for k in ("e2t_R@1", "e2t_R@3", "e2t_MRR")}
    write_json(path, {"dev_split": DEV_SPLIT, "seeds": sorted({r["seed"] for r in rows}), "rows": rows, "summary": summary})
    print("\ncandidate/model: mean, std over seeds (EMG->text on S13-S16)")
    for k, v in summary.items():
        print(f"{k:28s} " + "  ".join(f"{m} {100 * a:.1f} ± {100 * s:.1f}" for m, (a, s) in v.items()))
    print("written", path)


if __name__ == "__main__":
    main()

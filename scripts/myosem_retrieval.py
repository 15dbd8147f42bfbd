"""Train/evaluate MyoSem (Stages 2-3) and the LDA baseline on one protocol; print both directions' metrics.

    .venv/bin/python scripts/myosem_retrieval.py --dataset ninapro-db1 --data-dir ../shared/data/ninapro-db1 \
        --protocol user --preset quick --seed 0

Prototypes come from Stage 1 (``myosem_core.text.stage1.load_or_train_stage1``);
``--text frozen`` uses the frozen sentence encoder's mean view embedding per
class instead (the "w/o action-semantic pretrain" variant; results are saved
under the model name ``myosem-frozen-text``).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

import numpy as np

from myosem_core.config import make_config
from myosem_core.threads import set_threads
from myosem_core.training import Stage2Config, Stage3Config
from myosem_experiments.pipeline import run_myosem


class FrozenTextSpace:
    """Frozen sentence-encoder prototypes: L2-normalised mean of each class's training views."""

    def __init__(self, class_keys):
        from myosem_core.text.catalog import descriptions_for
        from myosem_core.text.encoder import load_encoder

        self.encoder = load_encoder()
        self.class_keys = tuple(class_keys)
        protos = []
        for cd in descriptions_for(self.class_keys):
            v = self.encoder.encode(cd.trainable_texts()).mean(0)
            protos.append(v / np.linalg.norm(v))
        self.prototypes = np.stack(protos).astype(np.float32)

    def encode_text(self, texts):
        return self.encoder.encode(list(texts))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="synthetic")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--protocol", default="user")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", default=None)
    ap.add_argument("--text", choices=("stage1", "frozen"), default="stage1")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--calibrate", action="store_true",
                    help="per-subject gain calibration of every model's windows (myosem_core.data.calibration)")
    ap.add_argument("--channel-offset", type=float, default=None,
                    help="Stage-2/3 per-channel gain augmentation (normalised units; preset: 0.3)")
    ap.add_argument("--calibrate-repetitions", type=int, nargs="+", default=None,
                    help="calibrate as --calibrate, with each subject's gains from these repetitions only (e.g. 1)")
    ap.add_argument("--val-subjects", nargs="+", default=None,
                    help="user protocol: whole training subjects as the validation split (e.g. S15 S16)")
    args = ap.parse_args(argv)
    set_threads(args.threads)
    cfg = make_config(args.preset, args.dataset, args.data_dir, args.seed)
    if args.calibrate or args.calibrate_repetitions:
        option = {"repetitions": args.calibrate_repetitions} if args.calibrate_repetitions else True
        cfg = replace(cfg, data=replace(cfg.data, subject_calibration=option))
    stage2 = stage3 = None
    if args.channel_offset is not None:
        s2, s3 = Stage2Config.preset_named(args.preset), Stage3Config.preset_named(args.preset)
        stage2 = replace(s2, augment=replace(s2.augment, channel_offset=args.channel_offset))
        stage3 = replace(s3, augment=replace(s3.augment, channel_offset=args.channel_offset))
    from myosem_experiments.pipeline import load_data

    text, name = None, "myosem"  # None: Stage 1 of the same data and split
    if args.text == "frozen":
        ws, _ = load_data(cfg, args.protocol)  # class keys only: the split does not matter
        text, name = FrozenTextSpace(ws.class_keys), "myosem-frozen-text"
    options = {"val_subjects": args.val_subjects} if args.val_subjects else None
    out = run_myosem(cfg, args.protocol, text, runs=args.runs, model_name=name, split_options=options,
                     stage2=stage2, stage3=stage3)
    table = {m: {"emg_to_text": {k: r["emg_to_text"][k] for k in ("R@1", "R@3", "R@5", "MRR")},
                 "text_to_emg": {k: r["text_to_emg"][k] for k in ("R@1", "R@3", "MRR")},
                 **({"heldout": {"R@3_all_candidates": r["heldout"]["emg_to_text_all_candidates"]["R@3"],
                                 "R@3_heldout_candidates": r["heldout"]["emg_to_text_heldout_candidates"]["R@3"]}}
                    if "heldout" in r else {})}
             for m, r in out.results.items()}
    print(json.dumps(table, indent=1))
    print("results in", out.results_folder)


if __name__ == "__main__":
    main()

"""Train and evaluate EMBridge, CPEP and their variants on a protocol split (EMBridge paper, sections 2-4).

Three steps; models are cached in one run folder per training set, keyed by the contents of its windows
(:mod:`.store`), so notebook 07 and the comparison grid's CPEP / EMBridge rows share them:

1. ``load_or_train_mae``: an EMG MAE and a pose MAE, separately, on the
   training windows of the split (held-out gestures / users never seen) (:mod:`.mae`).
2. ``load_or_train_aligner``: a copy of the EMG MAE encoder + a CPEP head or
   a Q-Former (blocks copied from the frozen pose MAE), trained with
   InfoNCE (+ label smoothing) + alpha * (CASCLe | SoftCLIP) + lambda * MPRL (:mod:`.aligner`).
3. ``evaluate_*``: zero-shot kNN (k = 10) over the pose corpus of each
   evaluation set and a linear probe on frozen query-averaged embeddings,
   balanced accuracy (:mod:`.evaluate`, evaluation sets in :mod:`.data`).

Configs and presets are in :mod:`.config`; the experiment grid of notebook 07, which trains and evaluates every
model of its tables through these steps, is :mod:`myosem_experiments.evaluation.embridge`:

    ecfg = preset_section("quick", "embridge")
    run = load_or_train_aligner(ws.subset(split.train), ecfg, "EMBridge", seed=0)
"""

from .aligner import AlignerRun, train_aligner
from .config import VARIANTS, AlignConfig, EMBridgeConfig, MAETrainConfig, variant
from .data import evaluation_sets, fit_normalizers, subsample_training
from .evaluate import evaluate_aligner, evaluate_mae
from .mae import MAERun, load_mae, mae_config_for, train_mae
from .store import ModelStore, load_or_train_aligner, load_or_train_mae

__all__ = ["AlignConfig", "AlignerRun", "EMBridgeConfig", "MAERun", "MAETrainConfig", "ModelStore",
           "VARIANTS", "evaluate_aligner", "evaluate_mae", "evaluation_sets", "fit_normalizers", "load_mae",
           "load_or_train_aligner", "load_or_train_mae", "mae_config_for",
           "subsample_training", "train_aligner", "train_mae", "variant"]

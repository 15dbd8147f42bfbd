"""Reusable evaluation of frozen EMG representations: zero-shot kNN over a pose corpus and linear probes
(:mod:`.probes`), leave-one-subject-out folds and few-shot probes (:mod:`.loso`), 2-D projections
(:mod:`.projection`), and the config of AEMG's LOSO evaluation, a preset section (:mod:`.aemg_config`). The
research processes built on them (the user bar, the AEMG, EMBridge and
cross-device studies) are in :mod:`myosem_experiments.evaluation`."""

from .probes import (
    balanced_accuracy,
    knn_vote,
    linear_probe,
    max_query_similarity,
    zero_shot_knn,
)

__all__ = ["balanced_accuracy", "knn_vote", "linear_probe", "max_query_similarity", "zero_shot_knn"]

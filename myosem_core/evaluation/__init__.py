"""Evaluation of frozen EMG representations: zero-shot kNN over a pose corpus and linear probes."""

from .probes import balanced_accuracy, knn_vote, linear_probe, max_query_similarity, zero_shot_knn

__all__ = ["balanced_accuracy", "knn_vote", "linear_probe", "max_query_similarity", "zero_shot_knn"]

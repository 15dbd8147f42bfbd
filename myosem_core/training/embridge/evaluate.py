"""Balanced accuracy of trained models: zero-shot kNN over the pose corpus (k = 10) and linear probes on frozen
embeddings (:mod:`myosem_core.evaluation.probes`), on every evaluation set of a split (:mod:`.data`)."""

from __future__ import annotations

import numpy as np

from ...data.protocols import Split
from ...data.windows import WindowSet
from ...evaluation.probes import balanced_accuracy, linear_probe, zero_shot_knn
from ...threads import limit_threads
from .aligner import AlignerRun
from .data import evaluation_sets
from .mae import MAERun


def evaluate_aligner(run: AlignerRun, ws: WindowSet, split: Split, k: int = 10, seed: int = 0,
                     keep_predictions: bool = False, threads: int = 1) -> dict:
    """Zero-shot kNN and linear-probe balanced accuracy on every evaluation set of the split."""
    with limit_threads(threads, native="all"):
        return _evaluate_aligner(run, ws, split, k, seed, keep_predictions)


def _evaluate_aligner(run: AlignerRun, ws: WindowSet, split: Split, k: int, seed: int, keep_predictions: bool) -> dict:
    out = {}
    for set_name, (probe_idx, eval_idx) in evaluation_sets(ws, split).items():
        ev = ws.subset(eval_idx)
        Q = run.queries(ev)
        corpus = run.pose.embed(ev)  # the pose corpus of the evaluation split
        zs_pred = zero_shot_knn(Q, corpus, ev.y, k)
        feats_probe = run.embed(ws.subset(probe_idx))
        lp_pred = linear_probe(feats_probe, ws.y[probe_idx], Q.mean(axis=1), seed)
        out[set_name] = {"zs": balanced_accuracy(ev.y, zs_pred), "lp": balanced_accuracy(ev.y, lp_pred),
                         "n_eval": int(len(eval_idx)), "n_probe": int(len(probe_idx))}
        if Q.shape[1] > 1:  # a diagnostic, not a score: it reads each evaluated window's own pose
            paired = zero_shot_knn(paired_query_choice(Q, corpus), corpus, ev.y, k)
            out[set_name]["zs_paired_query"] = balanced_accuracy(ev.y, paired)
        if keep_predictions:
            out[set_name].update(y_true=ev.y.tolist(), zs_pred=zs_pred.tolist())
    return out


def paired_query_choice(queries: np.ndarray, poses: np.ndarray) -> np.ndarray:
    """(N, 1, D): each window's query closest to its own paired pose embedding (poses (N, D)).

    This is the rule EMBridge's InfoNCE picks its query by during training. At test time the paired pose is
    what zero-shot retrieval is asked to find, so a score made with this choice reads the answer: it shows
    how much of a model's training-time fit depends on the rule, not how well it retrieves.
    """
    unit = poses / (np.linalg.norm(poses, axis=1, keepdims=True) + 1e-12)
    best = np.einsum("nmd,nd->nm", queries, unit).argmax(axis=1)
    return queries[np.arange(len(queries)), best][:, None, :]


def evaluate_mae(run: MAERun, ws: WindowSet, split: Split, seed: int = 0, threads: int = 1) -> dict:
    """Linear-probe balanced accuracy of a frozen MAE (EMG-MAE row; pose MAE = the upper bound)."""
    out = {}
    with limit_threads(threads, native="all"):
        for set_name, (probe_idx, eval_idx) in evaluation_sets(ws, split).items():
            pred = linear_probe(run.embed(ws.subset(probe_idx)), ws.y[probe_idx], run.embed(ws.subset(eval_idx)), seed)
            out[set_name] = {"lp": balanced_accuracy(ws.y[eval_idx], pred), "n_eval": int(len(eval_idx))}
    return out

"""How good is a text space: held-out paraphrase -> class retrieval and view consistency.

Both work on embeddings already computed (unit vectors), so the same code
scores the frozen encoder (before) and the fine-tuned one (after).

- Retrieval: each held-out paraphrase (never seen in training) queries the class
  prototypes; R@1, R@3 and MRR (ranks from :mod:`myosem_core.metrics`, ties
  counted against the query). With held-out classes (``class`` protocol) their
  queries are also reported separately, against all prototypes and against the
  held-out prototypes only.
- View consistency: per class the embedding of each view (L2-normalised mean of
  its texts); ``class_matrix[i, j]`` is the mean cosine between a view of class i
  and a *different* view of class j, so its diagonal says how well the views
  of one class agree and the off-diagonal how much classes blur.
"""

from __future__ import annotations

import numpy as np

from ..metrics import retrieval_summary, true_ranks
from ..scoring import unit_rows
from .views import VIEWS


def view_embeddings(emb: np.ndarray, class_index: np.ndarray, view: np.ndarray, n_classes: int,
                    views: tuple[str, ...] = VIEWS) -> np.ndarray:
    """(K, V, D) per-class view embeddings: L2-normalised mean of the view's texts; NaN where a view has no text."""
    emb = np.asarray(emb, dtype=np.float64)
    out = np.full((n_classes, len(views), emb.shape[1]), np.nan)
    for k in range(n_classes):
        for j, v in enumerate(views):
            sel = (class_index == k) & (view == v)
            if sel.any():
                out[k, j] = unit_rows(emb[sel].mean(axis=0))
    return out


def class_prototypes(emb: np.ndarray, class_index: np.ndarray, view: np.ndarray, n_classes: int,
                     views: tuple[str, ...] = VIEWS) -> np.ndarray:
    """(K, D) float32 prototypes: per class the L2-normalised mean of its view embeddings (views it has)."""
    ve = view_embeddings(emb, class_index, view, n_classes, views)
    present = ~np.isnan(ve[:, :, 0])
    if not present.any(axis=1).all():
        missing = np.flatnonzero(~present.any(axis=1)).tolist()
        raise ValueError(f"classes {missing} have no view text; cannot form a prototype")
    mean = np.nansum(ve, axis=1) / present.sum(axis=1, keepdims=True)
    return unit_rows(mean).astype(np.float32)


def paraphrase_retrieval(query_emb: np.ndarray, query_class: np.ndarray, prototypes: np.ndarray,
                         class_keys: tuple[str, ...] | list[str], heldout_classes=()) -> dict:
    """R@1/R@3/MRR of held-out paraphrases against class prototypes, overall and per class group."""
    scores = np.asarray(query_emb, dtype=np.float64) @ np.asarray(prototypes, dtype=np.float64).T
    ranks = true_ranks(scores, query_class)
    ks = tuple(k for k in (1, 3) if k <= len(class_keys))
    out = {"all": {**retrieval_summary(ranks, ks), "n_queries": int(len(ranks)), "n_candidates": len(class_keys)}}
    held = np.array([class_keys[c] in set(heldout_classes) for c in query_class])
    if held.any():
        out["seen"] = {**retrieval_summary(ranks[~held], ks), "n_queries": int((~held).sum()),
                       "n_candidates": len(class_keys)}
        out["heldout"] = {**retrieval_summary(ranks[held], ks), "n_queries": int(held.sum()),
                          "n_candidates": len(class_keys)}
        cols = np.array([i for i, k in enumerate(class_keys) if k in set(heldout_classes)])
        remap = {c: j for j, c in enumerate(cols)}
        sub_true = np.array([remap[c] for c in query_class[held]])
        sub_ranks = true_ranks(scores[held][:, cols], sub_true)
        sub_ks = tuple(k for k in (1, 3) if k <= len(cols))
        out["heldout_only_candidates"] = {**retrieval_summary(sub_ranks, sub_ks), "n_queries": int(held.sum()),
                                          "n_candidates": int(len(cols))}
    out["ranks"] = ranks.tolist()
    return out


def view_consistency(view_emb: np.ndarray, views: tuple[str, ...] = VIEWS) -> dict:
    """View-agreement statistics of (K, V, D) view embeddings (NaN rows = missing views)."""
    K, V, _ = view_emb.shape
    present = ~np.isnan(view_emb[:, :, 0])
    ve = np.nan_to_num(view_emb)
    sims = np.einsum("iad,jbd->ijab", ve, ve)  # (K, K, V, V)
    valid = present[:, None, :, None] & present[None, :, None, :] & ~np.eye(V, dtype=bool)[None, None]
    class_matrix = np.where(valid, sims, 0).sum(axis=(2, 3)) / np.maximum(valid.sum(axis=(2, 3)), 1)
    same = np.einsum("iab->ab", np.where(present[:, :, None] & present[:, None, :], sims[np.arange(K), np.arange(K)], 0))
    n_same = (present[:, :, None] & present[:, None, :]).sum(axis=0)
    view_matrix = np.where(n_same > 0, same / np.maximum(n_same, 1), np.nan)
    diag = float(np.mean(np.diag(class_matrix)))
    off = float(class_matrix[~np.eye(K, dtype=bool)].mean()) if K > 1 else float("nan")
    return {"views": list(views), "class_matrix": class_matrix.tolist(), "view_matrix": view_matrix.tolist(),
            "same_class_mean": diag, "other_class_mean": off, "gap": diag - off}


def evaluate_embeddings(emb: np.ndarray, class_index: np.ndarray, view: np.ndarray,
                        class_keys: tuple[str, ...] | list[str], heldout_classes=(),
                        prototype_views: tuple[str, ...] = VIEWS) -> dict:
    """Retrieval and view consistency of one encoder state from all-text embeddings.

    ``view`` marks held-out paraphrases as ``"heldout"``; they are queries only and
    never enter a prototype.
    """
    K = len(class_keys)
    proto_sel = view != "heldout"
    protos = class_prototypes(emb[proto_sel], class_index[proto_sel], view[proto_sel], K, tuple(prototype_views))
    q = view == "heldout"
    return {
        "retrieval": paraphrase_retrieval(emb[q], class_index[q], protos, class_keys, heldout_classes),
        "consistency": view_consistency(view_embeddings(emb[proto_sel], class_index[proto_sel], view[proto_sel], K)),
    }

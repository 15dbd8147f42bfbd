"""Retrieval metrics from a score matrix: Recall@K, MRR, bootstrap std, balanced text->EMG episodes.

Convention: ``scores`` is (n_queries, n_candidates), higher = more similar, and
``true`` holds each query's correct candidate column. A tie with the correct
candidate counts against the query (rank = number of candidates scoring at
least as high as the correct one), so a constant scorer gets no credit.
"""

from __future__ import annotations

import numpy as np


def true_ranks(scores: np.ndarray, true: np.ndarray) -> np.ndarray:
    """1-based rank of the correct candidate of every query (ties pessimistic)."""
    scores = np.asarray(scores, dtype=np.float64)
    true = np.asarray(true, dtype=np.int64)
    if scores.ndim != 2 or true.shape != (scores.shape[0],):
        raise ValueError(f"expected scores (Q, N) and true (Q,), got {scores.shape} and {true.shape}")
    correct = scores[np.arange(len(true)), true]
    return (scores >= correct[:, None]).sum(axis=1)


def recall_at_k(ranks: np.ndarray, k: int) -> float:
    """Fraction of queries whose correct candidate is among the top ``k``."""
    return float(np.mean(np.asarray(ranks) <= k))


def mrr(ranks: np.ndarray) -> float:
    """Mean reciprocal rank."""
    return float(np.mean(1.0 / np.asarray(ranks, dtype=np.float64)))


def retrieval_summary(ranks: np.ndarray, ks=(1, 3, 5)) -> dict[str, float]:
    """``{"R@1": ..., "R@3": ..., "MRR": ...}`` of a rank vector (K larger than the candidates is left out)."""
    out = {f"R@{k}": recall_at_k(ranks, k) for k in ks}
    out["MRR"] = mrr(ranks)
    return out


def bootstrap_std(ranks: np.ndarray, ks=(1, 3, 5), n_boot: int = 1000, seed: int = 0) -> dict[str, float]:
    """Standard deviation of each summary metric over bootstrap resamples of the queries."""
    ranks = np.asarray(ranks)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(ranks), size=(n_boot, len(ranks)))
    boot = ranks[idx]  # (n_boot, Q)
    out = {f"R@{k}": float(np.std((boot <= k).mean(axis=1), ddof=1)) for k in ks}
    out["MRR"] = float(np.std((1.0 / boot).mean(axis=1), ddof=1))
    return out


def emg_to_text(scores: np.ndarray, true: np.ndarray, ks=(1, 3, 5), n_boot: int = 1000, seed: int = 0) -> dict:
    """Each window ranks all candidate prototypes: metrics, their bootstrap std and the query count."""
    ranks = true_ranks(scores, true)
    ks = tuple(k for k in ks if k <= scores.shape[1])
    return {**retrieval_summary(ranks, ks), "std": bootstrap_std(ranks, ks, n_boot, seed), "n_queries": int(len(ranks)),
            "n_candidates": int(scores.shape[1])}


def sample_episodes(y: np.ndarray, classes, n_episodes: int = 100, seed: int = 0) -> np.ndarray:
    """(n_episodes, len(classes)) window indices: per episode one random window of each class, in class order."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    pools = []
    for c in classes:
        pool = np.flatnonzero(y == c)
        if pool.size == 0:
            raise ValueError(f"class {c} has no test window; it cannot join a balanced episode")
        pools.append(pool)
    return np.stack([np.array([rng.choice(p) for p in pools]) for _ in range(n_episodes)])


def text_to_emg(scores: np.ndarray, y: np.ndarray, classes=None, n_episodes: int = 100, ks=(1, 3),
                seed: int = 0) -> dict:
    """Balanced episodes: one window per class forms the candidates; every class's prototype queries.

    ``scores`` is (N windows, K classes) (window-prototype similarity); ``classes``
    the class columns taking part (default: every class with a window). Returns
    the mean over episodes and its standard error.
    """
    scores = np.asarray(scores)
    classes = np.unique(y) if classes is None else np.asarray(classes)
    episodes = sample_episodes(y, classes, n_episodes, seed)
    ks = tuple(k for k in ks if k <= len(classes))
    per = []
    for cand in episodes:
        s = scores[cand][:, classes].T  # (queries = classes, candidates = one window per class)
        per.append(retrieval_summary(true_ranks(s, np.arange(len(classes))), ks))
    keys = list(per[0])
    vals = {k: np.array([p[k] for p in per]) for k in keys}
    se = {k: float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0 for k, v in vals.items()}
    return {**{k: float(v.mean()) for k, v in vals.items()}, "se": se, "n_episodes": int(n_episodes),
            "n_candidates": int(len(classes))}

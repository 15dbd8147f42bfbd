"""Zero-shot kNN classification over a pose corpus and linear probing (EMBridge section 3.1).

- Zero-shot: every EMG window retrieves the ``k`` (= 10) pose windows of the
  evaluation split whose frozen pose embeddings are most cosine-similar to it
  and takes the majority label; ties go to the tied class whose best neighbour
  ranks highest. With M query embeddings per window the similarity to a pose
  is the best query's cosine (max over M).
- Linear probe: multinomial logistic regression (scikit-learn) on frozen
  features, standardised with training statistics.
- Metric: balanced accuracy (mean per-class recall).
"""

from __future__ import annotations

import numpy as np


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean recall over the classes present in ``y_true``."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]))


def knn_vote(similarity: np.ndarray, corpus_labels: np.ndarray, k: int = 10) -> np.ndarray:
    """Majority label of each row's ``k`` most similar corpus items (ties: the best-ranked tied class)."""
    similarity, corpus_labels = np.asarray(similarity), np.asarray(corpus_labels)
    k = min(int(k), similarity.shape[1])
    top = np.argsort(-similarity, axis=1, kind="stable")[:, :k]  # ranked neighbours (N, k)
    classes, codes = np.unique(corpus_labels, return_inverse=True)
    votes = codes[top]  # (N, k) class codes, best neighbour first
    hit = votes[:, :, None] == np.arange(len(classes))[None, None, :]  # (N, k, K)
    counts = hit.sum(axis=1)
    first_rank = np.where(hit.any(axis=1), hit.argmax(axis=1), k)  # rank of each class's best neighbour
    return classes[np.argmax(counts * (k + 1) - first_rank, axis=1)]  # most votes, then the best rank


def max_query_similarity(queries: np.ndarray, corpus: np.ndarray) -> np.ndarray:
    """Cosine similarity (N, N_corpus) of query sets (N, M, D) or vectors (N, D) to corpus vectors, max over M."""
    q = np.asarray(queries, dtype=np.float32)
    if q.ndim == 2:
        q = q[:, None, :]
    q = q / np.linalg.norm(q, axis=-1, keepdims=True).clip(1e-12)
    c = np.asarray(corpus, dtype=np.float32)
    c = c / np.linalg.norm(c, axis=-1, keepdims=True).clip(1e-12)
    return np.einsum("nmd,kd->nmk", q, c).max(axis=1)


def zero_shot_knn(queries: np.ndarray, corpus: np.ndarray, corpus_labels: np.ndarray, k: int = 10,
                  chunk: int = 256) -> np.ndarray:
    """Predicted labels of EMG embeddings by kNN vote over pose-corpus embeddings (chunked over queries)."""
    return np.concatenate([knn_vote(max_query_similarity(queries[i:i + chunk], corpus), corpus_labels, k)
                           for i in range(0, len(queries), chunk)])


def linear_probe(train_X: np.ndarray, train_y: np.ndarray, test_X: np.ndarray, seed: int = 0,
                 C: float = 1.0, max_iter: int = 2000) -> np.ndarray:
    """Predicted test labels of a logistic regression fitted on standardised frozen training features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter, random_state=seed))
    clf.fit(np.asarray(train_X, dtype=np.float64), np.asarray(train_y))
    return clf.predict(np.asarray(test_X, dtype=np.float64))

"""Class-balanced assignment of a new user's unlabeled windows to the classes (Sinkhorn-Knopp).

    Q = balanced_assignment(logits, segment)   # (N, K) soft labels; columns share the windows equally
    y = user_labels(adapt, scores)             # hard labels of a user's adaptation windows

A model trained on other people tends to send most of a new user's windows to a few classes.
If the user's adaptation windows hold every movement about equally often (a calibration round that
prompts each movement once or a few times does), the assignment can be made to respect that: Q
maximises ``sum Q * logits + entropy`` under the constraint that every class takes 1/K of the
windows (Cuturi 2013; the SwAV and SeLa assignments). The windows of one contiguous movement
(``segment``) share one row: their logits are averaged, and the segment counts as many windows as it
holds. Reading the balance of DB1's blocks is an assumption a real user's data may break.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ..data.new_user import AdaptationWindows
from ..errors import DataError

#: floor of a probability before its log (a scoring retriever's zero probabilities)
LOG_FLOOR = 1e-6


def log_probabilities(p: np.ndarray) -> np.ndarray:
    """``log p`` with ``p`` floored at :data:`LOG_FLOOR`."""
    return np.log(np.maximum(p, LOG_FLOOR))


def user_labels(adapt: AdaptationWindows, scores: np.ndarray | None) -> np.ndarray:
    """Hard labels of a user's adaptation windows: their own when labelled, else the balanced assignment of
    ``scores`` (N, K), a model's probabilities of those windows."""
    if adapt.labelled:
        return np.asarray(adapt.y, np.int64)
    return balanced_assignment(log_probabilities(scores), adapt.segment).argmax(1)


def balanced_assignment(logits: np.ndarray, segment: np.ndarray | None = None, n_iter: int = 200,
                        tol: float = 1e-6) -> np.ndarray:
    """(N, K) soft assignment of windows to classes, each class taking an equal share of the windows.

    ``logits`` (N, K): the model's scores as log-likelihoods up to a constant (cosines / temperature,
    log-probabilities). ``segment`` (N,): windows with one id share one assignment (None: every window
    alone). Rows sum to 1; column sums are N / K up to ``tol``.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or not len(logits):
        raise DataError("<adaptation>", "logits", f"expected a non-empty (windows, classes) array, got {logits.shape}")
    if not np.all(np.isfinite(logits)):
        raise DataError("<adaptation>", "logits", "logits must be finite (use log-probabilities floored above -inf)")
    N, K = logits.shape
    segment = np.arange(N) if segment is None else np.asarray(segment)
    _, inverse, size = np.unique(segment, return_inverse=True, return_counts=True)
    pooled = np.zeros((len(size), K))
    np.add.at(pooled, inverse, logits)
    pooled /= size[:, None]
    log_rows = np.log(size / N)  # a segment's mass is its share of the windows
    log_cols = np.full(K, -np.log(K))
    u, v = np.zeros(len(size)), np.zeros(K)
    for _ in range(n_iter):
        u = log_rows - logsumexp(pooled + v[None, :], axis=1)
        v_new = log_cols - logsumexp(pooled + u[:, None], axis=0)
        done = np.max(np.abs(v_new - v)) < tol
        v = v_new
        if done:
            break
    log_q = pooled + u[:, None] + v[None, :]
    q = np.exp(log_q - logsumexp(log_q, axis=1, keepdims=True))
    return q[inverse]

"""A new user's own class prototypes in a retriever's embedding space, starting from the text prototypes.

    P_user = few_shot_prototypes(Z, y, P, prior=1.0)            # labelled windows (one repetition)
    P_user = refine_prototypes(Z, P, segment, rounds=5)         # unlabeled windows (balanced k-means)

Retrieval keeps ranking one prototype per class; only where each class sits for this user moves.
A prototype becomes the unit mean of ``prior`` x the text prototype and the user's class centroid
(the unit mean of that class's window embeddings), so the text still anchors a class the user's
windows say little about. Unlabeled windows are assigned by :func:`balanced_assignment` to the current
prototypes, the centroids are recomputed from that soft assignment, and so on (k-means with balanced
clusters, started at the text prototypes, so cluster k stays class k).
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from ..scoring import unit_rows
from .balanced import balanced_assignment


def class_centroids(Z: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(K, D) unit rows: each class's weighted mean of the unit window embeddings ``Z`` (N, D); ``weights`` (N, K)."""
    Z = unit_rows(np.asarray(Z, np.float64))
    mass = weights.sum(0)
    if np.any(mass <= 0):
        raise DataError("<adaptation>", "labels", f"classes {np.flatnonzero(mass <= 0).tolist()} have no window")
    return unit_rows(weights.T @ Z / mass[:, None])


def blend(prototypes: np.ndarray, centroids: np.ndarray, prior: float) -> np.ndarray:
    """Unit rows of ``prior`` x prototypes + centroids (prior 0: the centroids alone)."""
    return unit_rows(prior * np.asarray(prototypes, np.float64) + centroids)


def few_shot_prototypes(Z: np.ndarray, y: np.ndarray, prototypes: np.ndarray, prior: float = 1.0) -> np.ndarray:
    """Prototypes moved towards the user's labelled windows: ``Z`` (N, D) embeddings, ``y`` (N,) class indices."""
    K = len(prototypes)
    y = np.asarray(y)
    if y.min() < 0 or y.max() >= K:
        raise DataError("<adaptation>", "y", f"labels must index the {K} prototypes, got {y.min()}..{y.max()}")
    onehot = np.eye(K)[y]
    missing = onehot.sum(0) == 0
    if missing.any():  # a class without a labelled window keeps its text prototype
        onehot = np.concatenate([onehot, np.eye(K)[missing]])
        Z = np.concatenate([unit_rows(np.asarray(Z, np.float64)), np.asarray(prototypes, np.float64)[missing]])
    return blend(prototypes, class_centroids(Z, onehot), prior)


def refine_prototypes(Z: np.ndarray, prototypes: np.ndarray, segment: np.ndarray | None = None, rounds: int = 5,
                      temperature: float = 0.07, prior: float = 1.0) -> np.ndarray:
    """Prototypes refined on unlabeled windows by balanced k-means started at ``prototypes`` (``rounds`` >= 1)."""
    Z = unit_rows(np.asarray(Z, np.float64))
    P = unit_rows(np.asarray(prototypes, np.float64))
    current = P
    for _ in range(rounds):
        Q = balanced_assignment(Z @ current.T / temperature, segment)
        current = blend(P, class_centroids(Z, Q), prior)
    return current

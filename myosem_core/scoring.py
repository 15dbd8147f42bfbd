"""Scores of EMG windows against text prototypes: cosines, per-window posteriors, a fitted retriever's scores.

    Z = unit_rows(embeddings)                    # rows of unit length
    C = window_cosines(Z, P)                     # (N, K) cosines with the class prototypes
    S = window_posteriors(C)                     # (N, K) each window's softmax over the candidates
    S = retriever_scores(retriever, test_ws, P)  # what every model of the comparison is ranked by
"""

from __future__ import annotations

import numpy as np

from .data.windows import WindowSet
from .errors import ConfigError, DataError

#: temperature of the per-window softmax over the candidates (Stage 3's training temperature)
SCORE_TEMPERATURE = 0.07


def unit_rows(Z: np.ndarray) -> np.ndarray:
    """``Z`` with every row scaled to unit length (a zero row stays zero), in ``Z``'s own float dtype."""
    Z = np.asarray(Z)
    return Z / np.maximum(np.linalg.norm(Z, axis=-1, keepdims=True), 1e-12)


def window_posteriors(cosines: np.ndarray, temperature: float = SCORE_TEMPERATURE) -> np.ndarray:
    """Each window's softmax over the candidate texts: scores comparable across windows.

    A cosine ranks texts for one window well, but across windows it is not comparable:
    some windows (hubs) are close to every prototype, and text->EMG, which ranks windows
    for one text, favours them. The softmax turns a window's row into its posterior over
    the candidates, as a classifier's probabilities are. It reads that window's own scores
    only (no training or test statistics), and leaves each window's ranking of the texts
    (EMG->text) unchanged.
    """
    z = np.asarray(cosines, np.float64) / temperature
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def window_cosines(Z: np.ndarray, prototypes: np.ndarray) -> np.ndarray:
    """(N, K) cosines of window embeddings ``Z`` (normalised here, in float64) with ``prototypes`` (used as given)."""
    return unit_rows(np.asarray(Z, dtype=np.float64)) @ np.asarray(prototypes, np.float64).T


def retriever_scores(retriever, ws: WindowSet, prototypes: np.ndarray | None = None) -> np.ndarray:
    """(N, K) scores of a fitted retriever: its own ``scores``, or the per-window posteriors
    (:func:`window_posteriors`) of the cosines of ``embed`` with the prototypes."""
    if hasattr(retriever, "scores"):
        return np.asarray(retriever.scores(ws))
    if prototypes is None:
        raise ConfigError(f"{type(retriever).__name__} embeds windows; scoring it needs the prototypes")
    return window_posteriors(window_cosines(retriever.embed(ws), prototypes))


def cosine_matrix(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row of ``A`` with every row of ``B`` (float64)."""
    return unit_rows(np.asarray(A, np.float64)) @ unit_rows(np.asarray(B, np.float64)).T


def prototypes_for(text_space, class_keys) -> np.ndarray:
    """Rows of ``text_space.prototypes`` reordered to ``class_keys`` (an array is returned as is)."""
    if isinstance(text_space, np.ndarray):
        return text_space.astype(np.float32)
    index = {k: i for i, k in enumerate(text_space.class_keys)}
    missing = [k for k in class_keys if k not in index]
    if missing:
        raise DataError("<text space>", "class_keys", f"no prototype for {missing}; Stage 1 must cover every class")
    P = np.asarray(text_space.prototypes, dtype=np.float32)
    return P[[index[k] for k in class_keys]]

"""The retrieval interface of every EMG encoder: a new model is one entry of the registry
(declared in :mod:`myosem_core.baselines.registry`; MyoSem's own entry is :mod:`myosem_core.baselines.myosem`).

A retriever is any object with

- ``fit(train_ws, val_ws, prototypes)`` (prototypes: (K, D) unit rows in class-key order), and
- either ``scores(ws) -> (N, K)`` (higher = more similar) or ``embed(ws) -> (N, D)``
  (then scores are cosines with the prototypes).

    register_retriever("tcn", lambda **kw: TCNRetriever(**kw))
    r = make_retriever("lda", seed=0).fit(train_ws, val_ws, P)
    S = retriever_scores(r, test_ws, P)
"""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from .baselines.registry import RETRIEVERS
from .data.windows import WindowSet
from .errors import ConfigError


class Retriever(Protocol):
    def fit(self, train_ws: WindowSet, val_ws: WindowSet, prototypes: np.ndarray) -> "Retriever": ...


def register_retriever(name: str, factory: Callable[..., Retriever]) -> None:
    """Add (or replace) a registry entry at run time; the book's entries are declared in
    :mod:`myosem_core.baselines.registry`."""
    RETRIEVERS[name] = factory


def make_retriever(name: str, **options) -> Retriever:
    """An unfitted retriever of registry entry ``name``; an unknown name is a :class:`ConfigError`."""
    if name not in RETRIEVERS:
        raise ConfigError(f"unknown retriever {name!r}; expected one of {sorted(RETRIEVERS)}")
    return RETRIEVERS[name](**options)


#: temperature of the per-window softmax over the candidates (Stage 3's training temperature)
SCORE_TEMPERATURE = 0.07


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
    Z = np.asarray(Z, dtype=np.float64)
    Z = Z / (np.linalg.norm(Z, axis=1, keepdims=True) + 1e-12)
    return Z @ np.asarray(prototypes, np.float64).T


def retriever_scores(retriever, ws: WindowSet, prototypes: np.ndarray | None = None) -> np.ndarray:
    """(N, K) scores of a fitted retriever: its own ``scores``, or the per-window posteriors
    (:func:`window_posteriors`) of the cosines of ``embed`` with the prototypes."""
    if hasattr(retriever, "scores"):
        return np.asarray(retriever.scores(ws))
    if prototypes is None:
        raise ConfigError(f"{type(retriever).__name__} embeds windows; scoring it needs the prototypes")
    return window_posteriors(window_cosines(retriever.embed(ws), prototypes))

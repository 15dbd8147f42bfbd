"""Calibrated stacking for held-out classes (Chao et al. 2016, "An empirical study and analysis of generalized
zero-shot learning for object recognition in the wild").

A model aligned to the prototypes of the classes it trained on scores those classes higher than any class it
never saw: under the ``class`` protocol a held-out window almost never ranks its own class first. Calibrated
stacking subtracts one constant ``gamma`` from the cosines of the trained classes before the per-window
softmax, trading seen-class accuracy for unseen-class accuracy.

``gamma`` must not be read off the held-out classes. :func:`pseudo_heldout_classes` picks some of the
*trained* classes to play the held-out ones; a second model trained without them is scored on windows that
are not test windows (the remaining classes' validation repetitions, the pseudo-held-out classes' training
and validation repetitions), and :func:`choose_penalty` takes the ``gamma`` with the best harmonic mean of
the two top-1 accuracies, the usual criterion of generalised zero-shot learning.
"""

from __future__ import annotations

import numpy as np

from .errors import ConfigError
from .scoring import SCORE_TEMPERATURE, window_cosines, window_posteriors

#: the penalties tried, in cosine units (cosines lie in [-1, 1]; beyond ~0.6 no trained class wins anywhere)
PENALTY_GRID = tuple(np.round(np.arange(0.0, 0.61, 0.02), 2).tolist())


def pseudo_heldout_classes(seen: list[str], n_heldout: int, n_classes: int) -> list[str]:
    """The trained classes that play the held-out ones: the protocol's share of them, evenly spread.

    ``round(len(seen) * n_heldout / n_classes)`` classes (at least 1, leaving at least 2 trained), at
    positions ``floor((i + 1/2) * len(seen) / count)``: the same rule places DB1's held-out classes
    (2, 5, 8, 11 of 12).
    """
    seen = list(seen)
    if len(seen) < 3 or not 0 < n_heldout < n_classes:
        raise ConfigError(f"calibrated stacking needs >= 3 trained classes and 0 < held-out < all; got "
                          f"{len(seen)} trained, {n_heldout} held out of {n_classes}")
    count = min(max(1, round(len(seen) * n_heldout / n_classes)), len(seen) - 2)
    step = len(seen) / count
    return [seen[int((i + 0.5) * step)] for i in range(count)]


def harmonic_mean(a: float, b: float) -> float:
    """2ab / (a + b); 0 when both are 0."""
    return 0.0 if a + b == 0 else 2 * a * b / (a + b)


def penalise_trained(cosines: np.ndarray, trained: np.ndarray, gamma: float) -> np.ndarray:
    """``cosines`` (N, K) with ``gamma`` subtracted from the columns of the trained classes (``trained``: (K,) bool)."""
    trained = np.asarray(trained, dtype=bool)
    cosines = np.asarray(cosines, np.float64)
    if trained.shape != (cosines.shape[1],):
        raise ConfigError(f"trained mask has shape {trained.shape}; expected ({cosines.shape[1]},), one per candidate")
    return cosines - float(gamma) * trained


def penalised_posteriors(cosines: np.ndarray, trained: np.ndarray, gamma: float,
                         temperature: float = SCORE_TEMPERATURE) -> np.ndarray:
    """Per-window posteriors (:func:`~myosem_core.scoring.window_posteriors`) after the penalty."""
    return window_posteriors(penalise_trained(cosines, trained, gamma), temperature)


def choose_penalty(seen_cosines: np.ndarray, seen_y: np.ndarray, unseen_cosines: np.ndarray, unseen_y: np.ndarray,
                   trained: np.ndarray, grid=PENALTY_GRID) -> dict:
    """The ``gamma`` of ``grid`` with the best harmonic mean of top-1 over all candidates on trained-class
    windows (``seen_*``) and on windows of classes the model did not train on (``unseen_*``); ties: the smallest.

    Returns ``{"gamma", "harmonic", "curve": [{"gamma", "seen_top1", "unseen_top1", "harmonic"}, ...]}``.
    """
    if len(seen_y) == 0 or len(unseen_y) == 0:
        raise ConfigError("choose_penalty needs windows of trained and of untrained classes")
    curve = []
    for g in grid:
        seen = float(np.mean(np.argmax(penalise_trained(seen_cosines, trained, g), 1) == np.asarray(seen_y)))
        unseen = float(np.mean(np.argmax(penalise_trained(unseen_cosines, trained, g), 1) == np.asarray(unseen_y)))
        curve.append({"gamma": float(g), "seen_top1": seen, "unseen_top1": unseen, "harmonic": harmonic_mean(seen, unseen)})
    best = max(curve, key=lambda r: (r["harmonic"], -r["gamma"]))
    return {"gamma": best["gamma"], "harmonic": best["harmonic"], "curve": curve}


class PenalisedRetriever:
    """A fitted embedding retriever whose scores are :func:`penalised_posteriors` of its cosines."""

    def __init__(self, base, prototypes: np.ndarray, trained: np.ndarray, gamma: float):
        self.base, self.trained, self.gamma = base, np.asarray(trained, bool), float(gamma)
        self.prototypes = prototypes  # as retriever_scores uses them: gamma 0 is MyoSem's own scoring

    def scores(self, ws) -> np.ndarray:
        return penalised_posteriors(window_cosines(self.base.embed(ws), self.prototypes), self.trained, self.gamma)

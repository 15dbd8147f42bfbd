"""A head of the new user's own: LDA on that user's adaptation windows, combined with an adapted model's scores.

    S = with_user_head(S_test, adapt, S_adapt, test, weight=0.5)   # (test windows, K) posteriors

The head is LDA on time-domain features (:class:`~myosem_core.baselines.classical.LDARetriever`) with a
shrunk covariance, since a new user gives few windows per movement (one repetition: about 5 for 40
features). It learns the labels of the labelled repetition, or, for unlabeled windows, the class-balanced
assignment (:func:`~.balanced.balanced_assignment`, one label per contiguous movement) of the adapted
model's own scores of those windows. Its log-probabilities, times ``weight``, are added to the model's
log-scores, and each window's sum is normalised again into a posterior.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..baselines.classical import LDARetriever
from ..data.new_user import AdaptationWindows
from ..data.windows import WindowSet
from .balanced import log_probabilities, user_labels


def with_user_head(test_scores: np.ndarray, adapt: AdaptationWindows, adapt_scores: np.ndarray | None, test: WindowSet,
                   weight: float) -> np.ndarray:
    """(N test, K) posteriors of ``log test_scores + weight * log head(test)``, the head fitted on ``adapt``
    (``adapt_scores``: the adapted model's scores of unlabeled adaptation windows, which label them)."""
    head = LDARetriever(shrinkage="auto").fit(replace(adapt.windows, y=user_labels(adapt, adapt_scores)))
    logits = log_probabilities(test_scores) + weight * log_probabilities(head.scores(test))
    logits -= logits.max(1, keepdims=True)
    out = np.exp(logits)
    return out / out.sum(1, keepdims=True)

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
from .balanced import balanced_assignment

#: floor of a probability before its log
LOG_FLOOR = 1e-6


def _log(p: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(p, LOG_FLOOR))


def user_head_labels(adapt: AdaptationWindows, adapt_scores: np.ndarray | None) -> np.ndarray:
    """The labels the head learns: the repetition's own, or the balanced assignment of ``adapt_scores`` (N, K), the
    adapted model's scores of the unlabeled windows."""
    if adapt.labelled:
        return np.asarray(adapt.y, np.int64)
    return balanced_assignment(_log(adapt_scores), adapt.segment).argmax(1)


def with_user_head(test_scores: np.ndarray, adapt: AdaptationWindows, adapt_scores: np.ndarray | None, test: WindowSet,
                   weight: float) -> np.ndarray:
    """(N test, K) posteriors of ``log test_scores + weight * log head(test)``, the head fitted on ``adapt``."""
    labels = user_head_labels(adapt, adapt_scores)
    head = LDARetriever(shrinkage="auto").fit(replace(adapt.windows, y=labels))
    logits = _log(test_scores) + weight * _log(head.scores(test))
    logits -= logits.max(1, keepdims=True)
    out = np.exp(logits)
    return out / out.sum(1, keepdims=True)

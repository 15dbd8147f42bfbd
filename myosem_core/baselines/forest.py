"""Classical anchor: a random forest on per-channel time-domain features, ranking classes by probability.

Features per channel (Hudgins et al. 1993; Englehart & Hudgins 2003): log MAV,
log RMS, log waveform length and log variance (the LDA baseline's four, see
:mod:`~myosem_core.baselines.classical`), plus, where the signal is raw EMG,
zero crossings and slope-sign changes (fractions of the window's samples,
counted only above a noise threshold). NinaPro DB1 ships RMS envelopes, which
are non-negative and smooth: there ZC and SSC carry no information and are left
out. Like LDA it never sees text: classes it was not trained on get probability
0 and are ranked last (ties count against the query).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import RandomForestClassifier

from ..data.windows import WindowSet
from .classical import time_domain_features


def zero_crossings(X: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """(N, L, C) -> (N, C) fraction of consecutive samples that change sign by more than ``threshold`` (C,)."""
    a, b = X[:, :-1], X[:, 1:]
    return ((a * b < 0) & (np.abs(a - b) >= threshold)).mean(axis=1)


def slope_sign_changes(X: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """(N, L, C) -> (N, C) fraction of samples where the slope changes sign by more than ``threshold`` (C,)."""
    left, right = X[:, 1:-1] - X[:, :-2], X[:, 1:-1] - X[:, 2:]
    return ((left * right) >= threshold ** 2).mean(axis=1)


@dataclass(frozen=True)
class ForestConfig:
    """The random forest's preset setting (``forest`` section of ``presets/<name>.yaml``)."""

    n_estimators: int = 100


class RandomForestRetriever:
    """``fit(train_ws, val_ws, prototypes)`` then ``scores(ws) -> (N, K)`` class probabilities."""

    name = "rf"

    # one job: the trees' probabilities are then summed in one order, so the same seed gives the same bits
    # (with threads the order varies run to run), and a grid's Dask worker (daemonic) needs no override
    def __init__(self, seed: int = 0, config: ForestConfig = ForestConfig(), n_jobs: int = 1,
                 zc_threshold: float = 0.01, **_):
        self.seed = seed
        self.n_estimators = config.n_estimators
        self.n_jobs, self.zc_threshold = n_jobs, zc_threshold
        self.raw = False
        self.threshold: np.ndarray | None = None
        self.n_classes = 0
        self.forest: RandomForestClassifier | None = None

    def features(self, X: np.ndarray) -> np.ndarray:
        feats = [time_domain_features(X)]
        if self.raw:
            X = np.asarray(X, dtype=np.float64)
            feats += [zero_crossings(X, self.threshold), slope_sign_changes(X, self.threshold)]
        return np.concatenate(feats, axis=1).astype(np.float32)

    def fit(self, train_ws: WindowSet, val_ws: WindowSet | None = None, prototypes: np.ndarray | None = None):
        self.raw = train_ws.signal_kind == "raw"
        # noise threshold per channel: a fraction of the channel's training standard deviation
        self.threshold = self.zc_threshold * train_ws.X.reshape(-1, train_ws.X.shape[2]).std(axis=0)
        self.n_classes = train_ws.n_classes
        self.forest = RandomForestClassifier(self.n_estimators, min_samples_leaf=2, n_jobs=self.n_jobs,
                                             random_state=self.seed)
        self.forest.fit(self.features(train_ws.X), train_ws.y)
        return self

    def scores(self, ws: WindowSet) -> np.ndarray:
        proba = self.forest.predict_proba(self.features(ws.X))
        out = np.zeros((len(ws), self.n_classes), dtype=np.float64)
        out[:, self.forest.classes_] = proba
        return out

    def describe(self) -> dict:
        return {"n_estimators": self.n_estimators, "zc_ssc": self.raw}

"""Classical anchor: LDA on per-channel time-domain features, ranking classes by predicted probability.

Features per channel (Hudgins et al. 1993; Englehart & Hudgins 2003): log mean
absolute value, log RMS, log waveform length (mean |x[t+1] - x[t]|) and log
variance -> 4 * C features per window. Standardised, then linear discriminant
analysis. It never sees text: under the ``class`` protocol the classes it was
not trained on get probability 0 (ranked last). With ``shrinkage`` ("auto": Ledoit-Wolf) the
class covariance is shrunk towards its diagonal, which few windows per class need (a new user's
one labelled repetition gives about 5 per movement for 40 features).
"""

from __future__ import annotations

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..data.windows import WindowSet

FEATURES = ("log_mav", "log_rms", "log_wl", "log_var")


def time_domain_features(X: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """(N, L, C) windows -> (N, 4*C) log MAV, RMS, WL, VAR per channel (feature-major)."""
    X = np.asarray(X, dtype=np.float64)
    mav = np.abs(X).mean(axis=1)
    rms = np.sqrt((X ** 2).mean(axis=1))
    wl = np.abs(np.diff(X, axis=1)).mean(axis=1)
    var = X.var(axis=1)
    return np.log(np.concatenate([mav, rms, wl, var], axis=1) + eps).astype(np.float32)


class LDARetriever:
    """``fit(train_ws, val_ws, prototypes)`` then ``scores(ws) -> (N, K)`` class probabilities."""

    name = "lda"

    def __init__(self, seed: int = 0, shrinkage: str | float | None = None, **_):
        self.seed = seed
        lda = (LinearDiscriminantAnalysis() if shrinkage is None else
               LinearDiscriminantAnalysis(solver="lsqr", shrinkage=shrinkage))
        self.pipeline = make_pipeline(StandardScaler(), lda)
        self.n_classes = 0

    def fit(self, train_ws: WindowSet, val_ws: WindowSet | None = None, prototypes: np.ndarray | None = None):
        self.n_classes = train_ws.n_classes
        self.pipeline.fit(time_domain_features(train_ws.X), train_ws.y)
        return self

    def scores(self, ws: WindowSet) -> np.ndarray:
        proba = self.pipeline.predict_proba(time_domain_features(ws.X))
        out = np.zeros((len(ws), self.n_classes), dtype=np.float64)
        out[:, self.pipeline.classes_] = proba
        return out

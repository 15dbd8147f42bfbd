"""Scores that mean something: softmax temperatures fitted on development data, and how calibrated a score is.

    T = fit_temperature(cosines, labels)        # (N, K) cosines, (N,) true columns -> the NLL-optimal temperature
    m = ScoreMap.fit(scores, right)             # a monotone map from a ranking score to P(right), isotonic
    m(scores)                                   # probabilities
    table = reliability(p, right, bins=10)      # per bin: how many, mean probability, fraction right
    expected_calibration_error(p, right)        # the bins' |mean probability - fraction right|, weighted by count

Temperature scaling (Guo et al., 2017, "On calibration of modern neural networks") divides the cosines by
one number chosen to minimise the negative log-likelihood of the true class on held-out data; it changes
how sure a softmax is, never which class ranks first. A :class:`ScoreMap` (isotonic regression, Zadrozny &
Elkan 2002) turns any score into the fraction of right answers seen at that score on development data; it is
non-decreasing, so it never changes an order either.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from .errors import DataError
from .scoring import window_posteriors

#: Range searched for a temperature (cosines lie in [-1, 1]).
TEMPERATURE_BOUNDS = (1e-3, 2.0)


def fit_temperature(cosines: np.ndarray, labels: np.ndarray, source: object = "<calibration data>") -> float:
    """The temperature T minimising the mean negative log-likelihood of ``labels`` under softmax(cosines / T)."""
    C = np.asarray(cosines, np.float64)
    y = np.asarray(labels)
    if C.ndim != 2 or len(C) != len(y) or len(y) == 0:
        raise DataError(source, "labels", f"expected (N, K) scores with N >= 1 labels, got {C.shape} and {y.shape}")
    if y.min() < 0 or y.max() >= C.shape[1]:
        raise DataError(source, "labels", f"labels must index the {C.shape[1]} columns")
    rows = np.arange(len(y))

    def nll(t: float) -> float:
        return float(-np.log(window_posteriors(C, t)[rows, y] + 1e-300).mean())

    return float(minimize_scalar(nll, bounds=TEMPERATURE_BOUNDS, method="bounded", options={"xatol": 1e-5}).x)


@dataclass(frozen=True)
class ScoreMap:
    """A non-decreasing map from a score to a probability: linear between knots, constant beyond them."""

    x: np.ndarray  # knots (ascending scores)
    y: np.ndarray  # probability at each knot

    @classmethod
    def fit(cls, scores: np.ndarray, right: np.ndarray) -> "ScoreMap":
        """Isotonic regression of ``right`` (0/1) on ``scores`` (scikit-learn's :class:`IsotonicRegression`), each
        level then estimated by the rule of succession, (right + 1) / (n + 2) over its n scores, so that a level
        where every development answer was right shows just under 1, not a certainty."""
        from sklearn.isotonic import IsotonicRegression

        s, r = np.asarray(scores, np.float64).ravel(), np.asarray(right, np.float64).ravel()
        if len(s) != len(r) or len(s) == 0:
            raise DataError("<score calibration>", "right", f"expected one outcome per score, got {len(r)} for {len(s)}")
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(s, r)
        x, y = np.asarray(iso.X_thresholds_, np.float64), np.asarray(iso.y_thresholds_, np.float64)
        level = iso.predict(s)
        shrunk = {v: (r[level == v].sum() + 1.0) / ((level == v).sum() + 2.0) for v in np.unique(level)}
        return cls(x, np.maximum.accumulate(np.array([shrunk.get(v, v) for v in y])))

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(scores, np.float64), self.x, self.y)

    def to_dict(self) -> dict:
        return {"x": self.x.tolist(), "y": self.y.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "ScoreMap":
        return cls(np.asarray(d["x"], np.float64), np.asarray(d["y"], np.float64))


def reliability(probability: np.ndarray, right: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Equal-width bins of ``probability`` over [0, 1]: count, mean probability and fraction right (empty bins left out)."""
    p = np.asarray(probability, np.float64).ravel()
    y = np.asarray(right, np.float64).ravel()
    if len(p) != len(y):
        raise DataError("<reliability>", "right", f"expected one outcome per probability, got {len(y)} for {len(p)}")
    if len(p) and (p.min() < 0 or p.max() > 1):
        raise DataError("<reliability>", "probability", "probabilities must lie in [0, 1]")
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)  # [lo, hi), the last bin closed
    rows = [{"lo": edges[b], "hi": edges[b + 1], "n": int(m.sum()), "mean_probability": float(p[m].mean()),
             "fraction_right": float(y[m].mean())} for b in range(bins) if (m := idx == b).any()]
    return pd.DataFrame(rows, columns=["lo", "hi", "n", "mean_probability", "fraction_right"])


def expected_calibration_error(probability: np.ndarray, right: np.ndarray, bins: int = 10) -> float:
    """Sum over bins of (share of the scores in the bin) x |mean probability - fraction right|."""
    t = reliability(probability, right, bins)
    if t.empty:
        raise DataError("<reliability>", "probability", "no scores to measure")
    return float((t["n"] / t["n"].sum() * (t["mean_probability"] - t["fraction_right"]).abs()).sum())


__all__ = ["ScoreMap", "fit_temperature", "reliability", "expected_calibration_error"]

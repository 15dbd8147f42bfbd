"""Input normalisation of Stages 2-3: optional log compression, then a per-channel z-score.

NinaPro DB1's device-RMS envelopes span 0.002..5 (median ~0.1) and users differ
by per-channel gains of 10x or more. ``log1p`` alone is almost linear at those
values, so the input is first divided by ``eps`` (a low quantile of the training
values): ``log1p(x / eps) = log(x + eps) - log(eps)``, i.e. a true log with a
floor, where a gain becomes an additive offset. The per-channel z-score is
:class:`myosem_core.data.ChannelNormalizer`, fitted on training windows only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.normalize import ChannelNormalizer


@dataclass
class InputNormalizer:
    channel: ChannelNormalizer
    eps: float | None = None  # None: no log compression

    @classmethod
    def fit(cls, X: np.ndarray, log: bool, eps_quantile: float = 0.1) -> "InputNormalizer":
        eps = None
        if log:
            pos = np.abs(X[X != 0]) if np.any(X != 0) else np.ones(1)
            eps = float(max(np.quantile(pos, eps_quantile), 1e-8))
        return cls(ChannelNormalizer(log=log).fit(X / eps if eps else X), eps)

    def transform(self, X: np.ndarray) -> np.ndarray:
        return self.channel.transform(X / self.eps if self.eps else X)

    def to_dict(self) -> dict:
        return {**self.channel.to_dict(), "eps": self.eps}

    @classmethod
    def from_dict(cls, d: dict) -> "InputNormalizer":
        d = dict(d)
        eps = d.pop("eps", None)
        return cls(ChannelNormalizer.from_dict(d), eps)

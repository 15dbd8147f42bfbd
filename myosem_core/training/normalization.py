"""Input normalisation of Stages 2-3: optional log compression, then a per-channel z-score.

NinaPro DB1's device-RMS envelopes span 0.002..5 (median ~0.1) and users differ
by per-channel gains of 10x or more. ``log1p`` alone is almost linear at those
values, so the input is first divided by ``eps`` (a low quantile of the training
values): ``log1p(x / eps) = log(x + eps) - log(eps)``, i.e. a true log with a
floor, where a gain becomes an additive offset. The per-channel z-score is
:class:`myosem_core.data.ChannelNormalizer`, fitted on training windows only.

``center_windows`` (log inputs only) subtracts from each window, after the log, its own mean over samples
and channels: a gain shared by all of a user's electrodes (skin, fat, a looser band) is then gone before the
model sees the window, at the price of the window's overall contraction level. It reads the window alone,
so it needs no data of a new user.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.normalize import ChannelNormalizer
from ..errors import ConfigError


@dataclass
class InputNormalizer:
    channel: ChannelNormalizer
    eps: float | None = None  # None: no log compression
    center_windows: bool = False  # subtract each window's own mean log level (log inputs only)

    @classmethod
    def fit(cls, X: np.ndarray, log: bool, eps_quantile: float = 0.1, center_windows: bool = False
            ) -> "InputNormalizer":
        eps = None
        if log:
            pos = np.abs(X[X != 0]) if np.any(X != 0) else np.ones(1)
            eps = float(max(np.quantile(pos, eps_quantile), 1e-8))
        if center_windows:
            if not log:
                raise ConfigError("center_windows needs log-compressed inputs (an RMS envelope or log_normalize)")
            return cls(ChannelNormalizer(log=False).fit(_centered_log(X, eps)), eps, True)
        return cls(ChannelNormalizer(log=log).fit(X / eps if eps else X), eps)

    def transform(self, X: np.ndarray) -> np.ndarray:
        if self.center_windows:
            return self.channel.transform(_centered_log(X, self.eps))
        return self.channel.transform(X / self.eps if self.eps else X)

    def to_dict(self) -> dict:
        return {**self.channel.to_dict(), "eps": self.eps, **({"center_windows": True} if self.center_windows else {})}

    @classmethod
    def from_dict(cls, d: dict) -> "InputNormalizer":
        d = dict(d)
        eps = d.pop("eps", None)
        center = bool(d.pop("center_windows", False))
        return cls(ChannelNormalizer.from_dict(d), eps, center)


def _centered_log(X: np.ndarray, eps: float) -> np.ndarray:
    """log1p(x / eps) of each window minus that window's mean over samples and channels."""
    Z = np.log1p(np.maximum(X / eps, 0)).astype(np.float32)
    return Z - Z.mean(axis=(1, 2), keepdims=True)

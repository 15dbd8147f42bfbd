"""Per-channel standardisation fitted on training windows only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ChannelNormalizer:
    """z-score per channel; ``log=True`` first takes log1p (useful for RMS envelopes)."""

    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    log: bool = False

    def _pre(self, X: np.ndarray) -> np.ndarray:
        return np.log1p(np.maximum(X, 0)) if self.log else X

    def fit(self, X: np.ndarray) -> "ChannelNormalizer":
        Z = self._pre(X).reshape(-1, X.shape[-1]).astype(np.float64)
        self.mean = Z.mean(0).astype(np.float32)
        self.std = (Z.std(0) + 1e-6).astype(np.float32)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        if self.mean is None:
            raise RuntimeError("ChannelNormalizer.transform called before fit")
        return ((self._pre(X) - self.mean) / self.std).astype(np.float32)

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist(), "log": self.log}

    @classmethod
    def from_dict(cls, d: dict) -> "ChannelNormalizer":
        return cls(np.asarray(d["mean"], np.float32), np.asarray(d["std"], np.float32), bool(d["log"]))

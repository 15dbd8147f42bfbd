"""The result of a top-k search, exact (:mod:`myosem_core.search`) or approximate (:mod:`myosem_core.ann`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class TopK:
    scores: np.ndarray  # (Q, k) float32, descending per row
    indices: np.ndarray  # (Q, k) int64 rows of the corpus

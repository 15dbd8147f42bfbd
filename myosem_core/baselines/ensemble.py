"""A small ensemble of retrievers that embed into the same prototype space: the unit mean of their embeddings.

    ens = EnsembleRetriever([MyoSemRetriever.from_run(r) for r in runs])
    Z = ens.embed(ws)          # (N, D) unit rows, scored by cosine with the prototypes like one member

Members trained from different seeds make different mistakes on people none of them saw; averaging
their unit embeddings (each already aligned to the same frozen prototypes) keeps what they agree on.
"""

from __future__ import annotations

import numpy as np

from ..data.windows import WindowSet
from ..errors import ConfigError
from ..scoring import unit_rows


class EnsembleRetriever:
    name = "ensemble"

    def __init__(self, members: list):
        if not members or not all(hasattr(m, "embed") and not hasattr(m, "scores") for m in members):
            raise ConfigError("an ensemble needs at least one member, and every member must embed windows")
        self.members = list(members)

    def fit(self, train_ws: WindowSet, val_ws: WindowSet, prototypes: np.ndarray) -> "EnsembleRetriever":
        for m in self.members:
            m.fit(train_ws, val_ws, prototypes)
        return self

    def embed(self, ws: WindowSet) -> np.ndarray:
        return unit_rows(np.mean([unit_rows(np.asarray(m.embed(ws), np.float64)) for m in self.members], axis=0))

    def fine_tuned(self, X: np.ndarray, targets: np.ndarray, prototypes: np.ndarray, config, seed: int = 0
                   ) -> "EnsembleRetriever":
        """Every member fine-tuned on the same windows (each with its own seed)."""
        if not all(hasattr(m, "fine_tuned") for m in self.members):
            raise ConfigError("every member of the ensemble must offer fine_tuned")
        return EnsembleRetriever([m.fine_tuned(X, targets, prototypes, config, seed + i)
                                  for i, m in enumerate(self.members)])

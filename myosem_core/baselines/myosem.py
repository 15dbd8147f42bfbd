"""MyoSem (Stages 2 + 3) as a retrieval-registry entry, beside the baselines it is compared with."""

from __future__ import annotations

import numpy as np

from ..data.windows import WindowSet
from ..errors import ConfigError


class MyoSemRetriever:
    """MyoSem Stages 2 + 3 behind the registry interface (or wrapping an already trained Stage-3 run)."""

    name = "myosem"

    def __init__(self, stage2=None, stage3=None, seed: int = 0, runs=None, run=None, progress: bool = True, **_):
        self.stage2, self.stage3 = stage2, stage3
        self.seed, self.runs, self.run, self.progress = seed, runs, run, progress
        self.stage2_run = None

    @classmethod
    def from_run(cls, run) -> "MyoSemRetriever":
        return cls(run=run)

    def fit(self, train_ws: WindowSet, val_ws: WindowSet, prototypes: np.ndarray) -> "MyoSemRetriever":
        from ..training import train_myosem_stages

        if self.stage2 is None or self.stage3 is None:
            raise ConfigError("MyoSemRetriever.fit needs its Stage-2 and Stage-3 configs (make_retriever('myosem', "
                              "preset=...) gives the preset's)")
        self.stage2_run, self.run = train_myosem_stages(train_ws, val_ws, prototypes, self.stage2, self.stage3,
                                                        self.seed, self.runs, self.progress)
        return self

    def embed(self, ws: WindowSet) -> np.ndarray:
        if self.run is None:
            raise ConfigError("MyoSemRetriever.embed called before fit")
        return self.run.embed(ws.X)

    def fine_tuned(self, X: np.ndarray, targets: np.ndarray, prototypes: np.ndarray, config, seed: int = 0
                   ) -> "MyoSemRetriever":
        """A copy whose whole Stage-3 model is fine-tuned on raw windows ``X`` towards soft ``targets`` (N, K)
        (:func:`myosem_core.adaptation.fine_tune.fine_tune_network`); this one is left unchanged."""
        from dataclasses import replace

        from ..adaptation.fine_tune import fine_tune_network

        if self.run is None:
            raise ConfigError("MyoSemRetriever.fine_tuned called before fit")
        net = fine_tune_network(self.run.model, lambda m, x: m(x).embedding, self.run.normalizer.transform(X),
                                targets, prototypes, config, seed)
        return MyoSemRetriever.from_run(replace(self.run, model=net, folder=None))

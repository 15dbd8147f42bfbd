"""MyoSem (Stages 2 + 3) as a retrieval-registry entry, beside the baselines it is compared with."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.windows import WindowSet
from ..errors import ConfigError


class MyoSemRetriever:
    """MyoSem Stages 2 + 3 behind the registry interface (or wrapping an already trained Stage-3 run)."""

    name = "myosem"

    def __init__(self, preset: str = "quick", seed: int = 0, stage2=None, stage3=None, folder=None,
                 run=None, progress: bool = True, protocol: str | None = None, **_):
        from ..training import Stage2Config, Stage3Config

        self.stage2 = (stage2 or Stage2Config.preset_named(preset)).for_protocol(protocol)
        self.stage3 = (stage3 or Stage3Config.preset_named(preset)).for_protocol(protocol)
        self.seed, self.folder, self.run, self.progress = seed, folder, run, progress

    @classmethod
    def from_run(cls, run) -> "MyoSemRetriever":
        return cls(run=run)

    def fit(self, train_ws: WindowSet, val_ws: WindowSet, prototypes: np.ndarray) -> "MyoSemRetriever":
        from ..training import train_stage2, train_stage3

        f2 = f3 = None
        if self.folder is not None:
            f2, f3 = Path(self.folder) / "stage2", Path(self.folder) / "stage3"
            f2.mkdir(parents=True, exist_ok=True)
            f3.mkdir(parents=True, exist_ok=True)
        s2 = train_stage2(train_ws, val_ws, self.stage2, self.seed, f2, self.progress)
        self.run = train_stage3(train_ws, val_ws, s2, prototypes, self.stage3, self.seed, f3, self.progress)
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

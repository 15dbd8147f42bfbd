"""CPEP and EMBridge EMG encoders as retrieval-registry entries (rows of MyoSem's EMG -> text table).

``fit(train_ws, val_ws, prototypes)``:

1. trains (or reads back, cached by the windows' contents) the EMG and pose MAEs and the
   CPEP / EMBridge alignment on the training windows' paired EMG and pose
   (:func:`myosem_core.training.embridge.load_or_train_aligner`), in the same run cache as
   notebook 07, so a model either of them trained is not trained again;
2. freezes that EMG encoder and fits a linear map from its query-averaged pose-space embedding
   into the text-prototype space with InfoNCE against the frozen prototypes (training classes only).

``embed(ws)`` returns unit rows in the prototype space, so retrieval ranks prototypes by cosine.
"""

from __future__ import annotations

import time
from dataclasses import asdict

import numpy as np
import torch
import torch.nn.functional as F

from ..data.windows import WindowSet
from ..errors import ConfigError
from ..threads import limit_threads
from ..training.common import seed_everything
from ..training.embridge import EMBridgeConfig, load_or_train_aligner
from .prototype_head import fit_prototype_head, linear_from, stored_head


class PoseAnchoredRetriever:
    """``model``: "CPEP" or "EMBridge" (any name of :data:`myosem_core.training.embridge.VARIANTS`)."""

    def __init__(self, model: str, config: EMBridgeConfig, seed: int = 0,
                 progress: bool = False, runs=None, head_steps: int = 300,
                 head_lr: float = 1e-2, temperature: float = 0.07, **_):
        self.name, self.model, self.seed, self.progress, self.runs = model.lower(), model, seed, progress, runs
        self.config = config
        self.head_steps, self.head_lr, self.temperature = head_steps, head_lr, temperature
        self.run = None
        self.head: torch.nn.Linear | None = None
        self.train_seconds = 0.0

    def fit(self, train_ws: WindowSet, val_ws: WindowSet | None, prototypes: np.ndarray) -> "PoseAnchoredRetriever":
        t0 = time.perf_counter()
        self.run = load_or_train_aligner(train_ws, self.config, self.model, seed=self.seed, runs=self.runs,
                                         progress=self.progress)
        with limit_threads(self.config.threads, native="all"):
            def fit_head():
                seed_everything(self.seed)
                Z = torch.from_numpy(self.run.embed(train_ws))
                return fit_prototype_head(Z, prototypes, train_ws.y, self.temperature, self.head_lr,
                                          self.head_steps).state_dict()

            settings = {"temperature": self.temperature, "lr": self.head_lr, "steps": self.head_steps}
            self.head = linear_from(stored_head(self.name, self.run.folder, train_ws, prototypes, settings, self.seed,
                                                self.runs, fit_head, code=(__name__,)))
        self.train_seconds = time.perf_counter() - t0
        return self

    @torch.no_grad()
    def embed(self, ws: WindowSet) -> np.ndarray:
        if self.head is None:
            raise ConfigError(f"{self.model}: embed called before fit")
        with limit_threads(self.config.threads, native="all"):
            return F.normalize(self.head(torch.from_numpy(self.run.embed(ws))), dim=-1).numpy()

    def describe(self) -> dict:
        return {"model": self.model, "config": asdict(self.config), "train_seconds": self.train_seconds,
                "aligner_folder": str(self.run.folder) if self.run and self.run.folder else None}

"""AEMG as a retrieval-registry entry (the AEMG row of MyoSem's EMG -> text table).

``fit(train_ws, val_ws, prototypes)``:

1. pretrains (or reads back, cached by the windows' contents) the AEMG tokenizer and
   Transformer, label-free, on the training and validation windows plus the synthetic devices
   (:func:`myosem_core.training.aemg.load_or_pretrain_aemg`); test windows never take part;
2. freezes the encoder and fits a linear map from its window embedding into the
   text-prototype space with InfoNCE against the frozen prototypes (training classes only).

``embed(ws)`` returns unit rows in the prototype space, so retrieval ranks prototypes by cosine.
"""

from __future__ import annotations

import time
from dataclasses import asdict

import numpy as np
import torch
import torch.nn.functional as F

from ..data.windows import WindowSet, concat_windows
from ..errors import ConfigError
from ..threads import limit_threads
from ..training.aemg import AEMGConfig, load_or_pretrain_aemg
from ..training.common import seed_everything
from .prototype_head import fit_prototype_head, linear_from, stored_head

HEAD_WEIGHT_DECAY = 1e-4


def _concat(a: WindowSet, b: WindowSet | None) -> WindowSet:
    """Training and validation windows together (label-free pretraining may use both)."""
    if b is None or len(b) == 0:
        return a
    return concat_windows([a, b])


class AEMGRetriever:
    """Frozen AEMG encoder + a linear head into the prototype space."""

    name = "aemg"

    def __init__(self, config: AEMGConfig, seed: int = 0, runs=None,
                 progress: bool = False, head_steps: int = 300, head_lr: float = 1e-2, temperature: float = 0.07, **_):
        self.config = config
        self.seed, self.runs, self.progress = seed, runs, progress
        self.head_steps, self.head_lr, self.temperature = head_steps, head_lr, temperature
        self.run = None
        self.head: torch.nn.Linear | None = None
        self.mean: torch.Tensor | None = None
        self.std: torch.Tensor | None = None
        self.train_seconds = 0.0

    def fit(self, train_ws: WindowSet, val_ws: WindowSet | None, prototypes: np.ndarray) -> "AEMGRetriever":
        t0 = time.perf_counter()
        self.run = load_or_pretrain_aemg(_concat(train_ws, val_ws), self.config, self.seed, runs=self.runs,
                                         progress=self.progress)
        with limit_threads(self.config.threads):
            def fit_head():
                seed_everything(self.seed)
                Z = torch.from_numpy(self.run.embed(train_ws))
                mean, std = Z.mean(0), Z.std(0) + 1e-6
                head = fit_prototype_head((Z - mean) / std, prototypes, train_ws.y, self.temperature, self.head_lr,
                                          self.head_steps, weight_decay=HEAD_WEIGHT_DECAY)
                return {**head.state_dict(), "mean": mean, "std": std}

            settings = {"temperature": self.temperature, "lr": self.head_lr, "steps": self.head_steps,
                        "weight_decay": HEAD_WEIGHT_DECAY, "standardised": True}
            tensors = stored_head("aemg", self.run.folder, train_ws, prototypes, settings, self.seed, self.runs,
                                  fit_head, code=(__name__,))
            self.head, self.mean, self.std = linear_from(tensors), tensors["mean"], tensors["std"]
        self.train_seconds = time.perf_counter() - t0
        return self

    @torch.no_grad()
    def embed(self, ws: WindowSet) -> np.ndarray:
        if self.head is None:
            raise ConfigError("AEMG: embed called before fit")
        with limit_threads(self.config.threads):
            Z = (torch.from_numpy(self.run.embed(ws)) - self.mean) / self.std
            return F.normalize(self.head(Z), dim=-1).numpy()

    def describe(self) -> dict:
        return {"model": "AEMG", "config": asdict(self.config), "train_seconds": self.train_seconds,
                "pretraining_folder": str(self.run.folder) if self.run and self.run.folder else None}

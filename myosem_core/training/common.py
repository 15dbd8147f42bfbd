"""Pieces every training loop shares: seeding, batches, early stopping, checkpoints."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from ..io import atomic_path


def training_seconds(*runs) -> float:
    """Seconds of training recorded in the per-epoch ``curves`` of ``runs`` (Stage 2, Stage 3, ...), summed."""
    return sum(r.get("seconds", 0.0) for run in runs for r in run.curves)


def seed_everything(seed: int) -> None:
    """Seed torch and numpy's legacy global RNG (dropout, init, codebook resets draw from torch); on a GPU,
    cuDNN picks deterministic kernels (same seed, same numbers there too, as far as cuDNN allows)."""
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    np.random.seed(seed % 2**32)


def batches(n: int, batch_size: int, generator: torch.Generator | None = None) -> Iterator[torch.Tensor]:
    """Index batches over ``range(n)``: shuffled with ``generator``, in order without it."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    for i in range(0, n, batch_size):
        yield order[i:i + batch_size]


class EarlyStopping:
    """Remember the best weights by a validation score; say when ``patience`` epochs passed without improvement."""

    def __init__(self, patience: int, mode: str = "min"):
        self.patience, self.mode = patience, mode
        self.best: float | None = None
        self.best_epoch = -1
        self.best_state: dict | None = None

    def improved(self, value: float) -> bool:
        if self.best is None:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def step(self, value: float, epoch: int, model: torch.nn.Module) -> bool:
        """Record ``value``; True if this epoch is the new best."""
        if self.improved(value):
            self.best, self.best_epoch = float(value), epoch
            self.best_state = copy.deepcopy(model.state_dict())
            return True
        return False

    def should_stop(self, epoch: int) -> bool:
        return epoch - self.best_epoch >= self.patience


def save_checkpoint(path: str | Path, **payload) -> Path:
    """``torch.save`` into a temporary file, then rename (never a half-written checkpoint)."""
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(payload, tmp)
    return Path(path)


def load_checkpoint(path: str | Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


@torch.no_grad()
def predict_in_batches(fn, X: np.ndarray, batch_size: int = 512) -> list:
    """Apply ``fn`` to float32 tensors of ``X`` in batches; returns the list of outputs."""
    return [fn(torch.from_numpy(np.ascontiguousarray(X[i:i + batch_size]))) for i in range(0, len(X), batch_size)]

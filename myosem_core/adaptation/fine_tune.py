"""Fine-tune a retriever's embedding network on a new user's windows, against the frozen text prototypes.

    net = fine_tune_network(model, embed_fn, X, targets, prototypes, FineTuneConfig(), seed=0)

``targets`` are one soft label per window (N, K): the labels of a labelled repetition (one-hot), or
a class-balanced assignment of unlabeled windows (:mod:`.balanced`). The loss is the cross-entropy of
the cosines with the prototypes over the temperature (Stage 3's InfoNCE against the prototypes, with
soft targets); every weight of a copy of the network trains, at a constant learning rate for a fixed
number of epochs (a new user has no validation windows to stop on), through the one fit loop.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..threads import limit_threads
from ..training.augment import AugmentConfig, augment
from ..training.common import seed_everything
from ..training.fit import FitConfig, fit


@dataclass(frozen=True)
class FineTuneConfig:
    epochs: int = 15
    lr: float = 1e-3
    batch_size: int = 32
    weight_decay: float = 0.01
    temperature: float = 0.07
    augment: AugmentConfig = field(default_factory=lambda: AugmentConfig(channel_offset=0.1, global_offset=0.1,
                                                                         noise=0.05, time_shift=0.1))
    threads: int = 1


def soft_prototype_loss(z: torch.Tensor, targets: torch.Tensor, prototypes: torch.Tensor,
                        temperature: float) -> torch.Tensor:
    """Cross-entropy of ``softmax(z P^T / T)`` against soft ``targets`` (B, K); one-hot targets give InfoNCE."""
    return -(targets * F.log_softmax(z @ prototypes.t() / temperature, dim=1)).sum(1).mean()


def fine_tune_network(model: nn.Module, embed_fn: Callable[[nn.Module, torch.Tensor], torch.Tensor],
                      X: np.ndarray, targets: np.ndarray, prototypes: np.ndarray,
                      cfg: FineTuneConfig = FineTuneConfig(), seed: int = 0) -> nn.Module:
    """A fine-tuned copy of ``model`` (left unchanged); ``X`` are normalised windows (N, L, C), ``embed_fn(model, x)``
    gives unit embeddings."""
    with limit_threads(cfg.threads):
        seed_everything(seed)
        net = copy.deepcopy(model)
        for p in net.parameters():
            p.requires_grad_(True)
        P = torch.as_tensor(np.asarray(prototypes), dtype=torch.float32)
        Xt = torch.as_tensor(np.asarray(X), dtype=torch.float32)
        Tt = torch.as_tensor(np.asarray(targets), dtype=torch.float32)

        def loss_fn(x, t):
            return soft_prototype_loss(embed_fn(net, x), t, P, cfg.temperature), {}

        fcfg = FitConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, weight_decay=cfg.weight_decay,
                         schedule="constant", grad_clip=1.0, monitor=None)
        fit(net, loss_fn, Xt, Tt, None, fcfg, seed=seed, augment=lambda x: augment(x, cfg.augment), progress=False,
            desc="fine-tune")
        net.requires_grad_(False)
        return net.eval()

"""A linear head from frozen features into the prototype space, trained full-batch with prototype InfoNCE.

The foundation-model rows (CPEP, EMBridge, AEMG) keep their pretrained encoder frozen;
this head is what maps its features onto the same text prototypes as every other row.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..losses import prototype_info_nce
from ..training.fit import FitConfig, fit


def fit_prototype_head(Z: torch.Tensor, prototypes: np.ndarray, y: np.ndarray, temperature: float, lr: float,
                       steps: int, weight_decay: float = 0.0) -> torch.nn.Linear:
    """``Linear(Z.shape[1] -> D)`` trained so that unit-norm ``head(Z)`` is nearest its class prototype.

    Only the classes present in ``y`` are positives or negatives (under ``class``, held-out
    prototypes stay out of training). Uses torch's global RNG for the initial weights.
    """
    P = F.normalize(torch.as_tensor(np.asarray(prototypes), dtype=torch.float32), dim=-1)
    y = torch.from_numpy(np.asarray(y))
    allowed = torch.unique(y)
    head = torch.nn.Linear(Z.shape[1], P.shape[1])

    def loss_fn(z, labels):
        return prototype_info_nce(F.normalize(head(z), dim=-1), P, labels, temperature, allowed), {}

    # full batch (the encoder is frozen, features are precomputed): one step per "epoch"
    cfg = FitConfig(epochs=steps, batch_size=max(1, len(Z)), lr=lr, weight_decay=weight_decay, schedule="constant",
                    grad_clip=None, monitor=None)
    fit(head, loss_fn, Z, y, None, cfg, progress=False, desc="prototype head")
    return head

"""Subject-adversarial training: make the segment vector uninformative about who wore the sensor.

A small head predicts the training subject from the encoder's segment vector; its
gradient reaches the encoder through a gradient-reversal layer (Ganin & Lempitsky
2015, DANN), so the encoder is pushed towards features the head cannot use to tell
people apart, while the action CE keeps them discriminative. It is an option of
Stage 2 (``Stage2Config.w_subject``), off by default.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class _ReverseGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale: float):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.scale * grad, None


def reverse_gradient(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Identity forward; multiplies the gradient by ``-scale`` backward."""
    return _ReverseGrad.apply(x, scale)


def subject_codes(subjects: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer code per window and the sorted subject names they index."""
    names, codes = np.unique(np.asarray(subjects).astype(str), return_inverse=True)
    return codes.astype(np.int64), tuple(names.tolist())


def reversal_ramp(progress: float) -> float:
    """DANN's schedule 2 / (1 + exp(-10 p)) - 1: 0 at the start of training, near 1 by its middle."""
    return float(2.0 / (1.0 + np.exp(-10.0 * progress)) - 1.0)


class SubjectAdversary(nn.Module):
    """Two-layer head from the segment vector to subject logits, behind a gradient reversal."""

    def __init__(self, d_model: int, n_subjects: int, hidden: int | None = None):
        super().__init__()
        if n_subjects < 2:
            raise ValueError(f"subject-adversarial training needs at least 2 training subjects, got {n_subjects}")
        hidden = hidden or d_model
        self.net = nn.Sequential(nn.Linear(d_model, hidden), nn.GELU(), nn.Linear(hidden, n_subjects))

    def loss(self, segment: torch.Tensor, subject: torch.Tensor, scale: float) -> tuple[torch.Tensor, float]:
        """Subject CE on the reversed segment vector, and the head's accuracy on the batch."""
        logits = self.net(reverse_gradient(segment, scale))
        acc = float((logits.argmax(1) == subject).float().mean())
        return F.cross_entropy(logits, subject), acc

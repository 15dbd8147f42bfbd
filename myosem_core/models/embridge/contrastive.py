"""EMG -> pose contrastive losses over a batch similarity matrix (EMBridge eq. 1 and 5).

``logits[i, j] = u_i . v_j / tau`` compares EMG sample i with pose sample j; the
row softmax is q_ij. The pose encoder is frozen, so the loss is one-directional
(EMG -> pose), never the symmetric CLIP loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """-1/B sum_ij t_ij log q_ij with q = row softmax of ``logits``; ``targets`` rows sum to 1."""
    return -(targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


def smoothed_identity(batch: int, smoothing: float = 0.0, device=None) -> torch.Tensor:
    """One-hot targets on the diagonal, label-smoothed: (1 - eps) I + eps / B."""
    eye = torch.eye(batch, device=device)
    return eye * (1.0 - smoothing) + smoothing / batch


def info_nce(logits: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
    """InfoNCE with the matching pair on the diagonal; ``smoothing`` > 0 gives the -LS variants."""
    return soft_cross_entropy(logits, smoothed_identity(logits.shape[0], smoothing, logits.device))


class Temperature(nn.Module):
    """Learnable contrastive temperature tau (stored as log 1/tau, clamped to [1/100, 1])."""

    def __init__(self, init: float = 0.07):
        super().__init__()
        self.log_inv = nn.Parameter(torch.tensor(float(-torch.log(torch.tensor(init)))))

    def forward(self) -> torch.Tensor:
        return self.log_inv.clamp(0.0, 4.6052).exp()  # 1 / tau

"""CPEP, contrastive pose-EMG pre-training (EMBridge's CLIP-style baseline).

The EMG encoder's [CLS] output goes through a one-layer projection into the
frozen pose encoder's embedding space; InfoNCE (EMG -> pose) pulls it towards
the paired window's pose embedding. No queries, no reconstruction.
"""

from __future__ import annotations

import torch
from torch import nn


class CPEPHead(nn.Module):
    """[CLS] token (B, d_emg) -> projection (B, 1, d_pose): a single "query" so CPEP and the Q-Former share code."""

    def __init__(self, d_emg: int, d_pose: int):
        super().__init__()
        self.proj = nn.Linear(d_emg, d_pose)

    def forward(self, emg_tokens: torch.Tensor) -> torch.Tensor:
        return self.proj(emg_tokens[:, 0]).unsqueeze(1)

"""SE-CNN (Xu et al. 2023, "A novel SE-CNN attention architecture for sEMG-based hand gesture
recognition", CMES 134(1)).

Convolution blocks, each followed by a squeeze-and-excitation block (Hu et al.
2018): the feature maps are averaged over time ("squeeze"), a small bottleneck
MLP with a sigmoid produces one weight per feature map ("excitation"), and
the maps are rescaled by it. A first SE block reweights the input electrodes
the same way. Global average pooling gives the segment representation.
"""

from __future__ import annotations

import torch
from torch import nn


class SqueezeExcite(nn.Module):
    """Channel attention on (B, C, L): scale each channel by sigmoid(MLP(mean over time))."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        hidden = max(2, channels // reduction)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mlp(x.mean(dim=2)).unsqueeze(-1)


def se_block(c_in: int, c_out: int, kernel: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2), nn.BatchNorm1d(c_out), nn.ReLU(),
                         SqueezeExcite(c_out), nn.Dropout(dropout))


class SECNN(nn.Module):
    """(B, L, C) window -> (B, width) globally pooled SE-CNN features."""

    def __init__(self, n_channels: int, window_len: int, width: int = 64, dropout: float = 0.1):
        super().__init__()
        self.electrode_se = SqueezeExcite(n_channels, reduction=2)
        self.blocks = nn.Sequential(se_block(n_channels, width, 5, dropout), nn.MaxPool1d(2),
                                    se_block(width, width, 5, dropout), nn.MaxPool1d(2),
                                    se_block(width, width, 3, dropout))
        self.out_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.electrode_se(x.transpose(1, 2))).mean(dim=2)

"""Attention-based hybrid CNN-RNN (Hu et al. 2018, "A novel attention-based hybrid CNN-RNN architecture
for sEMG-based gesture recognition", PLoS ONE 13(10)).

A CNN reads short stretches of the multi-channel signal (the paper's per-frame
sEMG images), an LSTM runs over the resulting frame features, and a learned
attention over the LSTM outputs pools them into the segment representation.
Scaled down for CPU: two 1-D convolution blocks instead of the paper's
convolution + locally connected stack.
"""

from __future__ import annotations

import torch
from torch import nn


class AttentionPool(nn.Module):
    """Additive attention over time: weights = softmax(v^T tanh(W h_t))."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.score = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 1, bias=False))

    def forward(self, h: torch.Tensor) -> torch.Tensor:  # (B, T, D) -> (B, D)
        w = torch.softmax(self.score(h).squeeze(-1), dim=1)
        return (w.unsqueeze(-1) * h).sum(dim=1)


class AttnCNNRNN(nn.Module):
    """(B, L, C) window -> (B, width) attention-pooled LSTM state."""

    def __init__(self, n_channels: int, window_len: int, width: int = 64, dropout: float = 0.1):
        super().__init__()
        self.cnn = nn.Sequential(
            nn.Conv1d(n_channels, width, 3, padding=1), nn.BatchNorm1d(width), nn.ReLU(),
            nn.Conv1d(width, width, 3, padding=1), nn.BatchNorm1d(width), nn.ReLU(),
            nn.MaxPool1d(2), nn.Dropout(dropout))  # frames at half the sampling rate
        self.rnn = nn.LSTM(width, width, batch_first=True)
        self.attention = AttentionPool(width, width // 2)
        self.out_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = self.cnn(x.transpose(1, 2)).transpose(1, 2)  # (B, T, width)
        h, _ = self.rnn(frames)
        return self.attention(h)

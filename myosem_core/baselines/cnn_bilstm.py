"""CNN-BiLSTM: convolutional feature extractor (LeCun et al. 1998) followed by a bidirectional LSTM
(Hochreiter & Schmidhuber 1997; Schuster & Paliwal 1997), the common sEMG hybrid.

Two 1-D convolution blocks over time, then a BiLSTM; the segment representation
is the concatenation of the forward LSTM's last state and the backward LSTM's
last state (which has read the window from the end to the start).
"""

from __future__ import annotations

import torch
from torch import nn


class CNNBiLSTM(nn.Module):
    """(B, L, C) window -> (B, 2 * hidden) final states of both directions."""

    def __init__(self, n_channels: int, window_len: int, width: int = 64, dropout: float = 0.1):
        super().__init__()
        hidden = width // 2
        self.cnn = nn.Sequential(
            nn.Conv1d(n_channels, width, 5, padding=2), nn.BatchNorm1d(width), nn.ReLU(),
            nn.Conv1d(width, width, 5, padding=2), nn.BatchNorm1d(width), nn.ReLU(),
            nn.MaxPool1d(2), nn.Dropout(dropout))
        self.rnn = nn.LSTM(width, hidden, batch_first=True, bidirectional=True)
        self.out_dim = 2 * hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.cnn(x.transpose(1, 2)).transpose(1, 2)  # (B, T, width)
        _, (h, _) = self.rnn(feats)  # h: (2, B, hidden) = [forward last, backward last]
        return torch.cat([h[0], h[1]], dim=-1)

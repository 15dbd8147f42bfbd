"""A plain 1-D CNN: the strong simple baseline every EMG comparison should beat.

Three blocks of a temporal convolution (kernel 5, "same" padding), batch norm, ReLU and max-pooling by 2,
over all electrodes as input channels; global average pooling over time gives the segment
representation. Nothing here is specific to EMG: with the book's recipe (log-compressed input,
one-cycle AdamW, label smoothing, gain jitter) it sets the bar the specialised architectures are read
against.
"""

from __future__ import annotations

import torch
from torch import nn


def conv_block(c_in: int, c_out: int, kernel: int = 5) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2), nn.BatchNorm1d(c_out), nn.ReLU(),
                         nn.MaxPool1d(2, ceil_mode=True))


class PlainCNN(nn.Module):
    """(B, L, C) window -> (B, 2 * width) globally pooled features."""

    def __init__(self, n_channels: int, window_len: int, width: int = 64):
        super().__init__()
        self.blocks = nn.Sequential(conv_block(n_channels, width), conv_block(width, width),
                                    conv_block(width, 2 * width))
        self.out_dim = 2 * width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x.transpose(1, 2)).mean(dim=2)

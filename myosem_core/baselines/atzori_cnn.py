"""The CNN of Atzori, Cognolato & Müller 2016 ("Deep learning with convolutional neural networks applied
to electromyography data", Frontiers in Neurorobotics 10:9).

The window is an image (time x electrodes). Block 1: 32 filters of 1 x C
(one time step, all electrodes; zero-padded so the image keeps its size);
block 2: 32 filters 3 x 3 and 3 x 3 average pooling; block 3: 64 filters 5 x 5
and 3 x 3 average pooling; block 4: 64 filters 5 x 1 (time). In the paper a 1 x 1 convolution and softmax classify; here the
block-4 maps averaged over the image are the segment representation before
that classifier. ``width`` scales the filter counts (32 -> width/2, 64 -> width).

Atzori et al. classified 150 ms windows; this book's windows are 1 s. Block 1 therefore
strides over time: its filters span ``stride`` samples (all electrodes) and step by as
many, so the image the later blocks see is as short as the paper's (25 x C at 100 Hz
with the default 4). Measured on DB1's ``rand`` validation repetition at the ``quick``
recipe (``benchmarks/bench_recipe.py``, seeds 0 and 1, one thread): 126 CPU-s and
validation R@1 56.4 % at full resolution, 38 s and 56.8 % with the stride.
"""

from __future__ import annotations

import torch
from torch import nn


def conv_block(c_in: int, c_out: int, kernel: tuple[int, int], dropout: float) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, kernel, padding=(kernel[0] // 2, kernel[1] // 2)), nn.ReLU(), nn.Dropout(dropout)]


class AtzoriCNN(nn.Module):
    """(B, L, C) window -> (B, width) pooled block-4 feature maps."""

    def __init__(self, n_channels: int, window_len: int, width: int = 64, dropout: float = 0.15, stride: int = 4):
        super().__init__()
        half, stride = width // 2, max(1, min(stride, window_len))
        self.net = nn.Sequential(
            nn.ZeroPad2d(((n_channels - 1) // 2, n_channels // 2, 0, 0)),  # keep the electrode axis
            nn.Conv2d(1, half, (stride, n_channels), stride=(stride, 1)), nn.ReLU(),  # block 1: across electrodes
            *conv_block(half, half, (3, 3), dropout), nn.AvgPool2d(3, ceil_mode=True),  # block 2
            *conv_block(half, width, (5, 5), dropout), nn.AvgPool2d(3, ceil_mode=True),  # block 3
            *conv_block(width, width, (5, 1), dropout),                 # block 4
        )
        self.out_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.unsqueeze(1)).mean(dim=(2, 3))

"""Training-time augmentation of normalised windows, aimed at new users.

A different user (or electrode placement) mostly changes each channel's gain.
After ``log1p`` and z-scoring a gain becomes an additive offset, so the
augmentation adds a random offset per window and channel (``channel_offset``),
one per window shared by all channels (``global_offset``), and white noise
(``noise``); all standard deviations in normalised units. Draws use torch's
global RNG, so a seeded run repeats.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class AugmentConfig:
    channel_offset: float = 0.0
    global_offset: float = 0.0
    noise: float = 0.0

    @property
    def active(self) -> bool:
        return bool(self.channel_offset or self.global_offset or self.noise)


def augment(x: torch.Tensor, cfg: AugmentConfig) -> torch.Tensor:
    """``x`` (B, L, C) plus random offsets and noise; unchanged when nothing is switched on."""
    if not cfg.active:
        return x
    B, L, C = x.shape
    out = x
    if cfg.channel_offset:
        out = out + cfg.channel_offset * torch.randn(B, 1, C, device=x.device)
    if cfg.global_offset:
        out = out + cfg.global_offset * torch.randn(B, 1, 1, device=x.device)
    if cfg.noise:
        out = out + cfg.noise * torch.randn(B, L, C, device=x.device)
    return out

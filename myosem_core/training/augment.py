"""Training-time augmentation of normalised windows (B, L, C), made for EMG.

A different user, session or electrode placement mostly changes each
channel's gain. After the log compression of RMS envelopes and z-scoring a
gain becomes an additive offset, so ``channel_offset`` adds a random offset
per window and channel and ``global_offset`` one per window shared by all
channels. ``noise`` adds white noise. ``time_shift`` moves every window by up
to that fraction of its length (circularly: a window is a stretch of a
sustained contraction), so the model does not tie a movement to where its
onset falls. ``channel_dropout`` sets each channel of a window to the training
mean (zero after z-scoring) with that probability, as a lifted or shifted
electrode would. ``ring_rotation`` turns the electrode ring: with that
probability a window's first ``ring_channels`` channels (electrodes equally
spaced around the forearm, in order; DB1: 8 of its 10) move one position
round the ring, either way, as a band put on a little turned would read the
muscles; the channels after the ring stay. All amounts are in normalised
units. Draws use torch's global RNG, so a seeded run repeats.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from ..errors import ConfigError


@dataclass(frozen=True)
class AugmentConfig:
    channel_offset: float = 0.0
    global_offset: float = 0.0
    noise: float = 0.0
    time_shift: float = 0.0  # max |shift| as a fraction of the window length
    channel_dropout: float = 0.0  # probability of silencing each channel of a window
    ring_rotation: float = 0.0  # probability of turning a window's ring by one
    ring_channels: int = 0  # leading channels on the ring (DB1: 8)

    def __post_init__(self):
        if not 0.0 <= self.time_shift < 1.0 or not 0.0 <= self.channel_dropout < 1.0:
            raise ConfigError(f"AugmentConfig.time_shift and channel_dropout must lie in [0, 1), got {self}")
        if not 0.0 <= self.ring_rotation <= 1.0 or (self.ring_rotation and self.ring_channels < 3):
            raise ConfigError(f"AugmentConfig.ring_rotation must lie in [0, 1] and needs ring_channels >= 3, got {self}")

    @property
    def active(self) -> bool:
        return bool(self.channel_offset or self.global_offset or self.noise or self.time_shift
                    or self.channel_dropout or self.ring_rotation)


def shift_windows(x: torch.Tensor, max_shift: int) -> torch.Tensor:
    """Each window rolled along time by its own random shift in [-max_shift, max_shift]."""
    B, L, _ = x.shape
    shifts = torch.randint(-max_shift, max_shift + 1, (B, 1), device=x.device)
    idx = (torch.arange(L, device=x.device)[None, :] - shifts) % L
    return torch.gather(x, 1, idx[:, :, None].expand_as(x))


def rotate_ring(x: torch.Tensor, ring: int, p: float) -> torch.Tensor:
    """Each window's first ``ring`` channels rolled by one position (+1 or -1, equally likely) with probability ``p``."""
    B, L, C = x.shape
    if ring > C:
        raise ConfigError(f"AugmentConfig.ring_channels is {ring}, but the windows have {C} channels")
    turn = (torch.rand(B, device=x.device) < p).long() * (2 * torch.randint(0, 2, (B,), device=x.device) - 1)
    idx = torch.arange(C, device=x.device).expand(B, C).clone()
    idx[:, :ring] = (idx[:, :ring] - turn[:, None]) % ring
    return torch.gather(x, 2, idx[:, None, :].expand(B, L, C))


def augment(x: torch.Tensor, cfg: AugmentConfig) -> torch.Tensor:
    """``x`` (B, L, C) with the configured perturbations; unchanged (same object) when nothing is on."""
    if not cfg.active:
        return x
    B, L, C = x.shape
    out = x
    if cfg.time_shift and (max_shift := int(cfg.time_shift * L)) > 0:
        out = shift_windows(out, max_shift)
    if cfg.ring_rotation:
        out = rotate_ring(out, cfg.ring_channels, cfg.ring_rotation)
    if cfg.channel_offset:
        out = out + cfg.channel_offset * torch.randn(B, 1, C, device=x.device)
    if cfg.global_offset:
        out = out + cfg.global_offset * torch.randn(B, 1, 1, device=x.device)
    if cfg.noise:
        out = out + cfg.noise * torch.randn(B, L, C, device=x.device)
    if cfg.channel_dropout:
        keep = (torch.rand(B, 1, C, device=x.device) >= cfg.channel_dropout).to(out.dtype)
        out = out * keep
    return out


def for_protocol(cfg, protocol: str | None):
    """A stage config (with ``augment`` and ``cross_user_augment``) as ``protocol`` trains it: new users
    (``user`` and its new-user settings, ``user-unlabeled`` ...) get its ``cross_user_augment``."""
    from ..data.protocols import protocol_options

    if protocol and protocol_options(protocol)[0] == "user" and cfg.cross_user_augment is not None:
        return replace(cfg, augment=cfg.cross_user_augment, cross_user_augment=None)
    return cfg

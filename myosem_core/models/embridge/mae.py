"""Masked autoencoder over non-overlapping temporal patches (EMBridge section 2.1).

A window (B, T, C) is cut into L = T // S patches of S samples; each patch's
S x C values are flattened and linearly embedded into a d-dimensional token,
a learned position embedding is added and a [CLS] token is prepended. During
pre-training a fraction ``mask_ratio`` of the patch tokens is dropped; the
encoder sees only the kept tokens, a lighter decoder re-inserts a learned mask
token at the dropped positions and reconstructs every patch; the loss is the
mean squared error on the masked patches only.

The same class is used twice: once for EMG, once for pose (CyberGlove-22 on
NinaPro, 20 joint angles on emg2pose). The pose encoder, frozen, is EMBridge's
anchor; its blocks also initialise the Q-Former (:mod:`.qformer`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class MAEConfig:
    n_channels: int = 10  # C: channels of the stream (EMG electrodes or pose sensors)
    window_len: int = 100  # T: samples per window
    patch_len: int = 10  # S: samples per token; window_len must be a multiple
    d_model: int = 64  # d: token size
    n_layers: int = 4  # encoder blocks
    n_heads: int = 4
    decoder_dim: int = 64
    decoder_layers: int = 1
    ff_mult: int = 2  # feed-forward width = ff_mult * width
    dropout: float = 0.0
    mask_ratio: float = 0.5
    pool: str = "mean"  # window embedding: "mean" of the patch tokens or the "cls" token

    @property
    def n_patches(self) -> int:
        return self.window_len // self.patch_len

    @property
    def patch_dim(self) -> int:
        return self.patch_len * self.n_channels


class Attention(nn.Module):
    """Multi-head attention written out with batched matmuls (faster than fused kernels for ~20-token sequences on CPU).

    ``mask`` (N_q, N_k) bool, True = may not attend. ``d_kv`` lets keys/values come from another stream.
    """

    def __init__(self, d: int, n_heads: int, d_kv: int | None = None):
        super().__init__()
        if d % n_heads:
            raise ValueError(f"d_model {d} is not divisible by n_heads {n_heads}")
        self.h = n_heads
        self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d_kv or d, d), nn.Linear(d_kv or d, d)
        self.out = nn.Linear(d, d)

    def forward(self, x: torch.Tensor, kv: torch.Tensor | None = None, mask: torch.Tensor | None = None) -> torch.Tensor:
        kv = x if kv is None else kv
        B, N, d = x.shape
        q = self.q(x).view(B, N, self.h, -1).transpose(1, 2)  # (B, h, N, d/h)
        k = self.k(kv).view(B, kv.shape[1], self.h, -1).transpose(1, 2)
        v = self.v(kv).view(B, kv.shape[1], self.h, -1).transpose(1, 2)
        scores = q @ k.transpose(-1, -2) * q.shape[-1] ** -0.5
        if mask is not None:
            scores = scores.masked_fill(mask, float("-inf"))
        return self.out((scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, N, d))


class Block(nn.Module):
    """Pre-norm Transformer block: x + SelfAttn(LN(x)), then x + FFN(LN(x))."""

    def __init__(self, d: int, n_heads: int, ff_mult: int = 2, dropout: float = 0.0):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = Attention(d, n_heads)
        self.ln2 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, ff_mult * d), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff_mult * d, d))

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), mask=attn_mask)
        return x + self.ff(self.ln2(x))


def patchify(x: torch.Tensor, patch_len: int) -> torch.Tensor:
    """(B, T, C) -> (B, L, S*C): each token holds its S samples of all channels, time-major."""
    B, T, C = x.shape
    return x.reshape(B, T // patch_len, patch_len * C)


def random_masking(batch: int, n_tokens: int, ratio: float, generator: torch.Generator | None = None,
                   device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Kept token indices (B, L - n_masked), sorted, and a bool mask (B, L), True = masked.

    Exactly ``round(ratio * L)`` tokens are masked in every sample, chosen uniformly.
    """
    n_masked = int(round(ratio * n_tokens))
    if not 0 <= n_masked < n_tokens:
        raise ValueError(f"mask ratio {ratio} leaves no visible token out of {n_tokens}")
    noise = torch.rand(batch, n_tokens, generator=generator, device=device)
    order = noise.argsort(dim=1)
    keep = order[:, : n_tokens - n_masked].sort(dim=1).values
    mask = torch.ones(batch, n_tokens, dtype=torch.bool, device=device)
    mask.scatter_(1, keep, False)
    return keep, mask


class PatchMAE(nn.Module):
    """Encoder-decoder Transformer pre-trained by masked patch reconstruction."""

    def __init__(self, cfg: MAEConfig):
        super().__init__()
        if cfg.window_len % cfg.patch_len:
            raise ValueError(f"window_len {cfg.window_len} is not a multiple of patch_len {cfg.patch_len}")
        if cfg.pool not in ("mean", "cls"):
            raise ValueError(f"pool must be 'mean' or 'cls', got {cfg.pool!r}")
        self.cfg = cfg
        d, L = cfg.d_model, cfg.n_patches
        self.patch_embed = nn.Linear(cfg.patch_dim, d)
        self.pos = nn.Parameter(torch.randn(1, L, d) * 0.02)
        self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.blocks = nn.ModuleList([Block(d, cfg.n_heads, cfg.ff_mult, cfg.dropout) for _ in range(cfg.n_layers)])
        self.norm = nn.LayerNorm(d)
        dd = cfg.decoder_dim
        self.decoder_embed = nn.Linear(d, dd)
        self.mask_token = nn.Parameter(torch.randn(1, 1, dd) * 0.02)
        self.decoder_pos = nn.Parameter(torch.randn(1, L + 1, dd) * 0.02)
        self.decoder_blocks = nn.ModuleList([Block(dd, cfg.n_heads, cfg.ff_mult, cfg.dropout)
                                             for _ in range(cfg.decoder_layers)])
        self.decoder_norm = nn.LayerNorm(dd)
        self.head = nn.Linear(dd, cfg.patch_dim)

    # ---- encoder -------------------------------------------------------------------------------------------
    def tokenize(self, x: torch.Tensor) -> torch.Tensor:
        """Patch tokens with position embedding, before any block: (B, L, d)."""
        return self.patch_embed(patchify(x, self.cfg.patch_len)) + self.pos

    def encode(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised encoder outputs (B, 1 + L_kept, d); index 0 is [CLS]. ``keep`` selects visible tokens."""
        t = self.tokenize(x)
        if keep is not None:
            t = torch.gather(t, 1, keep.unsqueeze(-1).expand(-1, -1, t.shape[-1]))
        t = torch.cat([self.cls.expand(t.shape[0], -1, -1), t], dim=1)
        for blk in self.blocks:
            t = blk(t)
        return self.norm(t)

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        """Window embedding (B, d) from encoder outputs: mean of the patch tokens or [CLS]."""
        return tokens[:, 0] if self.cfg.pool == "cls" else tokens[:, 1:].mean(dim=1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Window embedding (B, d) of unmasked windows (not normalised)."""
        return self.pool(self.encode(x))

    # ---- pre-training --------------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Masked reconstruction loss (MSE on masked patches) and the mask (B, L), True = masked."""
        B, L = x.shape[0], self.cfg.n_patches
        keep, mask = random_masking(B, L, self.cfg.mask_ratio, generator, x.device)
        enc = self.decoder_embed(self.encode(x, keep))  # (B, 1 + kept, dd)
        full = self.mask_token.expand(B, L, -1).clone()
        full.scatter_(1, keep.unsqueeze(-1).expand(-1, -1, full.shape[-1]), enc[:, 1:])
        h = torch.cat([enc[:, :1], full], dim=1) + self.decoder_pos
        for blk in self.decoder_blocks:
            h = blk(h)
        pred = self.head(self.decoder_norm(h))[:, 1:]  # (B, L, S*C)
        target = patchify(x, self.cfg.patch_len)
        per_token = F.mse_loss(pred, target, reduction="none").mean(dim=-1)  # (B, L)
        loss = (per_token * mask).sum() / mask.sum()
        return loss, mask

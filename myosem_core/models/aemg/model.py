"""AEMG's encoder: a Transformer over contraction tokens, pretrained by masked-token prediction.

A window's token grid (B, C, S) from :mod:`.tokenizer` is flattened to C x S
tokens. Each token's input vector is the sum of three embeddings:

- **word**: a learned embedding of its vocabulary index (index ``vocab_size`` is
  the ``[MASK]`` word);
- **channel position**: the channel's place on the electrode band, ``i / C``,
  as circular Fourier features (cos, sin of 2 pi k i / C, k = 1..``n_pos_freqs``)
  through a learned linear map, so 8, 10, 12 or 16 channels all get a
  position and neighbouring electrodes start with similar ones;
- **time**: fixed sinusoidal features of the segment's centre time in seconds
  through a learned linear map (any window length).

Pretraining (BERT-style, Devlin et al. 2019): ``mask_ratio`` (0.5) of the tokens
of every window are replaced by ``[MASK]``; a linear head predicts the hidden
words from the contextualised tokens (cross-entropy on masked places only).
The window embedding (nothing masked) keeps one vector per channel stream:
the final token states are averaged over time per channel and concatenated in
channel order (``pool="channel"``, C x d_model values; a probe is fitted per
device anyway), or averaged over everything (``pool="mean"``, d_model).

    model = AEMGTransformer(AEMGModelConfig(vocab_size=64))
    mask = random_mask(tokens.shape, 0.5, generator)
    out = model(tokens, channel_pos, time_s, mask)      # out.logits (B, C*S, vocab_size)
    z = model.embed(tokens, channel_pos, time_s)          # (B, C * d_model)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class AEMGModelConfig:
    vocab_size: int = 64  # words of the tokenizer (the [MASK] word is added on top)
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4
    ff_mult: int = 2  # feed-forward width = ff_mult * d_model
    dropout: float = 0.1
    n_pos_freqs: int = 4  # circular Fourier frequencies of the channel position
    n_time_freqs: int = 8  # sinusoidal frequencies of the segment time
    max_time_s: float = 10.0  # longest period of the time features (seconds)
    pool: str = "channel"  # window embedding: "channel" = per-channel means, concatenated (C * d); "mean" = (d)


@dataclass
class AEMGOutput:
    hidden: torch.Tensor  # (B, C*S, d_model) final token states
    logits: torch.Tensor  # (B, C*S, vocab_size) word prediction at every place


def random_mask(shape: tuple[int, ...], ratio: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Bool mask of ``shape`` (B, ...) with exactly ``round(ratio * n)`` True places per window (n = places per window)."""
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"mask ratio must lie in [0, 1], got {ratio}")
    b = shape[0]
    n = math.prod(shape[1:])
    k = int(round(ratio * n))
    order = torch.rand(b, n, generator=generator).argsort(dim=1)
    mask = torch.zeros(b, n, dtype=torch.bool)
    mask.scatter_(1, order[:, :k], True)
    return mask.reshape(shape)


def channel_features(channel_pos: torch.Tensor, n_freqs: int) -> torch.Tensor:
    """(C, 2 n_freqs) cos / sin of 2 pi k p for k = 1..n_freqs: the position p = i / C on the band."""
    k = torch.arange(1, n_freqs + 1, dtype=torch.float32)
    ang = 2 * math.pi * channel_pos.float()[:, None] * k[None, :]
    return torch.cat([ang.cos(), ang.sin()], dim=1)


def time_features(time_s: torch.Tensor, n_freqs: int, max_period_s: float) -> torch.Tensor:
    """(S, 2 n_freqs) sinusoids of the segment time, periods from ``max_period_s`` down geometrically (x 1/2)."""
    periods = max_period_s / (2.0 ** torch.arange(n_freqs, dtype=torch.float32))
    ang = 2 * math.pi * time_s.float()[:, None] / periods[None, :]
    return torch.cat([ang.cos(), ang.sin()], dim=1)


class AEMGTransformer(nn.Module):
    def __init__(self, cfg: AEMGModelConfig = AEMGModelConfig()):
        super().__init__()
        self.cfg = cfg
        self.mask_id = cfg.vocab_size
        self.word = nn.Embedding(cfg.vocab_size + 1, cfg.d_model)
        self.channel = nn.Linear(2 * cfg.n_pos_freqs, cfg.d_model)
        self.time = nn.Linear(2 * cfg.n_time_freqs, cfg.d_model)
        layer = nn.TransformerEncoderLayer(cfg.d_model, cfg.n_heads, cfg.ff_mult * cfg.d_model, cfg.dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, cfg.n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size)

    def inputs(self, tokens: torch.Tensor, channel_pos: torch.Tensor, time_s: torch.Tensor,
               mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C*S, d) input vectors: word (or [MASK]) + channel position + time."""
        b, c, s = tokens.shape
        if tokens.numel() and (tokens.min() < 0 or tokens.max() >= self.cfg.vocab_size):
            raise ValueError(f"token ids must lie in [0, {self.cfg.vocab_size}), got {int(tokens.min())}..{int(tokens.max())}")
        if channel_pos.shape != (c,) or time_s.shape != (s,):
            raise ValueError(f"expected channel_pos ({c},) and time_s ({s},), got {tuple(channel_pos.shape)} "
                             f"and {tuple(time_s.shape)}")
        words = tokens.masked_fill(mask, self.mask_id) if mask is not None else tokens
        x = self.word(words)  # (B, C, S, d)
        x = x + self.channel(channel_features(channel_pos, self.cfg.n_pos_freqs))[None, :, None, :]
        x = x + self.time(time_features(time_s, self.cfg.n_time_freqs, self.cfg.max_time_s))[None, None, :, :]
        return x.reshape(b, c * s, self.cfg.d_model)

    def forward(self, tokens: torch.Tensor, channel_pos: torch.Tensor, time_s: torch.Tensor,
                mask: torch.Tensor | None = None) -> AEMGOutput:
        h = self.norm(self.encoder(self.inputs(tokens, channel_pos, time_s, mask)))
        return AEMGOutput(hidden=h, logits=self.head(h))

    def embed(self, tokens: torch.Tensor, channel_pos: torch.Tensor, time_s: torch.Tensor) -> torch.Tensor:
        """Window embedding, nothing masked: (B, C * d_model) per-channel time means, or (B, d_model) overall mean."""
        b, c, s = tokens.shape
        h = self.norm(self.encoder(self.inputs(tokens, channel_pos, time_s)))
        if self.cfg.pool == "mean":
            return h.mean(dim=1)
        if self.cfg.pool == "channel":
            return h.reshape(b, c, s, -1).mean(dim=2).reshape(b, -1)
        raise ValueError(f"unknown pool {self.cfg.pool!r}; expected 'channel' or 'mean'")


def masked_token_loss(out: AEMGOutput, tokens: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """Cross-entropy of the masked places' words, and the masked-word accuracy."""
    flat_mask = mask.reshape(mask.shape[0], -1)
    target = tokens.reshape(tokens.shape[0], -1)[flat_mask]
    logits = out.logits[flat_mask]
    loss = F.cross_entropy(logits, target)
    acc = (logits.argmax(-1) == target).float().mean()
    return loss, {"loss": float(loss.detach()), "masked_acc": float(acc)}

"""MyoSem Stage 2: the activation-aware EMG encoder (paper section 3.3).

A window (B, L, C) is cut into P temporal patches of ``patch_len`` samples.
Each patch becomes a token by a linear map over its channels x samples
(optionally over the feature maps of a small temporal convolution, ``conv_stem``). Per
patch and channel three classic time-domain descriptors are computed:

- RMS, sqrt(mean x^2): activation intensity;
- energy envelope, mean |x| (the rectified-signal envelope, Hudgins' MAV);
- waveform length, mean |x[t+1] - x[t]|: how much the contraction changes.

Each descriptor (P, C) goes through its own small MLP to the token size and is
added to the token through a learnable scalar gate that starts small, so the
model starts close to a plain patch encoder. A Transformer encoder
contextualises the tokens; the mean-pooled token is the segment vector that a
linear head classifies. The tokens are projected into a cosine VQ codebook and
the quantised tokens reconstruct their patch. Stage 3 reads the pre-VQ tokens
and the segment vector.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .vq import CosineVQ, VQOutput

DESCRIPTORS = ("rms", "envelope", "waveform_length")


@dataclass(frozen=True)
class EncoderConfig:
    n_channels: int = 10
    window_len: int = 100  # samples per window (L)
    patch_len: int = 10  # samples per patch; window_len must be a multiple
    n_classes: int = 12
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4
    ff_mult: int = 2  # feed-forward width = ff_mult * d_model
    dropout: float = 0.1
    descriptor_hidden: int = 32  # hidden width of each descriptor MLP
    gate_init: float = 0.1  # initial value of the three descriptor gates
    gates_fixed_zero: bool = False  # ablation: no descriptors (gates frozen at 0)
    use_vq: bool = True  # ablation: reconstruct from unquantised tokens, no VQ loss
    code_dim: int = 32  # size of the projected tokens that are quantised
    codebook_size: int = 64
    commitment_weight: float = 0.25
    conv_stem: int = 0  # >0: a temporal convolution (kernel 5) to this many feature maps before patching

    @property
    def n_patches(self) -> int:
        return self.window_len // self.patch_len


@dataclass
class EncoderOutput:
    tokens: torch.Tensor  # (B, P, d_model) pre-VQ contextual tokens
    segment: torch.Tensor  # (B, d_model) mean-pooled tokens
    logits: torch.Tensor  # (B, n_classes)
    reconstruction: torch.Tensor  # (B, L, C) the window rebuilt from (quantised) tokens
    vq: VQOutput | None  # codes and VQ losses (None when use_vq is False)


def patchify(x: torch.Tensor, patch_len: int) -> torch.Tensor:
    """(B, L, C) -> (B, P, patch_len, C)."""
    B, L, C = x.shape
    return x.reshape(B, L // patch_len, patch_len, C)


def patch_descriptors(patches: torch.Tensor) -> dict[str, torch.Tensor]:
    """RMS, energy envelope and waveform length per patch and channel: each (B, P, C)."""
    return {
        "rms": torch.sqrt(patches.pow(2).mean(dim=2) + 1e-8),
        "envelope": patches.abs().mean(dim=2),
        "waveform_length": patches.diff(dim=2).abs().mean(dim=2),
    }


class DescriptorMLP(nn.Sequential):
    """C descriptor values of one patch -> a d_model vector."""

    def __init__(self, n_channels: int, hidden: int, d_model: int):
        super().__init__(nn.Linear(n_channels, hidden), nn.GELU(), nn.Linear(hidden, d_model))


class ActivationAwareEncoder(nn.Module):
    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        if cfg.window_len % cfg.patch_len:
            raise ValueError(f"window_len {cfg.window_len} is not a multiple of patch_len {cfg.patch_len}")
        self.cfg = cfg
        patch_dim = cfg.patch_len * cfg.n_channels
        self.stem = (nn.Sequential(nn.Conv1d(cfg.n_channels, cfg.conv_stem, 5, padding=2), nn.GELU())
                     if cfg.conv_stem else None)
        self.patch_embed = nn.Linear(cfg.patch_len * (cfg.conv_stem or cfg.n_channels), cfg.d_model)
        self.descriptor_mlps = nn.ModuleDict(
            {k: DescriptorMLP(cfg.n_channels, cfg.descriptor_hidden, cfg.d_model) for k in DESCRIPTORS})
        gate = torch.full((len(DESCRIPTORS),), 0.0 if cfg.gates_fixed_zero else cfg.gate_init)
        if cfg.gates_fixed_zero:
            self.register_buffer("gates", gate)
        else:
            self.gates = nn.Parameter(gate)
        self.pos_embed = nn.Parameter(torch.randn(1, cfg.n_patches, cfg.d_model) * 0.02)
        self.layers = nn.ModuleList([
            nn.TransformerEncoderLayer(cfg.d_model, cfg.n_heads, cfg.ff_mult * cfg.d_model, cfg.dropout,
                                       activation="gelu", batch_first=True, norm_first=True)
            for _ in range(cfg.n_layers)])
        self.norm = nn.LayerNorm(cfg.d_model)
        self.classifier = nn.Linear(cfg.d_model, cfg.n_classes)
        self.to_code = nn.Linear(cfg.d_model, cfg.code_dim)
        self.vq = CosineVQ(cfg.code_dim, cfg.codebook_size, cfg.commitment_weight) if cfg.use_vq else None
        self.decoder = nn.Sequential(nn.Linear(cfg.code_dim, cfg.d_model), nn.GELU(), nn.Linear(cfg.d_model, patch_dim))

    def gate_values(self) -> dict[str, float]:
        return {k: float(g) for k, g in zip(DESCRIPTORS, self.gates.detach())}

    def embed_patches(self, x: torch.Tensor) -> torch.Tensor:
        """Patch tokens plus gated descriptor embeddings plus positions: (B, P, d_model)."""
        patches = patchify(x, self.cfg.patch_len)
        feats = patches if self.stem is None else patchify(self.stem(x.transpose(1, 2)).transpose(1, 2),
                                                          self.cfg.patch_len)
        tokens = self.patch_embed(feats.flatten(2))
        if not self.cfg.gates_fixed_zero:
            desc = patch_descriptors(patches)
            for gate, name in zip(self.gates, DESCRIPTORS):
                tokens = tokens + gate * self.descriptor_mlps[name](desc[name])
        return tokens + self.pos_embed

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pre-VQ tokens (B, P, d_model) and segment vector (B, d_model)."""
        h = self.embed_patches(x)
        for layer in self.layers:
            h = layer(h)
        tokens = self.norm(h)
        return tokens, tokens.mean(dim=1)

    def forward(self, x: torch.Tensor) -> EncoderOutput:
        tokens, segment = self.encode(x)
        z = self.to_code(tokens)
        vq = self.vq(z) if self.vq is not None else None
        quantized = vq.quantized if vq is not None else z
        recon = self.decoder(quantized)  # (B, P, patch_len * C)
        B, L, C = x.shape
        recon = recon.reshape(B, -1, self.cfg.patch_len, C).reshape(B, L, C)
        return EncoderOutput(tokens, segment, self.classifier(segment), recon, vq)


"""Vector quantisation by cosine similarity (VQ-VAE, van den Oord et al. 2017).

A token is L2-normalised and snapped to the codebook entry with the highest
cosine similarity. Gradients pass through the snap unchanged (straight-through
estimator); the codebook is pulled towards the tokens and the tokens towards
their codes (commitment term). Entries that stop being chosen ("dead codes")
are re-seeded from tokens of the current batch, so the whole codebook stays in
use.

    vq = CosineVQ(dim=32, codebook_size=64)
    quantized, codes, loss = vq(tokens)        # tokens (B, P, 32)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class VQOutput:
    quantized: torch.Tensor  # (..., dim) unit-norm codes, straight-through to the input
    codes: torch.Tensor  # (...,) int64 index of the chosen entry
    loss: torch.Tensor  # scalar: codebook term + commitment_weight * commitment term
    codebook_loss: torch.Tensor  # ||sg(z) - e||^2: moves entries towards tokens
    commitment_loss: torch.Tensor  # ||z - sg(e)||^2: keeps tokens near their code


class CosineVQ(nn.Module):
    def __init__(
        self,
        dim: int,  # size of each token (and codebook entry)
        codebook_size: int = 64,  # number of entries
        commitment_weight: float = 0.25,  # beta: weight of the commitment term inside .loss
        usage_decay: float = 0.99,  # EMA decay of each entry's usage (fraction of tokens it receives)
        dead_code_threshold: float = 0.1,  # an entry whose EMA usage falls below threshold / codebook_size is dead
        reset_dead_codes: bool = True,  # re-seed dead entries from current tokens while training
    ):
        super().__init__()
        self.dim, self.codebook_size = dim, codebook_size
        self.commitment_weight = commitment_weight
        self.usage_decay = usage_decay
        self.dead_code_threshold = dead_code_threshold
        self.reset_dead_codes = reset_dead_codes
        self.codebook = nn.Parameter(F.normalize(torch.randn(codebook_size, dim), dim=-1))
        # Start every entry at uniform usage, so none is "dead" before it had a chance.
        self.register_buffer("usage", torch.full((codebook_size,), 1.0 / codebook_size))

    def normalized_codebook(self) -> torch.Tensor:
        return F.normalize(self.codebook, dim=-1)

    def forward(self, z: torch.Tensor) -> VQOutput:
        z = F.normalize(z, dim=-1)
        flat = z.reshape(-1, self.dim)
        book = self.normalized_codebook()
        codes = (flat @ book.t()).argmax(dim=-1)  # nearest entry by cosine
        e = book[codes]
        codebook_loss = F.mse_loss(e, flat.detach())
        commitment_loss = F.mse_loss(flat, e.detach())
        quantized = flat + (e - flat).detach()  # straight-through: forward = e, backward = identity
        if self.training:
            self._update_usage(codes, flat.detach())
        return VQOutput(
            quantized=quantized.reshape(z.shape),
            codes=codes.reshape(z.shape[:-1]),
            loss=codebook_loss + self.commitment_weight * commitment_loss,
            codebook_loss=codebook_loss,
            commitment_loss=commitment_loss,
        )

    @torch.no_grad()
    def _update_usage(self, codes: torch.Tensor, tokens: torch.Tensor) -> None:
        counts = torch.bincount(codes, minlength=self.codebook_size).float()
        self.usage.mul_(self.usage_decay).add_(counts / counts.sum(), alpha=1 - self.usage_decay)
        if self.reset_dead_codes:
            self.reset_dead(tokens)

    @torch.no_grad()
    def dead_codes(self) -> torch.Tensor:
        """Indices of entries whose usage fell below ``dead_code_threshold / codebook_size``."""
        return torch.nonzero(self.usage < self.dead_code_threshold / self.codebook_size).flatten()

    @torch.no_grad()
    def reset_dead(self, tokens: torch.Tensor) -> int:
        """Re-seed dead entries with randomly drawn tokens (global torch RNG, so seeded runs repeat)."""
        dead = self.dead_codes()
        if dead.numel() == 0 or tokens.numel() == 0:
            return 0
        pick = torch.randint(0, tokens.shape[0], (dead.numel(),))
        self.codebook.data[dead] = F.normalize(tokens[pick], dim=-1)
        self.usage[dead] = 1.0 / self.codebook_size
        return int(dead.numel())

    @torch.no_grad()
    def perplexity(self) -> float:
        """exp(entropy) of the usage distribution: how many entries are effectively in use."""
        p = self.usage / self.usage.sum()
        return float(torch.exp(-(p * torch.log(p.clamp_min(1e-12))).sum()))
